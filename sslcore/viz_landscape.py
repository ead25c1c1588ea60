"""Figures of gradient descent: contours with the path, the 3-D surface, loss curves, dog vs cat.

Plain data in (a Surface, Run2D runs, the dog-vs-cat set), plotly Figures out; used by the
dashboard's Gradient descent page, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from sslcore.landscape.descent import Run2D
from sslcore.landscape.dog_vs_cat import (
    CLASS_NAMES,
    FEATURE_NAMES,
    DogVsCat,
    decision_boundary,
    example_losses,
)
from sslcore.landscape.surfaces import Surface, grid

__all__ = [
    "boundary_figure",
    "contour_figure",
    "examples_figure",
    "loss_curve_figure",
    "run_landscape_figure",
    "surface_figure",
]

PATH_COLOURS = ("#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3")


def _levels(z: np.ndarray) -> np.ndarray:
    """log(1 + L − min L): keeps the valley floor and the walls both readable."""
    return np.log1p(z - np.nanmin(z))


def contour_figure(
    surface: Surface,
    runs: Sequence[Run2D],
    resolution: int = 121,
    arrows: int = 12,
    animate: bool = True,
) -> go.Figure:
    """Contours of L over the box with each run's path, −∇L arrows, and a step slider.

    Args:
        surface: the loss.
        runs: optimisation runs drawn over it (the first one is animated).
        resolution: grid points per side.
        arrows: −α∇L arrows drawn along the first run (at most this many, evenly spaced).
        animate: add frames that grow the first run's path step by step (play / slider).
    """
    xs, ys, z = (t.numpy() for t in grid(surface, resolution))
    fig = go.Figure(
        go.Contour(
            x=xs,
            y=ys,
            z=_levels(z),
            colorscale="Viridis",
            showscale=False,
            contours={"coloring": "heatmap"},
            hoverinfo="skip",
            name="log(1 + L − min L)",
        )
    )
    for i, run in enumerate(runs):
        colour = PATH_COLOURS[i % len(PATH_COLOURS)]
        fig.add_scatter(
            x=run.thetas[:, 0],
            y=run.thetas[:, 1],
            mode="lines+markers",
            marker={"size": 4, "color": colour},
            line={"color": colour},
            name=f"{run.optimizer} α={run.lr:g}",
            customdata=np.c_[np.arange(len(run.losses)), run.losses],
            hovertemplate="step %{customdata[0]}<br>θ = (%{x:.3f}, %{y:.3f})<br>"
            "L = %{customdata[1]:.4g}<extra></extra>",
        )
    if runs and arrows:
        _add_arrows(fig, runs[0], arrows)
    for m in surface.minima:
        fig.add_scatter(
            x=[m[0]],
            y=[m[1]],
            mode="markers",
            marker={"symbol": "x", "size": 10, "color": "white"},
            name="minimum",
            showlegend=False,
            hoverinfo="skip",
        )
    x0, x1, y0, y1 = surface.box
    fig.update_layout(
        xaxis={"title": "θ₁", "range": [x0, x1]},
        yaxis={"title": "θ₂", "range": [y0, y1], "scaleanchor": "x"},
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.12},
    )
    if animate and runs:
        _add_frames(fig, runs[0])
    return fig


def _add_arrows(fig: go.Figure, run: Run2D, count: int) -> None:
    """−α∇L at evenly spaced steps of `run`: where the seed's update moves θ next."""
    steps = (
        np.unique(np.linspace(0, len(run.thetas) - 2, count).astype(int))
        if len(run.thetas) > 1
        else []
    )
    for t in steps:
        x, y = run.thetas[t]
        dx, dy = -run.lr * run.gradients[t]
        if not np.isfinite([x, y, dx, dy]).all():
            continue
        fig.add_annotation(
            x=x + dx,
            y=y + dy,
            ax=x,
            ay=y,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=1,
            arrowwidth=1.5,
            arrowcolor="white",
        )


def _add_frames(fig: go.Figure, run: Run2D) -> None:
    """Frames 0…T of the first path (trace 1), with a play button and a step slider."""
    total = len(run.thetas)
    shown = np.unique(np.linspace(1, total, min(total, 60)).astype(int))
    fig.frames = [
        go.Frame(
            data=[go.Scatter(x=run.thetas[:k, 0], y=run.thetas[:k, 1])],
            traces=[1],
            name=str(k - 1),
        )
        for k in shown
    ]
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "x": 0.0,
                "y": 1.08,
                "direction": "left",
                "buttons": [
                    {
                        "label": "▶ play",
                        "method": "animate",
                        "args": [None, {"frame": {"duration": 80, "redraw": False}}],
                    }
                ],
            }
        ],
        sliders=[
            {
                "currentvalue": {"prefix": "step "},
                "steps": [
                    {
                        "label": f.name,
                        "method": "animate",
                        "args": [[f.name], {"mode": "immediate", "frame": {"redraw": False}}],
                    }
                    for f in fig.frames
                ],
            }
        ],
    )


def surface_figure(surface: Surface, runs: Sequence[Run2D], resolution: int = 81) -> go.Figure:
    """The loss as a 3-D surface with each run's path on it."""
    xs, ys, z = (t.numpy() for t in grid(surface, resolution))
    fig = go.Figure(go.Surface(x=xs, y=ys, z=_levels(z), colorscale="Viridis", showscale=False))
    floor = np.nanmin(z)
    for i, run in enumerate(runs):
        keep = np.isfinite(run.losses)
        fig.add_scatter3d(
            x=run.thetas[keep, 0],
            y=run.thetas[keep, 1],
            z=np.log1p(run.losses[keep] - floor),
            mode="lines+markers",
            marker={"size": 3, "color": PATH_COLOURS[i % len(PATH_COLOURS)]},
            name=f"{run.optimizer} α={run.lr:g}",
        )
    fig.update_layout(
        scene={"xaxis_title": "θ₁", "yaxis_title": "θ₂", "zaxis_title": "log(1 + L − min L)"},
        height=520,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
    )
    return fig


def loss_curve_figure(runs: Sequence[Run2D], floor: float | None = None) -> go.Figure:
    """L(θ_t) − floor over steps, log scale when positive: a straight line is a constant rate."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        values = run.losses - (floor or 0.0)
        fig.add_scatter(
            x=np.arange(len(values)),
            y=values,
            mode="lines",
            name=f"{run.optimizer} α={run.lr:g}",
            line={"color": PATH_COLOURS[i % len(PATH_COLOURS)]},
        )
    positive = all((r.losses - (floor or 0.0) > 0).all() for r in runs) and bool(runs)
    fig.update_layout(
        xaxis_title="step t",
        yaxis={
            "title": "L(θ_t)" + (" − L*" if floor else ""),
            "type": "log" if positive else "linear",
        },
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


def examples_figure(data: DogVsCat, theta: Sequence[float]) -> go.Figure:
    """Each example's d_k at θ, largest first: the loss is their sum, a few examples dominate."""
    d = example_losses(data, torch.tensor(theta, dtype=torch.float64)).numpy()
    order = np.argsort(-d)
    names = [CLASS_NAMES[int(c)] for c in data.y.numpy()[order]]
    colours = ["#ef553b" if n == "dog" else "#636efa" for n in names]
    fig = go.Figure(
        go.Bar(
            x=[f"#{k}" for k in order],
            y=d[order],
            marker_color=colours,
            customdata=names,
            hovertemplate="example %{x} (%{customdata})<br>d_k = %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"l(θ) = Σ d_k = {d.sum():.3f} over K = {len(d)} examples",
        xaxis={"title": "example k (largest d_k first)", "showticklabels": False},
        yaxis_title="d_k (cross-entropy)",
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def boundary_figure(data: DogVsCat, theta: Sequence[float]) -> go.Figure:
    """The animals in feature space and the decision boundary w₁x₁ + w₂x₂ + b = 0 of θ."""
    x, y = data.x.numpy(), data.y.numpy()
    fig = go.Figure()
    for label, colour in ((0, "#636efa"), (1, "#ef553b")):
        rows = y == label
        fig.add_scatter(
            x=x[rows, 0],
            y=x[rows, 1],
            mode="markers",
            name=CLASS_NAMES[label],
            marker={"color": colour, "size": 8},
        )
    box = (float(x[:, 0].min()) - 0.5, float(x[:, 0].max()) + 0.5)
    box += (float(x[:, 1].min()) - 0.5, float(x[:, 1].max()) + 0.5)
    bx, by = decision_boundary(data, (float(theta[0]), float(theta[1])), box)
    if bx:
        fig.add_scatter(x=bx, y=by, mode="lines", name="p(dog) = ½", line={"color": "black"})
    fig.update_layout(
        xaxis={"title": FEATURE_NAMES[0], "range": list(box[:2])},
        yaxis={"title": FEATURE_NAMES[1], "range": list(box[2:])},
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


def run_landscape_figure(result: dict) -> go.Figure:
    """A run's L_pre on its plane (``landscape.runs.run_landscape``) with its path drawn in."""
    a, b, loss = np.asarray(result["a"]), np.asarray(result["b"]), np.asarray(result["loss"])
    coords, steps = np.asarray(result["coords"]), result["steps"]
    fig = go.Figure(
        go.Contour(
            x=a,
            y=b,
            z=loss.T,
            colorscale="Viridis",
            contours={"coloring": "heatmap"},
            colorbar={"title": "L_pre"},
            hovertemplate="a %{x:.3g}, b %{y:.3g}<br>L_pre %{z:.4g}<extra></extra>",
        )
    )
    fig.add_scatter(
        x=coords[:, 0],
        y=coords[:, 1],
        mode="lines+markers+text",
        text=[str(s) for s in steps],
        textposition="top center",
        marker={"color": "#ef553b", "size": 7},
        line={"color": "#ef553b"},
        name="path (step)",
    )
    ratio = result.get("explained_variance_ratio")
    names = (
        ("d1", "d2")
        if ratio is None
        else tuple(f"PC{i + 1} ({r:.0%})" for i, r in enumerate(ratio))
    )
    kind = "PCA of the path" if result["plane"] == "pca" else "filter-normalised random"
    fig.update_layout(
        title=f"{result.get('task', '')} run: L_pre on the {kind} plane through step "
        f"{result['center']}",
        xaxis_title=names[0],
        yaxis_title=names[1],
        height=480,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig
