"""Figures of an embedding space: 2-D scatters coloured by class, collapse metrics, neighbours.

Plain arrays in, plotly Figures and rows out; used by the dashboard's Embeddings page, tested
without Streamlit. Scatters use WebGL (``Scattergl``) so 10,000 points stay responsive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch.nn.functional as F
from plotly.colors import qualitative
from torch import from_numpy

__all__ = ["METRIC_NAMES", "embedding_scatter", "metrics_rows", "nearest_neighbours"]

METRIC_NAMES = {
    "knn_accuracy": "weighted kNN accuracy (Wu et al. 2018)",
    "std_normalized": "std of normalised features (collapsed: 0, healthy: 1/√D)",
    "effective_rank": "effective rank (collapsed: 1)",
    "uniformity": "uniformity (Wang & Isola; lower: more spread)",
    "class_alignment": "same-class distance² (lower: tighter classes)",
}


def embedding_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    title: str | None = None,
    explained: Sequence[float] | None = None,
) -> go.Figure:
    """One WebGL trace per class; each point's customdata is its row, for selections.

    Args:
        points: ``(N, 2)`` projected features.
        labels: ``(N,)`` class indices into `class_names`.
        class_names: names of the classes.
        title: figure title.
        explained: PCA's explained variance ratio of the two axes, shown on them.
    """
    points, labels = np.asarray(points), np.asarray(labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(labels) != len(points):
        raise ValueError(
            f"points: expected (N, 2) with one label per row, got {points.shape} and "
            f"{labels.shape} labels"
        )
    fig = go.Figure()
    palette = qualitative.Plotly + qualitative.D3
    for k, name in enumerate(class_names):
        rows = np.flatnonzero(labels == k)
        if rows.size == 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=points[rows, 0],
                y=points[rows, 1],
                mode="markers",
                name=str(name),
                marker={"size": 5, "color": palette[k % len(palette)], "opacity": 0.8},
                customdata=rows,
                hovertemplate=f"{name}<br>sample %{{customdata}}<extra></extra>",
            )
        )
    axes = ("axis 1", "axis 2")
    if explained is not None:
        axes = tuple(f"PC{i + 1} ({v:.0%} of variance)" for i, v in enumerate(explained[:2]))
    fig.update_layout(
        title=title,
        xaxis_title=axes[0],
        yaxis_title=axes[1],
        height=460,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"itemsizing": "constant"},
        dragmode="select",
    )
    return fig


def metrics_rows(by_step: Mapping[int, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric, one column per step (e.g. before and after pretraining)."""
    rows = []
    for key, name in METRIC_NAMES.items():
        row: dict[str, Any] = {"metric": name}
        for step, metrics in by_step.items():
            value = metrics.get(key)
            row[f"step {step}"] = None if value is None else round(float(value), 4)
        rows.append(row)
    return rows


def nearest_neighbours(features: np.ndarray, row: int, k: int = 8) -> np.ndarray:
    """The `k` rows most cosine-similar to `row` (itself excluded), most similar first."""
    features = np.asarray(features)
    if not 0 <= row < len(features):
        raise ValueError(f"row: expected an index in [0, {len(features)}), got {row}")
    x = F.normalize(from_numpy(np.ascontiguousarray(features, dtype=np.float32)), dim=1)
    similarity = (x @ x[row]).numpy()
    similarity[row] = -np.inf
    k = max(0, min(k, len(features) - 1))
    return np.argsort(-similarity, kind="stable")[:k]
