"""Plotly figure builders: plain data in, a Figure out (used by the dashboard and reports)."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

__all__ = ["class_counts_figure", "feature_heatmap", "image_grid", "montage", "split_figure"]

_TILE_PIXELS = 96  # tiles are upscaled (nearest) to about this size so the browser does not blur


def montage(
    images: torch.Tensor, cols: int, pad: int = 2, fill: int = 255, row_gap: int | None = None
) -> np.ndarray:
    """Tiles ``(N, C, H, W)`` uint8 images into one ``(rows*(H+gap)-gap, cols*(W+pad)-pad, 3)``.

    Grayscale images are repeated to RGB; the padding is `fill` (white by default); `row_gap`
    (default `pad`) leaves room under each row, e.g. for captions.
    """
    if images.dim() != 4 or images.dtype != torch.uint8 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images: expected (N, 1 or 3, H, W) uint8, got {tuple(images.shape)} {images.dtype}"
        )
    if cols < 1:
        raise ValueError(f"cols: expected >= 1, got {cols}")
    gap = pad if row_gap is None else row_gap
    n, c, h, w = images.shape
    rows = max(1, math.ceil(n / cols))
    canvas = np.full((rows * (h + gap) - gap, cols * (w + pad) - pad, 3), fill, dtype=np.uint8)
    tiles = images.expand(-1, 3, -1, -1) if c == 1 else images
    tiles_np = tiles.permute(0, 2, 3, 1).cpu().numpy()  # (N, H, W, 3)
    for i in range(n):
        r, k = divmod(i, cols)
        canvas[r * (h + gap) : r * (h + gap) + h, k * (w + pad) : k * (w + pad) + w] = tiles_np[i]
    return canvas


def _png_data_uri(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_grid(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor,
    class_names: Sequence[str],
    cols: int = 8,
    title: str | None = None,
) -> go.Figure:
    """A grid of sample images with each one's class name under it.

    Args:
        images: ``(N, C, H, W)`` uint8, C = 1 or 3.
        labels: ``(N,)`` class indices into `class_names`.
        class_names: names of the classes.
        cols: tiles per row.
        title: figure title.
    """
    labels = [int(v) for v in (labels.tolist() if isinstance(labels, torch.Tensor) else labels)]
    if len(labels) != images.shape[0]:
        raise ValueError(f"labels: expected {images.shape[0]} labels, got {len(labels)}")
    cols = max(1, min(cols, images.shape[0] or 1))
    h, w = images.shape[-2:]
    scale = max(1, _TILE_PIXELS // max(h, w, 1))
    pad = 2
    gap = pad + math.ceil(18 / scale)  # room for an 11-px caption under each row, after upscaling
    canvas = montage(images, cols, pad=pad, row_gap=gap)
    canvas = np.pad(canvas, ((0, gap - pad), (0, 0), (0, 0)), constant_values=255)  # last caption
    if scale > 1:
        canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    fig = go.Figure(go.Image(source=_png_data_uri(canvas), hoverinfo="skip"))
    for i, label in enumerate(labels):
        r, k = divmod(i, cols)
        fig.add_annotation(
            x=(k * (w + pad) + w / 2) * scale,
            y=(r * (h + gap) + h) * scale,
            text=class_names[label],
            showarrow=False,
            yanchor="top",
            yshift=-1,
            font={"size": 11},
        )
    height_px = canvas.shape[0]
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, range=[height_px, 0])
    fig.update_layout(
        title=title,
        margin={"l": 0, "r": 0, "t": 40 if title else 0, "b": 0},
        height=min(1200, height_px + (40 if title else 0)),
    )
    return fig


def class_counts_figure(
    counts: Mapping[str, Mapping[str, int]], title: str | None = None
) -> go.Figure:
    """Stacked bars of examples per class, one series per set (e.g. source, target train/test).

    Args:
        counts: ``{series name: {class name: count}}``.
        title: figure title.
    """
    fig = go.Figure()
    for series, per_class in counts.items():
        fig.add_bar(name=series, x=list(per_class), y=list(per_class.values()))
    fig.update_layout(
        barmode="stack",
        title=title,
        xaxis_title="class",
        yaxis_title="examples",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 40 if title else 10},
    )
    return fig


def split_figure(sizes: Mapping[str, int], title: str | None = None) -> go.Figure:
    """One horizontal bar split into the named parts (e.g. source | target labelled | ...)."""
    fig = go.Figure()
    for name, size in sizes.items():
        fig.add_bar(
            name=name,
            x=[size],
            y=[""],
            orientation="h",
            text=[f"{name}: {size}"],
            textposition="inside",
        )
    fig.update_layout(
        barmode="stack",
        title=title,
        height=160,
        showlegend=False,
        margin={"t": 40 if title else 10, "b": 10},
        xaxis_title="examples",
    )
    return fig


def feature_heatmap(
    x: torch.Tensor,
    labels: Sequence[int] | torch.Tensor,
    class_names: Sequence[str],
    feature_names: Sequence[str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Samples × features of a feature table, rows sorted by class, each row's class on hover."""
    if x.dim() != 2:
        raise ValueError(f"x: expected (N, D) features, got shape {tuple(x.shape)}")
    y = torch.as_tensor(labels)
    order = torch.argsort(y, stable=True)
    x_sorted = x[order].float().cpu().numpy()
    names = list(feature_names) if feature_names else [f"f{i}" for i in range(x.shape[1])]
    row_labels = [f"{i}: {class_names[int(y[j])]}" for i, j in enumerate(order.tolist())]
    fig = go.Figure(
        go.Heatmap(
            z=x_sorted,
            x=names,
            y=row_labels,
            colorscale="RdBu",
            zmid=0.0,
            colorbar={"title": "value"},
        )
    )
    fig.update_yaxes(showticklabels=False, autorange="reversed", title="samples (sorted by class)")
    fig.update_layout(title=title, margin={"t": 40 if title else 10})
    return fig
