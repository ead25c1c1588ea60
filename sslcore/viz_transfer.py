"""Figures of the pretraining–adaptation interface: L_pre against L*_adapt across checkpoints.

Plain data in (the rows of ``sslcore.eval.transfer.transfer_table`` per run), plotly Figures out;
used by the dashboard's Theory page, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sslcore.eval.transfer import rescaled_pretext_loss

__all__ = ["SCALES", "relation_figure", "transfer_curves_figure"]

# How L_pre is drawn: as measured, or rescaled to [0, 1] within each run (1 its highest, 0 its
# lowest). Losses of different pretext tasks live on different scales and signs (NT-Xent ≈ log 2N,
# rotation ≤ log 4, SimSiam's negative cosine), so curves of several tasks share one axis only in
# the relative scale.
SCALES = ("relative", "raw")

Tables = Mapping[str, Sequence[Mapping[str, Any]]]


def _x(rows: Sequence[Mapping[str, Any]], scale: str) -> list[float]:
    if scale not in SCALES:
        raise ValueError(f"scale: expected one of {SCALES}, got {scale!r}")
    if scale == "raw":
        return [float(r["pretext_loss"]) for r in rows]
    return rescaled_pretext_loss(rows)


def relation_figure(
    tables: Tables, scale: str = "relative", loss: str = "adapt_train_loss"
) -> go.Figure:
    """L_pre (x) against L*_adapt (y), one curve per run in checkpoint order, steps on hover.

    A curve going down and to the left is the relation holding: each checkpoint with a smaller
    pretext loss adapts with a smaller loss too.
    """
    fig = go.Figure()
    for name, rows in tables.items():
        rows = sorted(rows, key=lambda r: r["step"])
        if not rows:
            continue
        fig.add_scatter(
            x=_x(rows, scale),
            y=[r[loss] for r in rows],
            mode="lines+markers",
            name=f"{rows[0].get('task', '?')} · {name}",
            customdata=[[r["step"], r["accuracy"], r["pretext_loss"]] for r in rows],
            hovertemplate="step %{customdata[0]}<br>L_pre %{customdata[2]:.4f}<br>"
            "L*_adapt %{y:.4f}<br>accuracy %{customdata[1]:.3f}<extra></extra>",
        )
    xlabel = "L_pre rescaled within each run (1 highest, 0 lowest)"
    if scale == "raw":
        xlabel = "L_pre (held out)"
    ylabel = "L*_adapt (linear head, train)" if loss == "adapt_train_loss" else "L_adapt (test)"
    fig.update_layout(
        xaxis_title=xlabel, yaxis_title=ylabel, height=420, margin=dict(l=10, r=10, t=30, b=10)
    )
    return fig


def transfer_curves_figure(tables: Tables, scale: str = "relative") -> go.Figure:
    """Over training steps: L_pre, L*_adapt and the probe's test accuracy, one colour per run."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("L_pre", "L*_adapt", "test accuracy"))
    palette = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692")
    for i, (name, rows) in enumerate(tables.items()):
        rows = sorted(rows, key=lambda r: r["step"])
        steps = [r["step"] for r in rows]
        colour = palette[i % len(palette)]
        label = f"{rows[0].get('task', '?')} · {name}" if rows else name
        series = (_x(rows, scale), [r["adapt_train_loss"] for r in rows])
        series += ([r["accuracy"] for r in rows],)
        for col, values in enumerate(series, 1):
            fig.add_scatter(
                x=steps,
                y=values,
                mode="lines+markers",
                name=label,
                legendgroup=name,
                showlegend=col == 1,
                line=dict(color=colour),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10))
    return fig
