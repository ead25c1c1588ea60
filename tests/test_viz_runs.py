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
