"""Run rows and run figures: what the Train page shows, against the run's own files."""

import os

import pytest

from sslcore import viz_runs
from sslcore.config import PretrainConfig
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain

METRICS = [
    {"step": 1, "loss": 2.0, "accuracy": 0.2},
    {"step": 2, "loss": 1.5, "accuracy": 0.4, "probe_accuracy": 0.5, "knn_accuracy": 0.6},
    {"step": 3, "loss": 1.2, "accuracy": 0.5},
    {"step": 4, "loss": 1.0, "accuracy": 0.7, "probe_accuracy": 0.7, "knn_accuracy": 0.65},
]


def test_run_row_reads_state_progress_and_the_last_evaluation(tmp_path):
    config = PretrainConfig(task="vime", data="wine", steps=5, batch_size=16, width=8, eval_every=2)
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    metrics = run.metrics()
    row = viz_runs.run_row(run)
    last_eval = [r for r in metrics if "probe_accuracy" in r][-1]
    assert row == {
        "run": run.id,
        "task": "vime",
        "data": "wine",
        "state": "done",
        "steps done": 5,
        "steps": 5,
        "budget": None,
        "last loss": metrics[-1]["loss"],
        "probe acc.": last_eval["probe_accuracy"],
        "kNN acc.": last_eval["knn_accuracy"],
    }
    # A run that says it is running but whose process is gone reads "interrupted".
    run.set_status("running", pid=2**22 + 12345)
    assert viz_runs.run_row(run)["state"] == "interrupted"
    (run.path / "config.json").write_text("{")
    assert viz_runs.run_row(run)["state"] == "unreadable"


def test_run_row_marks_this_process_running(tmp_path):
    run = RunStore(tmp_path).create(PretrainConfig(task="vime", data="wine", steps=3))
    assert viz_runs.run_row(run)["state"] == "created"
    run.set_status("running", pid=os.getpid())
    assert viz_runs.run_row(run)["state"] == "running"
    assert viz_runs.run_row(run)["steps done"] == 0


def test_a_time_budgeted_run_is_shown_by_what_it_did(tmp_path):
    """A budget that ends the run early: done, it shows the steps it did, not its cap."""
    config = PretrainConfig(
        task="vime",
        data="wine",
        batch_size=16,
        width=8,
        steps=100_000,
        minutes=0.001,
        eval_every=100_000,
        checkpoint_every=100_000,
    )
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    metrics = run.metrics()
    done = metrics[-1]["step"]
    row = viz_runs.run_row(run)
    assert 1 <= done < 100_000 and row["steps done"] == row["steps"] == done
    assert row["budget"] == "0.001 min"
    assert viz_runs.progress(run.config, metrics, "done") == (1.0, f"step {done:,} of {done:,}")
    run.set_status("running", pid=os.getpid())  # as while it trains: the cap and the budget
    row = viz_runs.run_row(run)
    assert (row["state"], row["steps done"], row["steps"]) == ("running", done, 100_000)
    share, text = viz_runs.progress(run.config, metrics, "running")
    assert text.startswith(f"step {done:,} of ≤100,000 · ") and text.endswith(" of 0.001 min")
    assert share == 1.0  # its logged steps took the whole budget


def test_progress_of_a_run_without_a_budget():
    config = PretrainConfig(task="vime", data="wine", steps=8)
    assert viz_runs.progress(config, METRICS, "running") == (0.5, "step 4 of 8")
    assert viz_runs.progress(config, [], "created") == (0.0, "step 0 of 8")
    assert viz_runs.progress(config, METRICS, "done") == (1.0, "step 4 of 4")


def test_loss_and_accuracy_figures_plot_the_logged_points():
    loss = viz_runs.loss_figure(METRICS)
    assert list(loss.data[0].x) == [1, 2, 3, 4] and list(loss.data[0].y) == [2.0, 1.5, 1.2, 1.0]
    acc = viz_runs.accuracy_figure(METRICS)
    probe, knn, pretext = acc.data
    assert list(probe.x) == [2, 4] and list(probe.y) == [0.5, 0.7]
    assert list(knn.y) == [0.6, 0.65]
    assert pretext.name.startswith("pretext accuracy") and list(pretext.y) == [0.2, 0.4, 0.5, 0.7]
    assert len(viz_runs.accuracy_figure([{"step": 1, "loss": 1.0}]).data) == 2  # nothing to add


def record(mode, fraction, accuracy):
    return {"mode": mode, "label_fraction": fraction, "accuracy": accuracy, "labels": 1}


def test_label_efficiency_keeps_the_latest_record_per_setting():
    records = [
        record("linear", 1.0, 0.5),
        record("knn", 0.01, 0.3),
        record("linear", 0.01, 0.2),
        record("knn", 1.0, 0.7),
        record("linear", 1.0, 0.9),  # a later sweep of the same setting
    ]
    latest = viz_runs.latest_adapt_records(records)
    assert [(r["label_fraction"], r["mode"], r["accuracy"]) for r in latest] == [
        (0.01, "linear", 0.2),
        (0.01, "knn", 0.3),
        (1.0, "linear", 0.9),
        (1.0, "knn", 0.7),
    ]
    fig = viz_runs.label_efficiency_figure(records)
    assert [t.name for t in fig.data] == ["linear probe (θ* frozen)", "kNN (no head)"]
    assert list(fig.data[0].x) == [0.01, 1.0] and list(fig.data[0].y) == [0.2, 0.9]
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.ticktext) == ["1%", "100%"]
    with pytest.raises(ValueError, match="records"):
        viz_runs.label_efficiency_figure([])


def test_label_efficiency_has_error_bars_over_the_draws_and_the_supervised_baseline():
    drawn = {"accuracy_std": 0.03, "draws": 10, "accuracies": [0.4] * 10}
    records = [
        record("linear", 0.1, 0.4) | drawn,
        record("linear", 1.0, 0.9) | {"draws": 1},
        record("scratch", 0.1, 0.2) | drawn | {"accuracy_std": 0.05},
        record("scratch", 1.0, 0.8),
        record("knn", 0.1, 0.3) | {"accuracy_std": "hostile"},  # someone else's file
    ]
    fig = viz_runs.label_efficiency_figure(records)
    linear, knn, scratch = fig.data
    assert scratch.name == "supervised (scratch)" and scratch.line.dash == "dash"
    assert list(linear.error_y.array) == [0.03, 0.0] and linear.error_y.visible
    assert list(scratch.error_y.array) == [0.05, 0.0]
    assert list(knn.error_y.array) == [0.0] and not knn.error_y.visible
    assert [list(c) for c in linear.customdata] == [[0.03, 10], [0.0, 1]]
    assert "±" in linear.hovertemplate and "label draws" in linear.hovertemplate
