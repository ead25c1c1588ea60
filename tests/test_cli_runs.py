"""The CLI's run commands: pretrain, runs, adapt, sweep, resume; user errors exit 2 in one line."""

import json
import os
import re

import pytest

from sslcore.cli import build_parser, main
from sslcore.runs import RunStore

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


def test_adapt_averages_the_label_draws_it_is_given(store, run_id, capsys):
    argv = ["adapt", run_id, "--mode", "knn", "--labels", "0.5", "--out", str(store)]
    assert main([*argv, "--draws", "3"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["draws"] == 3 and len(record["accuracies"]) == 3
    assert record["accuracy"] == pytest.approx(sum(record["accuracies"]) / 3)
    assert record["accuracy_min"] <= record["accuracy"] <= record["accuracy_max"]
    assert "accuracy_std" in record
    assert main(argv) == 0  # one draw by default
    record = json.loads(capsys.readouterr().out)
    assert record["draws"] == 1 and "accuracies" not in record


def test_sweep_reports_each_setting_on_stderr_as_it_goes(store, run_id, capsys):
    argv = ["sweep", run_id, "--labels", "0.5,1", "--modes", "knn,linear", "--out", str(store)]
    assert main([*argv, "--draws", "2", "--json", "--fresh"]) == 0  # nothing reused
    captured = capsys.readouterr()
    records = json.loads(captured.out)  # stdout holds the JSON only
    assert [r["draws"] for r in records] == [2, 2, 1, 1]  # one draw holds every label at 100 %
    lines = [line for line in captured.err.splitlines() if line.startswith("sweep: ")]
    pattern = r"sweep: (\d)/4 (\w+) (\d+) %: [\d.]+ %( ± [\d.]+)? \((\d) draws?, \d+ s\)"
    matches = [re.fullmatch(pattern, line) for line in lines[:4]]
    assert all(matches), lines
    assert [(m[1], m[2], m[3], m[5]) for m in matches] == [
        ("1", "knn", "50", "2"),
        ("2", "linear", "50", "2"),
        ("3", "knn", "100", "1"),
        ("4", "linear", "100", "1"),
    ]
    assert [bool(m[4]) for m in matches] == [True, True, False, False]  # ± std with draws
    assert main([*argv, "--draws", "2"]) == 0  # the same sweep again: every draw reused
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert "±" in table[1] and "±" not in table[3]
    reused = [line for line in captured.err.splitlines() if line.startswith("sweep: ")][:4]
    assert [line.endswith((", 2 reused)", ", 1 reused)")) for line in reused] == [True] * 4


def test_the_adaptation_defaults_are_the_library_s():
    from sslcore import cli_runs, jobs

    assert cli_runs.ADAPT_STEPS == 0  # to the plateau: adapt's steps=None
    parser = build_parser()
    adapt = parser.parse_args(["adapt", "r"])
    sweep = parser.parse_args(["sweep", "r"])
    assert (adapt.adapt_steps, adapt.draws) == (0, 1)
    assert (sweep.adapt_steps, sweep.draws) == (0, 10)
    assert "scratch" in sweep.modes.split(",")  # the supervised baseline, always in the table
    argv = jobs.sweep_command("r", "/s", [1.0], ["knn"])
    assert argv[argv.index("--adapt-steps") + 1] == "0"
    assert argv[argv.index("--draws") + 1] == "10"


def test_pretrain_flags_reach_the_config(tmp_path, capsys):
    argv = [*TINY, "--encoder", "mlp", "--protocol", "transfer", "--steps", "3"]
    assert main(["pretrain", *argv, "--minutes", "5", "--out", str(tmp_path)]) == 0
    run = RunStore(tmp_path).open(json.loads(capsys.readouterr().out.splitlines()[-1])["run"])
    config = run.config
    assert (config.encoder, config.protocol, config.steps, config.minutes) == (
        "mlp",
        "transfer",
        3,
        5.0,
    )
    # A resume may give it more steps and more minutes, never another setting.
    resume = ["pretrain", "--resume", run.id, "--out", str(tmp_path), "--quiet"]
    assert main([*resume, "--steps", "4", "--minutes", "6"]) == 0
    assert (run.config.steps, run.config.minutes) == (4, 6.0)
    assert run.checkpoints()[-1][0] == 4
    capsys.readouterr()
    assert main([*resume, "--encoder", "tiny"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_runs_lists_a_time_budgeted_run_by_what_it_did(tmp_path, capsys):
    """A budget that ends the run early: the listing shows the steps done, not the cap."""
    every = ["--eval-every", "100000", "--checkpoint-every", "100000"]
    argv = ["pretrain", *TINY, "--steps", "100000", "--minutes", "0.001", *every]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    run = RunStore(tmp_path).open(json.loads(capsys.readouterr().out.splitlines()[-1])["run"])
    assert main(["runs", "--out", str(tmp_path), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    done = row["done_steps"]
    assert row["state"] == "done" and 1 <= done < 100000 and row["steps"] == done
    assert row["minutes"] == 0.001 and run.summary()["steps"] == done
    assert main(["runs", "--out", str(tmp_path)]) == 0
    assert f" {done}/{done} " in capsys.readouterr().out
    run.set_status("running", pid=os.getpid())  # as while it trains
    assert main(["runs", "--out", str(tmp_path)]) == 0
    assert f" {done}/≤100000 · 0.001 min " in capsys.readouterr().out


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
