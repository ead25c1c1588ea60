"""Figures and table rows of runs: the run list, training curves, label efficiency.

Plain data in (a run's metrics.jsonl records, its adapt.json records), plotly Figures and rows of
plain values out; used by the dashboard's Train page, tested without Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.jobs import run_state
from sslcore.runs import Run

__all__ = [
    "accuracy_figure",
    "label_efficiency_figure",
    "latest_adapt_records",
    "loss_figure",
    "progress",
    "run_row",
]

# Per-step accuracies of the pretext task itself, by the name its loss reports them under.
PRETEXT_ACCURACY = ("accuracy", "mask_accuracy")
MODE_NAMES = {
    "linear": "linear probe (θ* frozen)",
    "finetune": "fine-tune",
    "knn": "kNN (no head)",
    "scratch": "supervised (scratch)",
}


def run_row(run: Run) -> dict[str, Any]:
    """One table row: id, task, data, state, steps done and total, budget, last loss, probe, kNN.

    ``steps`` is what the run did once it is done (a time budget may end it before its
    ``config.steps``), else the most it may take; ``budget`` its time budget (``"2 min"``) or None.
    """
    row: dict[str, Any] = {"run": run.id, "task": None, "data": None, "state": run_state(run)}
    row |= {"steps done": None, "steps": None, "budget": None, "last loss": None}
    row |= {"probe acc.": None, "kNN acc.": None}
    try:
        config = run.config
        metrics = run.metrics()
    except DataError:
        row["state"] = "unreadable"
        return row
    last = metrics[-1] if metrics else {}
    done = int(last.get("step", 0))
    evaluated = next((r for r in reversed(metrics) if "probe_accuracy" in r), {})
    row |= {"task": config.task, "data": config.data, "steps done": done}
    row |= {"steps": done if row["state"] == "done" else config.steps, "budget": _budget(config)}
    row |= {"last loss": last.get("loss")}
    row |= {
        "probe acc.": evaluated.get("probe_accuracy"),
        "kNN acc.": evaluated.get("knn_accuracy"),
    }
    return row


def _budget(config: PretrainConfig) -> str | None:
    return None if config.minutes is None else f"{config.minutes:g} min"


def progress(
    config: PretrainConfig, metrics: Sequence[Mapping[str, Any]], state: str
) -> tuple[float, str]:
    """How far a run is, as a share in [0, 1] and as ``step X of Y``.

    A done run did all it will: ``step 285 of 285`` even if a time budget ended it before its
    ``config.steps``. A time-budgeted run not yet done goes by steps or time, whichever is
    further: ``step 120 of ≤2,000 · 0.4 of 2 min`` (the seconds its logged steps took).
    """
    done = int(metrics[-1]["step"]) if metrics else 0
    if state == "done":
        return 1.0, f"step {done:,} of {done:,}"
    share = done / config.steps
    if config.minutes is None:
        return min(1.0, share), f"step {done:,} of {config.steps:,}"
    spent = sum(float(r.get("seconds") or 0.0) for r in metrics) / 60.0
    share = max(share, spent / config.minutes)
    text = f"step {done:,} of ≤{config.steps:,} · {spent:.1f} of {config.minutes:g} min"
    return min(1.0, share), text


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


def _std(record: Mapping[str, Any]) -> float:
    """The record's std over its label draws; 0 for one draw (or a value that is no number)."""
    std = record.get("accuracy_std")
    ok = isinstance(std, (int, float)) and not isinstance(std, bool) and math.isfinite(std)
    return float(std) if ok and std >= 0 else 0.0


def _draws(record: Mapping[str, Any]) -> int:
    """How many label draws the record averages (1 when it does not say)."""
    draws = record.get("draws")
    return draws if isinstance(draws, int) and not isinstance(draws, bool) and draws > 0 else 1


def label_efficiency_figure(
    records: Sequence[Mapping[str, Any]], title: str | None = None
) -> go.Figure:
    """Target-test accuracy against the share of labels used, one line per adaptation mode.

    The x axis is logarithmic (1 %, 10 %, 100 % are evenly spaced). Takes adapt.json records
    (``mode``, ``label_fraction``, ``accuracy``); a repeated setting counts with its latest. A
    record averaged over label draws has error bars of ± its std (``accuracy_std``) and says in
    its hover how many draws; the supervised baseline (``scratch``) is drawn dashed.
    """
    rows = latest_adapt_records(records)
    if not rows:
        raise ValueError("records: expected at least one adaptation record")
    fig = go.Figure()
    present = {r["mode"] for r in rows}
    modes = [m for m in MODE_NAMES if m in present] + sorted(present - set(MODE_NAMES))
    for mode in modes:
        points = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["label_fraction"])
        stds = [_std(r) for r in points]
        fig.add_scatter(
            x=[r["label_fraction"] for r in points],
            y=[r["accuracy"] for r in points],
            error_y={"type": "data", "array": stds, "visible": any(stds)},
            customdata=[[std, _draws(r)] for r, std in zip(points, stds, strict=True)],
            hovertemplate=(
                "%{x:.1%} of the labels: %{y:.1%} ± %{customdata[0]:.1%} "
                "(%{customdata[1]} label draws)"
            ),
            mode="lines+markers",
            name=MODE_NAMES.get(mode, mode),
            line={"dash": "dash"} if mode == "scratch" else None,
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
