"""Plotly figure builders: plain data in, a Figure out (used by the dashboard and reports)."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from sslcore.viz_html import plotly_text

__all__ = [
    "class_counts_figure",
    "contenders_figure",
    "feature_heatmap",
    "image_grid",
    "montage",
    "png_data_uri",
    "split_figure",
    "view_caption",
    "views_grid",
]

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


def png_data_uri(array: np.ndarray) -> str:
    """An ``(H, W, 3)`` uint8 array as a ``data:image/png;base64,...`` URI."""
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
    fig = go.Figure(go.Image(source=png_data_uri(canvas), hoverinfo="skip"))
    for i, label in enumerate(labels):
        r, k = divmod(i, cols)
        fig.add_annotation(
            x=(k * (w + pad) + w / 2) * scale,
            y=(r * (h + gap) + h) * scale,
            text=plotly_text(class_names[label]),  # a class name is data, never markup
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
        x = [plotly_text(name) for name in per_class]  # class names are data, never markup
        fig.add_bar(name=series, x=x, y=list(per_class.values()))
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
    names = [plotly_text(n) for n in names]  # a .csv header is data, never markup
    row_labels = [
        f"{i}: {plotly_text(class_names[int(y[j])])}" for i, j in enumerate(order.tolist())
    ]
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


def view_caption(row: Mapping[str, Any]) -> str:
    """A short caption of one view from its ``ViewParams.rows()`` dict, e.g. "41% · flip · gray".

    The crop's share of the source image (its area, when the image size is given as
    ``row["image_area"]``), then what was applied: flip, jitter, gray, σ (blur), solarize.
    """
    parts = []
    crop = row.get("crop")
    if crop and row.get("image_area"):
        parts.append(f"{crop['height'] * crop['width'] / row['image_area']:.0%}")
    if row.get("flip"):
        parts.append("flip")
    if row.get("jitter"):
        parts.append("jitter")
    if row.get("grayscale"):
        parts.append("gray")
    if row.get("blur_sigma", 0) > 0:
        parts.append(f"σ={row['blur_sigma']:.1f}")
    if row.get("solarize"):
        parts.append("solar")
    return " · ".join(parts) if parts else "crop only"


def _fit_tile(tile: np.ndarray, side: int, fill: int = 255) -> np.ndarray:
    """``(h, w, 3)`` uint8 scaled (nearest) to fit a ``side × side`` box, centred on `fill`."""
    h, w = tile.shape[:2]
    scale = side / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = np.asarray(Image.fromarray(tile).resize((tw, th), Image.Resampling.NEAREST))
    box = np.full((side, side, 3), fill, dtype=np.uint8)
    top, left = (side - th) // 2, (side - tw) // 2
    box[top : top + th, left : left + tw] = resized
    return box


def views_grid(
    originals: torch.Tensor,
    views: torch.Tensor,
    views_per_image: int,
    captions: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    tile: int = _TILE_PIXELS,
) -> go.Figure:
    """Each source image in a row, its views beside it, every tile captioned underneath.

    Tiles of both sizes are scaled (nearest) to one `tile` × `tile` box, so a 32-px original and
    its 16- or 64-px views line up; a wider gap separates the original from its views.

    Args:
        originals: ``(N, C, H, W)`` uint8 source images, C = 1 or 3.
        views: ``(V, C, h, w)`` float views in [0, 1] (clamped), ``V = views_per_image · N``,
            row ``j · N + i`` is view j of image i (the order of sample_view_params).
        views_per_image: views of each image.
        captions: ``V`` captions, one per view in the order of `views` (default "view j").
        labels: ``N`` captions of the originals (default "original").
        title: figure title.
        tile: side of each tile in pixels.
    """
    if originals.dim() != 4 or originals.dtype != torch.uint8 or originals.shape[1] not in (1, 3):
        raise ValueError(
            "originals: expected (N, 1 or 3, H, W) uint8, got "
            f"{tuple(originals.shape)} {originals.dtype}"
        )
    n, c = originals.shape[:2]
    if views_per_image < 1:
        raise ValueError(f"views_per_image: expected >= 1, got {views_per_image}")
    if views.dim() != 4 or views.shape[0] != n * views_per_image or views.shape[1] != c:
        raise ValueError(
            f"views: expected ({n * views_per_image}, {c}, h, w) for {n} images × "
            f"{views_per_image} views, got {tuple(views.shape)}"
        )
    captions = (
        [f"view {j + 1}" for j in range(views_per_image) for _ in range(n)]
        if captions is None
        else list(captions)
    )
    if len(captions) != views.shape[0]:
        raise ValueError(f"captions: expected {views.shape[0]} captions, got {len(captions)}")
    labels = ["original"] * n if labels is None else list(labels)
    if len(labels) != n:
        raise ValueError(f"labels: expected {n} labels, got {len(labels)}")

    def rgb(images: torch.Tensor) -> np.ndarray:  # (B, C, h, w) uint8 -> (B, h, w, 3)
        return images.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).cpu().numpy()

    view_bytes = views.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    orig_np, views_np = rgb(originals), rgb(view_bytes)
    pad, split, cap = 4, 16, 34  # gap between tiles, after the original; room for 2 caption lines
    x0 = [0] + [tile + split + j * (tile + pad) for j in range(views_per_image)]
    width = x0[-1] + tile
    height = n * (tile + cap)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    fig = go.Figure()
    for i in range(n):
        y = i * (tile + cap)
        tiles = [(orig_np[i], labels[i])] + [
            (views_np[j * n + i], captions[j * n + i]) for j in range(views_per_image)
        ]
        for k, (image, text) in enumerate(tiles):
            canvas[y : y + tile, x0[k] : x0[k] + tile] = _fit_tile(image, tile)
            fig.add_annotation(
                x=x0[k] + tile / 2,
                y=y + tile,
                text=_wrap_caption(plotly_text(text), tile),  # labels are class names
                showarrow=False,
                yanchor="top",
                yshift=-1,
                font={"size": 11, "color": "#555" if k else "#000"},
            )
    fig.add_trace(go.Image(source=png_data_uri(canvas), hoverinfo="skip"))
    fig.update_xaxes(visible=False, range=[0, width])
    fig.update_yaxes(visible=False, range=[height, 0], scaleanchor="x")
    top = 40 if title else 0
    fig.update_layout(
        title=title,
        margin={"l": 0, "r": 0, "t": top, "b": 0},
        height=height + top,
        width=width,
    )
    return fig


def _wrap_caption(text: str, tile: int) -> str:
    """Breaks a " · "-joined caption onto a second line when it is wider than the tile."""
    per_line = max(8, tile // 6)  # ~6 px per character at 11 px
    if len(text) <= per_line or " · " not in text:
        return text
    parts, first = text.split(" · "), []
    while parts and len(" · ".join([*first, parts[0]])) <= per_line:
        first.append(parts.pop(0))
    if not first:
        first.append(parts.pop(0))
    return " · ".join(first) + ("<br>" + " · ".join(parts) if parts else "")


def contenders_figure(results: Sequence[Mapping[str, Any]], title: str | None = None) -> go.Figure:
    """Bars of views per second, one per contender; the others labelled with the first's speed-up.

    Args:
        results: dicts with ``contender``, ``views_per_s`` and ``note`` (as
            sslcore.augment.timing.time_contenders returns), the first being ours.
        title: figure title.
    """
    if not results:
        raise ValueError("results: expected at least one contender")
    names = [str(r["contender"]) for r in results]
    speed = [float(r["views_per_s"]) for r in results]
    ours = speed[0]
    text = [
        f"{v:,.0f}/s" + ("" if k == 0 else f" · {names[0]} ×{ours / v:.1f}")
        for k, v in enumerate(speed)
    ]
    fig = go.Figure(
        go.Bar(
            x=speed,
            y=names,
            orientation="h",
            text=text,
            textposition="auto",
            hovertext=[str(r.get("note", "")) for r in results],
            hoverinfo="text",
            marker_color=["#1f77b4"] + ["#aaaaaa"] * (len(results) - 1),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=title,
        xaxis_title="views per second (higher is better)",
        height=80 + 50 * len(results),
        margin={"t": 40 if title else 10, "b": 10},
    )
    return fig
