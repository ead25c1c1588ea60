"""The CLI's run commands: pretrain, runs, adapt, sweep, resume; user errors exit 2 in one line."""

import json

import pytest

from sslcore.cli import main

TINY = ["--task", "vime", "--data", "wine", "--batch-size", "8", "--width", "8", "--quiet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def run_id(store):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            main(["pretrain", *TINY, "--steps", "4", "--eval-every", "2", "--out", str(store)]) == 0
        )
    return json.loads(out.getvalue().strip().splitlines()[-1])["run"]


def test_pretrain_and_runs(store, run_id, capsys):
    assert main(["runs", "--out", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in rows] == [run_id]
    assert rows[0]["state"] == "done" and rows[0]["done_steps"] == 4
    assert main(["runs", "--out", str(store)]) == 0
    assert run_id in capsys.readouterr().out


def test_adapt_and_sweep(store, run_id, capsys):
    assert main(["adapt", run_id, "--mode", "knn", "--labels", "0.5", "--out", str(store)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["mode"] == "knn" and record["label_fraction"] == 0.5
    argv = ["sweep", run_id, "--labels", "0.5,1", "--modes", "knn,linear", "--out", str(store)]
    assert main([*argv, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["label_fraction"], r["mode"]) for r in records] == [
        (0.5, "knn"),
        (0.5, "linear"),
        (1.0, "knn"),
        (1.0, "linear"),
    ]
    assert main(argv) == 0
    assert "accuracy" in capsys.readouterr().out


def test_resume_extends_a_finished_run(store, run_id, capsys):
    assert (
        main(["pretrain", "--resume", run_id, "--steps", "6", "--out", str(store), "--quiet"]) == 0
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run"] == run_id
    assert main(["runs", "--out", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["done_steps"] == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["adapt", "no-such-run"], "not found"),
        (["pretrain", "--resume", "no-such-run"], "not found"),
        (["pretrain", "--task", "rotation", "--data", "wine", "--quiet"], "works on image"),
        (["pretrain", *TINY, "--steps", "0"], "steps:"),
        (["pretrain", *TINY, "--data-opt", "bad"], "KEY=VALUE"),
        (["pretrain", *TINY, "--data", "nowhere/none.csv"], "nowhere"),
    ],
)
def test_user_errors_exit_2_with_one_line(store, argv, message, capsys):
    assert main([*argv, "--out", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_resume_with_other_settings_is_refused(store, run_id, capsys):
    assert main(["pretrain", "--resume", run_id, "--lr", "0.5", "--out", str(store)]) == 2
    assert "other settings" in capsys.readouterr().err


def test_bad_label_fraction(store, run_id, capsys):
    assert main(["adapt", run_id, "--labels", "0", "--out", str(store)]) == 2
    assert "label_fraction" in capsys.readouterr().err
