"""The Pseudolabels gallery of vector tasks: each row x against its x̃, the changed entries marked.

Plain tensors in, a plotly Figure out. :func:`vector_gallery` reads a vector task's batch (VIME's
masked rows, SCARF's anchors and corrupted views) and, optionally, the pretext head's
Predictions; :func:`vector_figure` draws it as a heatmap, one x row and one x̃ row per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from sslcore.pretext.base import PretextBatch, PretextTask
from sslcore.pretext_predictions import Predictions
from sslcore.viz_html import plotly_text
from sslcore.viz_pretext import z_lines

__all__ = ["VectorGallery", "vector_figure", "vector_gallery"]


@dataclass
class VectorGallery:
    """Rows x against their x̃ for a vector task, the changed entries marked.

    Attributes:
        x: the raw rows ``(B, D)``.
        x_tilde: what the encoder sees for each, ``(B, D)``.
        mask: ``(B, D)`` bool, True where x̃ differs from x (VIME: its pseudolabel z).
        captions: per row, lines naming z (and the prediction).
        reconstructed: the head's reconstructed rows ``(B, D)`` (VIME), if predicted.
        predicted_mask: ``(B, D)`` bool, the head's predicted mask (VIME), if predicted.
    """

    x: torch.Tensor
    x_tilde: torch.Tensor
    mask: torch.Tensor
    captions: list[list[str]]
    reconstructed: torch.Tensor | None = None
    predicted_mask: torch.Tensor | None = None


def vector_gallery(
    task: PretextTask,
    x: torch.Tensor,
    batch: PretextBatch,
    predictions: Predictions | None = None,
) -> VectorGallery:
    """x, x̃ and the mask of a vector task's batch (VIME's masked rows, SCARF's corrupted views).

    Args:
        task: the vector task that made `batch`.
        x: the raw rows ``(B, D)`` float32 given to ``task.make_batch``.
        batch: what it returned: x̃ ``(B, D)`` (VIME) or ``(2B, D)`` anchors then views (SCARF).
        predictions: the pretext head's predictions, if any.
    """
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected (B, D) rows, got {tuple(x.shape)}")
    b, d = x.shape
    inputs, z = batch.inputs.detach().cpu(), batch.pseudolabels.cpu()
    pred = None if predictions is None else predictions.pseudolabels
    if inputs.shape[0] == 2 * b:  # two views: anchors (= x), then the corrupted copies
        x_tilde = inputs[b:]
        mask = inputs[:b] != x_tilde
        captions = [
            [*z_lines(task, z[i], None if pred is None else pred[i]), _changed(mask[i], d)]
            for i in range(b)
        ]
        return VectorGallery(x.cpu(), x_tilde, mask, captions)
    x_tilde = inputs
    if z.shape == x.shape:  # VIME: z is the 0/1 mask itself
        mask = z.bool()
        captions = []
        for i in range(b):
            lines = [f"z: {task.describe(z[i])}"]
            if pred is not None:
                right = float((pred[i].to(z.dtype) == z[i]).float().mean())
                lines.append(f"pred: {task.describe(pred[i])}, {right:.0%} of entries right")
            captions.append(lines)
    else:
        mask = x.cpu() != x_tilde
        captions = [
            [*(z_lines(task, z[i], None) if z.shape[0] == b else []), _changed(mask[i], d)]
            for i in range(b)
        ]
    features = None if predictions is None else predictions.features
    return VectorGallery(
        x.cpu(),
        x_tilde,
        mask,
        captions,
        reconstructed=None if features is None else features.detach().cpu(),
        predicted_mask=None if pred is None or pred.shape != x.shape else pred.bool().cpu(),
    )


def _changed(mask: torch.Tensor, d: int) -> str:
    return f"x̃ differs in {int(mask.sum())} of {d} features"


def vector_figure(
    gallery: VectorGallery, feature_names: Sequence[str] | None = None, title: str | None = None
) -> go.Figure:
    """A heatmap of each row x, its x̃ (and x̂ when predicted), x̃'s changed entries marked ×.

    The predicted mask, when there is one, is drawn as circles on the x̃ row; each row's captions
    are written to the right of its x̃.
    """
    b, d = gallery.x.shape
    names = list(feature_names) if feature_names else [f"f{j}" for j in range(d)]
    if len(names) != d:
        raise ValueError(f"feature_names: expected {d} names, got {len(names)}")
    names = [plotly_text(n) for n in names]  # a .csv header is data, never markup
    labels, values = [], []
    for i in range(b):
        labels += [f"#{i} x", f"#{i} x̃"]
        values += [gallery.x[i], gallery.x_tilde[i]]
        if gallery.reconstructed is not None:
            labels.append(f"#{i} x̂ (pred)")
            values.append(gallery.reconstructed[i])
    z = torch.stack(values).float().numpy()
    bound = float(min(3.0, max(1e-6, np.abs(z).max()))) if z.size else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=labels,
            colorscale="RdBu",
            zmid=0.0,
            zmin=-bound,
            zmax=bound,
            colorbar={"title": "value", "len": 0.5},
        )
    )

    def marks(mask: torch.Tensor, name: str, symbol: str, size: int) -> None:
        rows, cols = mask.nonzero(as_tuple=True)
        fig.add_scatter(
            x=[names[int(c)] for c in cols],
            y=[f"#{int(r)} x̃" for r in rows],
            mode="markers",
            name=name,
            marker={"symbol": symbol, "size": size, "color": "black", "line": {"width": 1.5}},
            hoverinfo="skip",
        )

    marks(gallery.mask, "z: changed in x̃", "x-thin", 9)
    if gallery.predicted_mask is not None:
        marks(gallery.predicted_mask, "pred: changed", "circle-open", 14)
    for i, lines in enumerate(gallery.captions):
        fig.add_annotation(
            x=1.0,
            xref="paper",
            xanchor="left",
            xshift=8,
            y=f"#{i} x̃",
            yref="y",
            text=" · ".join(lines),
            showarrow=False,
            font={"size": 11},
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-45)
    top = 40 if title else 10
    fig.update_layout(
        title=title,
        height=top + 120 + 22 * len(labels),
        margin={"t": top, "r": 330, "l": 10, "b": 10},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )
    return fig
