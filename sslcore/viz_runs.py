"""Figures and table rows of runs: the run list, training curves, label efficiency.

Plain data in (a run's metrics.jsonl records, its adapt.json records), plotly Figures and rows of
plain values out; used by the dashboard's Train page, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from sslcore.errors import DataError
from sslcore.jobs import run_state
from sslcore.runs import Run

__all__ = [
    "accuracy_figure",
    "label_efficiency_figure",
    "latest_adapt_records",
    "loss_figure",
    "run_row",
]

# Per-step accuracies of the pretext task itself, by the name its loss reports them under.
PRETEXT_ACCURACY = ("accuracy", "mask_accuracy")
MODE_NAMES = {
    "linear": "linear probe (θ* frozen)",
    "finetune": "fine-tune",
    "knn": "kNN (no head)",
    "scratch": "supervised from scratch",
}


def run_row(run: Run) -> dict[str, Any]:
    """One table row: id, task, data, state, steps done and total, last loss, probe and kNN."""
    row: dict[str, Any] = {"run": run.id, "task": None, "data": None, "state": run_state(run)}
    row |= {"steps done": None, "steps": None, "last loss": None}
    row |= {"probe acc.": None, "kNN acc.": None}
    try:
        config = run.config
        metrics = run.metrics()
    except DataError:
        row["state"] = "unreadable"
        return row
    last = metrics[-1] if metrics else {}
    evaluated = next((r for r in reversed(metrics) if "probe_accuracy" in r), {})
    row |= {"task": config.task, "data": config.data, "steps": config.steps}
    row |= {"steps done": int(last.get("step", 0)), "last loss": last.get("loss")}
    row |= {
        "probe acc.": evaluated.get("probe_accuracy"),
        "kNN acc.": evaluated.get("knn_accuracy"),
    }
    return row


def _steps(metrics: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(int(r["step"]), float(r[key])) for r in metrics if r.get(key) is not None]
    return [s for s, _ in points], [v for _, v in points]


def loss_figure(metrics: Sequence[Mapping[str, Any]], title: str | None = None) -> go.Figure:
    """The pretext loss L_pre against the step, one point per logged step."""
    steps, loss = _steps(metrics, "loss")
    fig = go.Figure(go.Scatter(x=steps, y=loss, mode="lines", name="L_pre"))
    fig.update_layout(
        title=title,
        xaxis_title="step",
        yaxis_title="pretext loss L_pre",
        height=320,
        margin={"t": 40 if title else 10, "b": 10},
    )
    return fig


def accuracy_figure(metrics: Sequence[Mapping[str, Any]], title: str | None = None) -> go.Figure:
    """Online evaluation of h_θ (linear probe, kNN on the target set), and the pretext accuracy.

    The probe and kNN accuracies are measured every ``eval_every`` steps on held-out labeled
    target data; the pretext accuracy (if the task reports one) on each training batch.
    """
    fig = go.Figure()
    for key, name in (("probe_accuracy", "linear probe"), ("knn_accuracy", "kNN")):
        steps, values = _steps(metrics, key)
        fig.add_scatter(x=steps, y=values, mode="lines+markers", name=name)
    for key in PRETEXT_ACCURACY:
        steps, values = _steps(metrics, key)
        if steps:
            fig.add_scatter(
                x=steps,
                y=values,
                mode="lines",
                name=f"pretext {key.replace('_', ' ')} (train batch)",
                line={"width": 1, "dash": "dot"},
                opacity=0.6,
            )
            break
    fig.update_layout(
        title=title,
        xaxis_title="step",
        yaxis={"title": "accuracy", "range": [0, 1.02], "tickformat": ".0%"},
        height=320,
        margin={"t": 40 if title else 10, "b": 10},
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def latest_adapt_records(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """adapt.json records, the last one of each (mode, label fraction), by fraction then mode.

    Each sweep appends its records, so a repeated setting keeps only its latest result.
    """
    latest: dict[tuple[str, float], dict[str, Any]] = {}
    for r in records:
        latest[(str(r["mode"]), float(r["label_fraction"]))] = dict(r)
    order = list(MODE_NAMES)
    return sorted(
        latest.values(),
        key=lambda r: (
            r["label_fraction"],
            order.index(r["mode"]) if r["mode"] in order else len(order),
        ),
    )


def label_efficiency_figure(
    records: Sequence[Mapping[str, Any]], title: str | None = None
) -> go.Figure:
    """Target-test accuracy against the share of labels used, one line per adaptation mode.

    The x axis is logarithmic (1 %, 10 %, 100 % are evenly spaced). Takes adapt.json records
    (``mode``, ``label_fraction``, ``accuracy``); a repeated setting counts with its latest.
    """
    rows = latest_adapt_records(records)
    if not rows:
        raise ValueError("records: expected at least one adaptation record")
    fig = go.Figure()
    present = {r["mode"] for r in rows}
    modes = [m for m in MODE_NAMES if m in present] + sorted(present - set(MODE_NAMES))
    for mode in modes:
        points = sorted((r["label_fraction"], r["accuracy"]) for r in rows if r["mode"] == mode)
        fig.add_scatter(
            x=[f for f, _ in points],
            y=[a for _, a in points],
            mode="lines+markers",
            name=MODE_NAMES.get(mode, mode),
        )
    fractions = sorted({r["label_fraction"] for r in rows})
    fig.update_xaxes(
        type="log",
        title="share of the target training labels used",
        tickvals=fractions,
        ticktext=[f"{f:.0%}" if f >= 0.01 else f"{f:.1%}" for f in fractions],
    )
    fig.update_yaxes(title="target test accuracy", range=[0, 1.02], tickformat=".0%")
    fig.update_layout(title=title, height=360, margin={"t": 40 if title else 10, "b": 10})
    return fig
