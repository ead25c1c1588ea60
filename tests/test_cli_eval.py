"""The CLI's evaluation commands: transfer over runs; user errors exit 2 in one line."""

import json

import pytest

from sslcore.cli import main

TINY = ["--data", "wine", "--batch-size", "8", "--width", "8", "--quiet", "--steps", "4"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def _pretrain(store, task, capsys=None):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["pretrain", "--task", task, *TINY, "--checkpoint-every", "2", "--out", str(store)]
        assert main(args) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])["run"]


@pytest.fixture(scope="module")
def run_ids(store):
    return [_pretrain(store, "vime"), _pretrain(store, "scarf")]


def test_transfer_over_two_runs_of_different_tasks(store, run_ids, capsys):
    assert main(["transfer", *run_ids, "--out", str(store), "--batches", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["step"] for r in result["tables"][run_ids[0]]] == [0, 2, 4]
    assert {r["task"] for r in result["summary"]} == {"vime", "scarf"}
    assert sorted(r["adapt_rank"] for r in result["summary"]) == [1, 2]
    assert result["pooled_spearman"] is None or -1 <= result["pooled_spearman"] <= 1
    assert main(["transfer", run_ids[0], "--out", str(store), "--batches", "2"]) == 0
    text = capsys.readouterr().out
    assert "Spearman" in text and "L*_adapt" in text


def test_embed_reports_knn_collapse_and_writes_points(store, run_ids, capsys, tmp_path):
    points = tmp_path / "points.json"
    args = ["embed", run_ids[0], "--out", str(store), "--k", "5", "--points", str(points)]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == 4 and 0 <= report["knn_accuracy"] <= 1
    assert report["effective_rank"] >= 1 and report["std_normalized"] > 0
    saved = json.loads(points.read_text())
    assert len(saved["points"]) == len(saved["labels"]) and len(saved["points"][0]) == 2
    assert main([*args[:-2], "--step", "0"]) == 0
    assert "step 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["transfer", "no-such-run"], "no-such-run"),
        (["transfer", "RUN", "--batches", "0"], "batches"),
        (["embed", "RUN", "--step", "3"], "3"),
        (["embed", "RUN", "--k", "0"], "k"),
        (["embed", "RUN", "--temperature", "-1"], "temperature"),
    ],
)
def test_bad_input_is_one_line(store, run_ids, capsys, args, match):
    args = [run_ids[0] if a == "RUN" else a for a in args]
    assert main([*args, "--out", str(store)]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
