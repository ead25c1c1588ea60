"""The CLI benchmark's plumbing: it times every command's --help and refuses a bad --repeat."""

import json
import subprocess
import sys

import pytest

from benchmarks import bench_cli
from sslcore import cli


def test_every_subcommand_is_timed():
    (sub,) = [a for a in cli.build_parser()._actions if a.dest == "command"]
    timed = bench_cli.commands()
    assert timed[0] == [] and {c[0] for c in timed[1:]} == set(sub.choices)


def test_wall_seconds_times_a_process_and_fails_on_a_failing_one():
    assert 0 < bench_cli.wall_seconds([sys.executable, "-c", "pass"]) < 60
    with pytest.raises(subprocess.CalledProcessError):
        bench_cli.wall_seconds([sys.executable, "-c", "raise SystemExit(3)"])


def test_bad_repeat_is_refused(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_cli", "--repeat", "0"])
    with pytest.raises(SystemExit):
        bench_cli.main()


@pytest.mark.slow
def test_one_round_writes_every_ratio(tmp_path, monkeypatch):
    out = tmp_path / "cli.json"
    monkeypatch.setattr(bench_cli, "commands", lambda: [[], ["info"]])
    monkeypatch.setattr(sys, "argv", ["bench_cli", "--repeat", "1", "--json", str(out)])
    bench_cli.main()
    result = json.loads(out.read_text())
    names = [r["command"] for r in result["records"]]
    assert names == ["import torch", "sslcore --help", "sslcore info --help"]
    torch_row = result["records"][0]
    assert torch_row["ratio_to_torch_import"] == 1.0
    assert result["worst_ratio"] == max(r["ratio_to_torch_import"] for r in result["records"][1:])
    assert result["meta"]["repeat"] == 1 and result["target"] == 0.25
