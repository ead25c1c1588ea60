"""bench_ssl runs end to end on a tiny budget and writes records with error bars and pairs."""

import json

import pytest

from benchmarks import bench_ssl


@pytest.mark.timeout(300)
def test_quick_run_on_a_table_writes_every_record(tmp_path, capsys):
    out = tmp_path / "ssl.json"
    argv = ["--quick", "--datasets", "wine", "--tasks", "vime", "--steps", "3"]
    assert bench_ssl.main([*argv, "--json", str(out), "--runs", str(tmp_path / "runs")]) == 0
    payload = json.loads(out.read_text())
    assert {"meta", "records", "paired"} <= set(payload)
    keys = {
        "dataset",
        "protocol",
        "pretext",
        "mode",
        "label_fraction",
        "labels",
        "accuracy",
        "accuracy_std",
        "accuracy_min",
        "accuracy_max",
        "draws",
        "seeds",
        "pretrain_seconds",
    }
    assert all(keys <= set(r) for r in payload["records"])
    combos = {(r["pretext"], r["mode"]) for r in payload["records"]}
    assert combos == {
        ("raw", "linear"),
        ("random_init", "linear"),
        ("random_init", "knn"),
        ("supervised", "scratch"),
        ("vime", "linear"),
        ("vime", "knn"),
    }
    assert {r["label_fraction"] for r in payload["records"]} == set(bench_ssl.FRACTIONS)
    for r in payload["records"]:
        assert r["protocol"] == "in_domain"
        assert r["accuracy_min"] <= r["accuracy"] <= r["accuracy_max"] <= 1.0
        assert r["draws"] == (1 if r["label_fraction"] == 1.0 else 2)
        assert len(r["accuracies"]) == r["draws"]
        steps = r["pretrain_steps"]
        assert steps == ([3] if r["pretext"] == "vime" else None)  # what --steps asked for
    pairs = {(p["pretext"], p["label_fraction"]): p for p in payload["paired"]}
    assert set(pairs) == {(p, f) for p in ("raw", "random_init", "vime") for f in (0.01, 0.1)}
    assert all(0 <= p["wins"] <= p["draws"] == 2 for p in pairs.values())
    printed = capsys.readouterr().out
    assert "mean ± std" in printed and "supervised" in printed and "wins" in printed


def test_summary_table_shows_mean_and_spread():
    record = {
        "dataset": "d",
        "pretext": "p",
        "mode": "linear",
        "label_fraction": 0.01,
        "accuracy": 0.9,
        "accuracy_std": 0.03,
        "draws": 10,
        "seeds": 2,
        "pretrain_seconds": 120.0,
    }
    table = bench_ssl.summary_table([record])
    assert "| d | p | 120 | 90.0 ± 3.0 | – |" in table


@pytest.mark.parametrize(
    "argv",
    [
        ["--steps", "0"],
        ["--draws", "0"],
        ["--seeds", "0"],
        ["--minutes", "0"],
        ["--steps", "3", "--minutes", "1"],
        ["--quick", "--full"],
        ["--set", "nosuchfield=1"],
        ["--set", "encoder=vit"],
        ["--set", "seed=3"],
        ["--protocol", "semi"],
        ["--datasets", "nosuchdata"],
        ["--datasets", "wine", "--tasks", "rotation"],
    ],
)
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        bench_ssl.main(argv)
    assert exit_info.value.code == 2


def test_overrides_reach_every_run_and_baselines_can_be_left_out(tmp_path):
    out = tmp_path / "ssl.json"
    argv = ["--quick", "--datasets", "wine", "--tasks", "vime", "--no-baselines"]
    argv += ["--set", "width=8", "--set", 'task_options={"p_m": 0.5}']
    assert bench_ssl.main([*argv, "--json", str(out), "--runs", str(tmp_path / "runs")]) == 0
    payload = json.loads(out.read_text())
    assert {r["pretext"] for r in payload["records"]} == {"vime"}
    (run,) = (tmp_path / "runs").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["width"] == 8 and config["task_options"]["p_m"] == 0.5
