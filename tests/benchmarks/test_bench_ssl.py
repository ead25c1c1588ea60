"""bench_ssl runs end to end on a tiny budget and writes the records the issue asks for."""

import json

import pytest

from benchmarks import bench_ssl


@pytest.mark.timeout(300)
def test_quick_run_on_a_table_writes_every_record(tmp_path, capsys):
    out = tmp_path / "ssl.json"
    argv = ["--quick", "--datasets", "wine", "--tasks", "vime", "--steps", "3"]
    assert bench_ssl.main([*argv, "--json", str(out), "--runs", str(tmp_path / "runs")]) == 0
    payload = json.loads(out.read_text())
    assert {"meta", "records"} <= set(payload)
    keys = {"dataset", "pretext", "mode", "label_fraction", "accuracy", "seconds"}
    assert all(keys <= set(r) for r in payload["records"])
    combos = {(r["pretext"], r["mode"]) for r in payload["records"]}
    assert combos == {
        ("random_init", "linear"),
        ("random_init", "knn"),
        ("supervised", "scratch"),
        ("vime", "linear"),
        ("vime", "knn"),
    }
    assert {r["label_fraction"] for r in payload["records"]} == set(bench_ssl.FRACTIONS)
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in payload["records"])
    printed = capsys.readouterr().out
    assert "Linear probe accuracy" in printed and "supervised" in printed


@pytest.mark.parametrize(
    "argv",
    [["--steps", "0"], ["--datasets", "nosuchdata"], ["--datasets", "wine", "--tasks", "rotation"]],
)
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        bench_ssl.main(argv)
    assert exit_info.value.code == 2
