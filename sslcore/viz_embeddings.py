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

from sslcore.viz_html import plotly_text, script_json

__all__ = [
    "MAX_HOVER_THUMBNAILS",
    "METRIC_NAMES",
    "embedding_scatter",
    "hover_map_html",
    "metrics_rows",
    "nearest_neighbours",
    "neighbour_table",
]

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
                name=plotly_text(name),  # a class name is data: shown as text, never markup
                marker={"size": 5, "color": palette[k % len(palette)], "opacity": 0.8},
                customdata=rows,
                # The name by reference: a name holding "%{...}" is not read as a template.
                hovertemplate="%{fullData.name}<br>sample %{customdata}<extra></extra>",
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


# Above this the page falls back to select-to-see-neighbours. 10,000 32-px thumbnails make a
# 12.6 MB page that Chromium loads in 1.9 s on 2 cores (hover 0.3 s, click 1 s).
MAX_HOVER_THUMBNAILS = 10_000

# Every text from the data reaches the DOM through textContent, never innerHTML: class names are
# someone else's (`viz_html`). `data` is JSON escaped for the script element (`script_json`).
_HOVER_JS = """
<script>
(function () {
  const data = %(data)s;
  const gd = document.getElementById(data.div);
  const tip = document.getElementById("tip");
  const panel = document.getElementById("neighbours");
  const z = data.zoom * data.side;
  function tile(i) {
    const r = Math.floor(i / data.cols), c = i %% data.cols;
    const el = document.createElement("div");
    el.style.cssText = "width:" + z + "px;height:" + z + "px;background-size:" + data.cols * z +
      "px auto;background-position:-" + c * z + "px -" + r * z + "px;" +
      "image-rendering:pixelated;display:inline-block;border:1px solid #ccc";
    el.style.backgroundImage = "url(" + data.sprite + ")";
    return el;
  }
  function text(tag, value, css) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (css) el.style.cssText = css;
    return el;
  }
  function caption(i) { return data.names[data.labels[i]] + " · sample " + data.samples[i]; }
  gd.on("plotly_hover", function (ev) {
    const i = ev.points[0].customdata;
    tip.replaceChildren(tile(i), document.createElement("br"), text("span", caption(i)));
    const e = ev.event || {clientX: 0, clientY: 0};
    tip.style.left = (e.clientX + 12) + "px";
    tip.style.top = (e.clientY + 12) + "px";
    tip.style.display = "block";
  });
  gd.on("plotly_unhover", function () { tip.style.display = "none"; });
  gd.on("plotly_click", function (ev) {
    const i = ev.points[0].customdata;
    const rows = [i].concat(data.neighbours[i]);
    panel.replaceChildren(
      text("div", caption(i) + " and its nearest neighbours in feature space:"),
      ...rows.map(function (j) {
        const figure = document.createElement("figure");
        figure.style.cssText = "display:inline-block;margin:2px;text-align:center";
        figure.append(tile(j), text("figcaption", data.names[data.labels[j]], "font-size:11px"));
        return figure;
      })
    );
  });
})();
</script>
"""


def _jpeg_data_uri(array: np.ndarray, quality: int = 90) -> str:
    """An ``(H, W, 3)`` uint8 array as a JPEG data URI (a third of a noisy PNG's size)."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def neighbour_table(features: np.ndarray, k: int = 8, chunk: int = 1024) -> np.ndarray:
    """``(N, min(k, N-1))`` rows most cosine-similar to each row (itself excluded), best first."""
    x = F.normalize(from_numpy(np.ascontiguousarray(features, dtype=np.float32)), dim=1)
    k = max(0, min(k, len(x) - 1))
    parts = []
    for start in range(0, len(x), chunk):
        similarity = x[start : start + chunk] @ x.T  # (c, N)
        rows = np.arange(start, start + len(similarity))
        similarity[np.arange(len(rows)), rows] = -float("inf")
        parts.append(similarity.topk(k, dim=1).indices.numpy())
    return np.concatenate(parts) if parts else np.zeros((0, k), np.int64)


def hover_map_html(
    fig: go.Figure,
    images: Any,
    labels: np.ndarray,
    class_names: Sequence[str],
    samples: np.ndarray,
    neighbours: np.ndarray,
    zoom: int = 3,
) -> str:
    """`fig` as self-contained HTML: hover a point to see its image, click for its neighbours.

    plotly.js is inlined and the thumbnails are one PNG sprite sheet, so the page needs no
    server or network (Streamlit shows it with ``st.iframe``; a file works as well).

    Args:
        fig: a scatter whose traces carry each point's row as customdata (`embedding_scatter`).
        images: ``(N, C, H, W)`` uint8 images of the rows, packed into one PNG sprite sheet.
        labels: ``(N,)`` class of each row.
        class_names: the classes' names.
        samples: ``(N,)`` the dataset index of each row (shown in the caption).
        neighbours: ``(N, k)`` rows nearest to each row (``nearest_neighbours``).
        zoom: on-screen pixels per image pixel.
    """
    import math

    from sslcore.viz import montage

    n = len(labels)
    if not 0 < n <= MAX_HOVER_THUMBNAILS:
        raise ValueError(f"images: 1 to {MAX_HOVER_THUMBNAILS} thumbnails, got {n}")
    if images.shape[0] != n or len(samples) != n or len(neighbours) != n:
        raise ValueError(
            f"images, samples, neighbours: expected {n} rows each, got {images.shape[0]}, "
            f"{len(samples)}, {len(neighbours)}"
        )
    cols = math.ceil(math.sqrt(n))
    side = int(images.shape[-1])
    data = {
        "div": "map",
        "sprite": _jpeg_data_uri(montage(images, cols, pad=0)),
        "cols": cols,
        "side": side,
        "zoom": zoom,
        "labels": [int(v) for v in labels],
        "names": [str(c) for c in class_names],
        "samples": [int(v) for v in samples],
        "neighbours": np.asarray(neighbours, dtype=np.int64).tolist(),
    }
    fig = go.Figure(fig).update_traces(hoverinfo="none", hovertemplate=None)  # ours is the tip
    body = fig.to_html(full_html=False, include_plotlyjs=True, div_id="map")
    style = (
        "position:fixed;display:none;background:white;border:1px solid #888;padding:4px;"
        "font:12px sans-serif;pointer-events:none;z-index:10"
    )
    return (
        "<html><head><meta charset='utf-8'></head>"
        f"<body style='margin:0'>{body}<div id='tip' style='{style}'></div>"
        f"<div id='neighbours' style='font:12px sans-serif'></div>"
        + _HOVER_JS % {"data": script_json(data)}
        + "</body></html>"
    )
