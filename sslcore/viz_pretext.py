"""The Pseudolabels gallery: what a pretext task makes of a few raw samples, as images and figures.

Plain tensors in (the raw batch x, the task's PretextBatch and, optionally, the pretext head's
Predictions), plain data out. :func:`gallery_rows` gives one row per raw image: x, then its x̃
as tiles with the pseudolabel z (``task.describe``) under each, laid out per task so that
multi-view and patch tasks read naturally: rotation's four turns, jigsaw's shuffled tiles as a
grid and put back in order, relative position's two patches where they sit in the 3×3 grid, the
two views of contrastive tasks, the masked image and its target. :func:`gallery_figure` draws
the rows. Vector tasks have their own figure in ``sslcore.viz_pretext_vectors``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD, PretextBatch, PretextTask
from sslcore.pretext_predictions import Predictions
from sslcore.viz import _fit_tile, montage, png_data_uri
from sslcore.viz_html import plotly_text

__all__ = [
    "GalleryRow",
    "Tile",
    "gallery_canvas",
    "gallery_figure",
    "gallery_rows",
    "place_in_grid",
    "to_uint8",
    "z_lines",
]

_CENTRE = 4  # relative position: the centre cell of the 3×3 raster
_EMPTY_CELL = 225  # gray of the grid cells no patch fills
_LINE_PX = 14  # caption line height at 11-px text


@dataclass
class Tile:
    """One picture of the gallery: an ``(h, w, 3)`` uint8 image and the caption lines under it."""

    image: np.ndarray
    caption: list[str]


@dataclass
class GalleryRow:
    """One raw sample: its image ``(H, W, 3)`` uint8, its label, and the tiles of its x̃."""

    original: np.ndarray
    label: str
    tiles: list[Tile]


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Encoder-scale images ``(N, C, h, w)`` float back to uint8: ``x · IMAGE_STD + IMAGE_MEAN``.

    The inverse of ``sslcore.pretext.base.to_model_input``, clamped to [0, 255].
    """
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(
            f"images: expected (N, C, h, w) float, got {tuple(images.shape)} {images.dtype}"
        )
    unit = images.detach().float().cpu() * IMAGE_STD + IMAGE_MEAN
    return unit.clamp(0, 1).mul(255).round().to(torch.uint8)


def _rgb(image: torch.Tensor) -> np.ndarray:
    """``(C, h, w)`` uint8 with C = 1 or 3 → ``(h, w, 3)`` uint8."""
    return image.expand(3, -1, -1).permute(1, 2, 0).cpu().numpy()


def place_in_grid(
    cells: dict[int, torch.Tensor], grid: int, pad: int = 1, fill: int = _EMPTY_CELL
) -> np.ndarray:
    """Patches ``(C, h, w)`` uint8 placed at raster positions of a `grid` × `grid` layout.

    Cells without a patch are gray; returns ``(g·(h+pad)−pad, g·(w+pad)−pad, 3)`` uint8.
    """
    if not cells:
        raise ValueError("cells: expected at least one patch")
    first = next(iter(cells.values()))
    stack = torch.full((grid * grid, *first.shape), fill, dtype=torch.uint8)
    for position, patch in cells.items():
        if not 0 <= position < grid * grid:
            raise ValueError(f"cells: position {position} is outside a {grid}×{grid} grid")
        stack[position] = patch
    return montage(stack, cols=grid, pad=pad)


def z_lines(task: PretextTask, z: torch.Tensor, predicted: torch.Tensor | None) -> list[str]:
    """Caption lines of one pseudolabel: ``["z: 90°"]``, plus ``"pred: 90° ✓"`` if predicted."""
    lines = [f"z: {task.describe(z)}"]
    if predicted is not None:
        mark = "✓" if torch.equal(predicted.to(z.dtype), z) else "✗"
        lines.append(f"pred: {task.describe(predicted)} {mark}")
    return lines


def _predicted(predictions: Predictions | None) -> torch.Tensor | None:
    return None if predictions is None else predictions.pseudolabels


# ---- per-task layouts: (task, batch, B, predictions) → one list of tiles per raw sample --------


def _view_major(
    task: PretextTask, batch: PretextBatch, b: int, predictions: Predictions | None
) -> list[list[Tile]]:
    """x̃ rows ``[k·B, (k+1)·B)`` are view k of every sample (rotation, two-view tasks)."""
    images, z, pred = to_uint8(batch.inputs), batch.pseudolabels, _predicted(predictions)
    views = images.shape[0] // b
    per_view_z = z.shape[0] == images.shape[0]
    pairing = task.describe(z[0]).startswith("pairs with") if per_view_z else False
    rows = []
    for i in range(b):
        tiles = []
        for k in range(views):
            r = k * b + i
            if per_view_z:
                lines = z_lines(task, z[r], None if pred is None else pred[r])
            elif k == 0 and z.shape[0] == b:
                lines = z_lines(task, z[i], None if pred is None else pred[i])
            else:
                lines = []
            tiles.append(Tile(_rgb(images[r]), ([f"x̃ view {r}"] if pairing else []) + lines))
        rows.append(tiles)
    return rows


def _jigsaw(
    task: PretextTask, batch: PretextBatch, b: int, predictions: Predictions | None
) -> list[list[Tile]]:
    """The shuffled tiles as the g×g grid the network sees, then put back by z (and by pred)."""
    g = task.grid.grid
    tiles, z, pred = to_uint8(batch.inputs), batch.pseudolabels, _predicted(predictions)
    permutations = task.permutations.cpu()  # (P, T): shuffled position k holds tile perm[k]

    def put_back(shuffled: torch.Tensor, index: torch.Tensor) -> np.ndarray:
        restored = torch.empty_like(shuffled)
        restored[permutations[int(index)]] = shuffled
        return montage(restored, cols=g, pad=1)

    rows = []
    for i in range(b):
        shuffled = tiles[torch.arange(g * g) * b + i]  # (T, C, th, tw) in shuffled order
        row = [
            Tile(montage(shuffled, cols=g, pad=1), ["x̃: shuffled", *z_lines(task, z[i], None)]),
            Tile(put_back(shuffled, z[i]), ["put back by z"]),
        ]
        if pred is not None:
            row.append(Tile(put_back(shuffled, pred[i]), z_lines(task, z[i], pred[i])[1:]))
        rows.append(row)
    return rows


def _relative_position(
    task: PretextTask, batch: PretextBatch, b: int, predictions: Predictions | None
) -> list[list[Tile]]:
    """The centre patch and the other one where z says it sits (and where pred says)."""
    patches, z, pred = to_uint8(batch.inputs), batch.pseudolabels, _predicted(predictions)

    def cell(index: torch.Tensor) -> int:  # z skips the centre of the 3×3 raster
        k = int(index)
        return k if k < _CENTRE else k + 1

    rows = []
    for i in range(b):
        centre, other = patches[i], patches[b + i]
        row = [
            Tile(_rgb(centre), ["x̃: centre"]),
            Tile(_rgb(other), ["x̃: other"]),
            Tile(place_in_grid({_CENTRE: centre, cell(z[i]): other}, 3), z_lines(task, z[i], None)),
        ]
        if pred is not None:
            layout = place_in_grid({_CENTRE: centre, cell(pred[i]): other}, 3)
            row.append(Tile(layout, z_lines(task, z[i], pred[i])[1:]))
        rows.append(row)
    return rows


def _masked(
    task: PretextTask, batch: PretextBatch, b: int, predictions: Predictions | None
) -> list[list[Tile]]:
    """The masked input, the target z, and the head's reconstruction."""
    inputs, target = to_uint8(batch.inputs), to_uint8(batch.pseudolabels)
    mask = batch.extras.get("mask")
    made = None if predictions is None or predictions.images is None else predictions.images
    rows = []
    for i in range(b):
        said = task.describe(mask[i]) if mask is not None else task.describe(batch.pseudolabels[i])
        row = [Tile(_rgb(inputs[i]), ["x̃: masked", said]), Tile(_rgb(target[i]), ["z: target"])]
        if made is not None:
            lines = ["pred: reconstruction"]
            if mask is not None:
                hidden = mask[i].expand_as(made[i])
                error = (made[i] - batch.pseudolabels[i]).square()[hidden].mean()
                lines.append(f"MSE on mask {float(error):.3f}")
            row.append(Tile(_rgb(to_uint8(made[i : i + 1])[0]), lines))
        rows.append(row)
    return rows


def _colorization(
    task: PretextTask, batch: PretextBatch, b: int, predictions: Predictions | None
) -> list[list[Tile]]:
    """The gray input, the colour target z, and the predicted colours."""
    inputs, target = to_uint8(batch.inputs), to_uint8(batch.pseudolabels)
    made = None if predictions is None or predictions.images is None else predictions.images
    rows = []
    for i in range(b):
        z = batch.pseudolabels[i]
        row = [
            Tile(_rgb(inputs[i]), ["x̃: luma"]),
            Tile(_rgb(target[i]), ["z: colours", task.describe(z)]),
        ]
        if made is not None:
            row.append(
                Tile(_rgb(to_uint8(made[i : i + 1])[0]), ["pred: colours", task.describe(made[i])])
            )
        rows.append(row)
    return rows


_LAYOUTS: dict[
    str, Callable[[PretextTask, PretextBatch, int, Predictions | None], list[list[Tile]]]
] = {
    "jigsaw": _jigsaw,
    "relative_position": _relative_position,
    "masked": _masked,
    "colorization": _colorization,
}


def gallery_rows(
    task: PretextTask,
    x: torch.Tensor,
    batch: PretextBatch,
    predictions: Predictions | None = None,
    labels: Sequence[str] | None = None,
) -> list[GalleryRow]:
    """One GalleryRow per raw image of `x`: x, then its x̃ tiles captioned with z (and pred).

    Args:
        task: the image task that made `batch` (its ``describe`` writes z; jigsaw's
            permutations and grid lay out its tiles).
        x: the raw batch ``(B, C, H, W)`` uint8 given to ``task.make_batch``.
        batch: what it returned.
        predictions: the pretext head's predictions for `batch`, if any.
        labels: B captions of the raw images (default ``"x 0"``, ``"x 1"``, ...).
    """
    if x.dim() != 4 or x.dtype != torch.uint8 or x.shape[0] == 0:
        raise ValueError(f"x: expected a (B, C, H, W) uint8 batch, got {tuple(x.shape)} {x.dtype}")
    b = x.shape[0]
    labels = [f"x {i}" for i in range(b)] if labels is None else list(labels)
    if len(labels) != b:
        raise ValueError(f"labels: expected {b} labels, got {len(labels)}")
    layout = _LAYOUTS.get(task.name)
    if layout is not None:
        tiles = layout(task, batch, b, predictions)
    elif batch.inputs.dim() == 4 and batch.inputs.shape[0] % b == 0:
        tiles = _view_major(task, batch, b, predictions)  # rotation, two views, new tasks
    else:
        tiles = [[] for _ in range(b)]
    return [GalleryRow(_rgb(x[i]), labels[i], tiles[i]) for i in range(b)]


def _wrap(lines: Sequence[str], width: int) -> list[str]:
    """Caption lines broken at spaces so that none is wider than `width` characters."""
    return [part for line in lines for part in (textwrap.wrap(line, width) or [""])]


def gallery_canvas(
    rows: Sequence[GalleryRow], tile: int = 120
) -> tuple[np.ndarray, list[tuple[float, float, str, int]]]:
    """The gallery as one image, and each caption's ``(x, y, text, column)``.

    ``(x, y)`` is the caption's top centre in pixels; column 0 is the raw image, 1… its tiles.

    Every picture is scaled (nearest) into a `tile` × `tile` box; a wider gap separates x from
    its x̃ tiles; each row leaves room for its longest caption.
    """
    if not rows:
        raise ValueError("rows: expected at least one gallery row")
    pad, split = 6, 18
    per_line = max(10, int(tile / 5.5))  # ~5.5 px per character at 11 px
    captions = [
        [_wrap([r.label], per_line)] + [_wrap(t.caption, per_line) for t in r.tiles] for r in rows
    ]
    columns = max(len(r.tiles) for r in rows)
    x0 = [0] + [tile + split + j * (tile + pad) for j in range(columns)]
    heights = [tile + max(len(c) for c in row) * _LINE_PX + 8 for row in captions]
    canvas = np.full((sum(heights), x0[-1] + tile, 3), 255, dtype=np.uint8)
    texts: list[tuple[float, float, str, int]] = []
    y = 0
    for row, lines, height in zip(rows, captions, heights, strict=True):
        pictures = [row.original] + [t.image for t in row.tiles]
        for k, (image, text) in enumerate(zip(pictures, lines, strict=True)):
            canvas[y : y + tile, x0[k] : x0[k] + tile] = _fit_tile(image, tile)
            lines_html = "<br>".join(plotly_text(line) for line in text)  # labels are data
            texts.append((x0[k] + tile / 2, y + tile, lines_html, k))
        y += height
    return canvas, texts


def gallery_figure(
    rows: Sequence[GalleryRow], tile: int = 120, title: str | None = None
) -> go.Figure:
    """The gallery: one raw image per row, its x̃ tiles beside it, every caption as an annotation."""
    canvas, texts = gallery_canvas(rows, tile)
    fig = go.Figure(go.Image(source=png_data_uri(canvas), hoverinfo="skip"))
    for x, y, text, column in texts:
        fig.add_annotation(
            x=x,
            y=y,
            text=text,
            showarrow=False,
            yanchor="top",
            yshift=-1,
            font={"size": 11, "color": "#555" if column else "#000"},
        )
    height, width = canvas.shape[:2]
    fig.update_xaxes(visible=False, range=[0, width])
    fig.update_yaxes(visible=False, range=[height, 0], scaleanchor="x")
    top = 40 if title else 0
    fig.update_layout(
        title=title, margin={"l": 0, "r": 0, "t": top, "b": 0}, height=height + top, width=width
    )
    return fig
