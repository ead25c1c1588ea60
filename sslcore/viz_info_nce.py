"""Figures of the dashboard's Loss kernel page: a small batch's InfoNCE, and timing records.

Plain data in, plotly Figures out, tested without Streamlit. `similarity_view` builds the logit
matrix that sslcore's kernel never materialises, for display at small N only. Timing records
(checked and tabulated by ``sslcore.info_nce_records``) are plotted by `timing_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from sslcore.info_nce_records import failed
from sslcore.ops.info_nce import INFO_NCE_FORMS

__all__ = [
    "METRICS",
    "SimilarityView",
    "aligned_pairs",
    "equal_embeddings_loss",
    "row_losses_figure",
    "similarity_figure",
    "similarity_view",
    "timing_figure",
]

METRICS = {"ms": "ms per step (forward + backward)", "peak_mb": "peak memory added (MB)"}
COLORS = {"sslcore": "#1f77b4", "torch": "#7f7f7f"}
HIT, MISS = "#1f77b4", "#d62728"  # a row whose positive is / is not its largest logit


# ---- the small batch ---------------------------------------------------------------------------


def aligned_pairs(
    n: int, d: int, alignment: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views' unit embeddings ``(N, D)`` float32 whose pairs are as aligned as asked.

    z_a is uniform on the unit sphere; ``z_b = normalize(alignment·z_a + (1 − alignment)·noise)``
    with noise another uniform unit vector per row: 0 gives independent views, 1 identical ones.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n, d: expected >= 1 pairs and features, got n = {n}, d = {d}")
    if not 0.0 <= alignment <= 1.0:
        raise ValueError(f"alignment: expected a value in [0, 1], got {alignment}")
    g = torch.Generator().manual_seed(int(seed))
    z_a = F.normalize(torch.randn(n, d, generator=g), dim=1)  # (N, D)
    noise = F.normalize(torch.randn(n, d, generator=g), dim=1)  # (N, D)
    if alignment == 1.0:
        return z_a, z_a.clone()  # exactly equal, not within an ulp of a renormalisation
    return z_a, F.normalize(alignment * z_a + (1.0 - alignment) * noise, dim=1)


def equal_embeddings_loss(n: int, form: str = "ntxent") -> float:
    """The loss when all embeddings are equal (every logit ties): log(2N − 1), CLIP log(N)."""
    if form not in INFO_NCE_FORMS:
        raise ValueError(f"form: expected one of {INFO_NCE_FORMS}, got {form!r}")
    return math.log(2 * n - 1) if form == "ntxent" else math.log(n)


@dataclass(frozen=True)
class SimilarityView:
    """The logits of a small batch as the page draws them.

    Attributes:
        logits: (R, C) float64 z·z'/τ; NaN where a row is not compared (NT-Xent's diagonal).
            NT-Xent: R = C = 2N, rows and columns [z_a; z_b]. CLIP: R = C = N, z_a against z_b.
        positives: (R,) the column of each row's positive.
        row_labels: R names, "a0"… then "b0"….
        col_labels: C names.
        top1: (2N,) whether each row of the loss has its positive as its largest logit, in the
            order of ``InfoNCEOutput.row_losses`` (CLIP: a→b rows, then b→a, i.e. columns).
    """

    logits: np.ndarray
    positives: np.ndarray
    row_labels: list[str]
    col_labels: list[str]
    top1: np.ndarray


def similarity_view(
    z_a: torch.Tensor, z_b: torch.Tensor, temperature: float, form: str = "ntxent"
) -> SimilarityView:
    """The full logit matrix of ``(N, D)`` embeddings, built in float64 for display (O(N²))."""
    if z_a.dim() != 2 or z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a, z_b: expected two (N, D) tensors of one shape, got {tuple(z_a.shape)} "
            f"and {tuple(z_b.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature: expected a value > 0, got {temperature}")
    if form not in INFO_NCE_FORMS:
        raise ValueError(f"form: expected one of {INFO_NCE_FORMS}, got {form!r}")
    a = z_a.detach().double().cpu()
    b = z_b.detach().double().cpu()
    n = a.shape[0]
    a_names, b_names = [f"a{i}" for i in range(n)], [f"b{i}" for i in range(n)]
    if form == "ntxent":
        z = torch.cat([a, b])  # (2N, D)
        logits = (z @ z.t() / temperature).numpy()  # (2N, 2N)
        np.fill_diagonal(logits, np.nan)  # a row is never its own negative
        positives = (np.arange(2 * n) + n) % (2 * n)
        rows = cols = a_names + b_names
        loss_logits, targets = logits, positives
    else:
        logits = (a @ b.t() / temperature).numpy()  # (N, N): a_i against b_j
        positives = np.arange(n)
        rows, cols = a_names, b_names
        loss_logits = np.concatenate([logits, logits.T])  # (2N, N): a→b rows, then b→a
        targets = np.concatenate([positives, positives])
    pos = loss_logits[np.arange(len(targets)), targets]
    top1 = pos >= np.nanmax(loss_logits, axis=1)  # ties count as hits, as in the kernel
    return SimilarityView(logits, positives, list(rows), list(cols), top1)


def similarity_figure(
    logits: np.ndarray | torch.Tensor,
    positives: Sequence[int] | np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """A heatmap of ``(R, C)`` logits (NaN cells left blank), each row's positive outlined.

    Args:
        logits: ``(R, C)`` similarities / τ.
        positives: ``(R,)`` column index of each row's positive.
        row_labels: R names (default "0", "1", …).
        col_labels: C names (default "0", "1", …).
        title: figure title.
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits: expected an (R, C) matrix, got shape {z.shape}")
    pos = np.asarray(positives, dtype=np.int64)
    if pos.shape != (z.shape[0],) or (pos.size and (pos.min() < 0 or pos.max() >= z.shape[1])):
        raise ValueError(
            f"positives: expected {z.shape[0]} column indices in [0, {z.shape[1]}), got {pos}"
        )
    rows = list(row_labels) if row_labels is not None else [str(i) for i in range(z.shape[0])]
    cols = list(col_labels) if col_labels is not None else [str(j) for j in range(z.shape[1])]
    if len(rows) != z.shape[0] or len(cols) != z.shape[1]:
        raise ValueError(
            f"row_labels, col_labels: expected {z.shape[0]} and {z.shape[1]} names, "
            f"got {len(rows)} and {len(cols)}"
        )
    finite = np.abs(z[np.isfinite(z)])
    bound = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    heat = go.Heatmap(
        z=z,
        x=cols,
        y=rows,
        colorscale="RdBu",
        reversescale=True,  # red: similar, blue: opposed
        zmin=-bound,
        zmax=bound,
        hoverongaps=False,
        colorbar={"title": "cos / τ"},
        hovertemplate="row %{y} · column %{x}<br>cos / τ = %{z:.3f}<extra></extra>",
    )
    marks = go.Scatter(
        x=[cols[j] for j in pos],
        y=rows,
        mode="markers",
        name="positive",
        marker={
            "symbol": "square-open",
            "size": max(5, min(16, 480 // max(1, z.shape[0]))),
            "color": "black",
            "line": {"width": 2},
        },
        hovertemplate="positive of %{y}: %{x}<extra></extra>",
    )
    fig = go.Figure([heat, marks])
    # Ranges fitted to the cells: autorange would pad around the markers, showing the background.
    fig.update_xaxes(
        type="category",
        side="top",
        tickangle=0,
        showgrid=False,
        constrain="domain",
        range=[-0.5, z.shape[1] - 0.5],
    )
    fig.update_yaxes(
        type="category",
        range=[z.shape[0] - 0.5, -0.5],  # row 0 at the top
        scaleanchor="x",
        showgrid=False,
        constrain="domain",
    )
    fig.update_layout(
        title=title,
        showlegend=False,
        plot_bgcolor="#d0d0d0",  # the masked cells (NaN) show this grey, not white like a 0
        height=560,
        margin={"t": 60 if title else 30, "l": 10, "r": 10, "b": 10},
    )
    return fig


def row_losses_figure(
    row_losses: Sequence[float] | torch.Tensor,
    top1: Sequence[bool] | np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    reference: float | None = None,
    reference_label: str = "all embeddings equal",
    title: str | None = None,
) -> go.Figure:
    """Bars of the per-row losses ℓ_i, coloured by whether the row's positive ranked first.

    Args:
        row_losses: ``(2N,)`` ℓ_i, as ``InfoNCEOutput.row_losses``.
        top1: ``(2N,)`` hit (blue) or miss (red) per row; one colour when None.
        labels: a name per row (default "0", "1", …).
        reference: a loss drawn as a dotted line, e.g. `equal_embeddings_loss`.
        reference_label: the line's name.
        title: figure title.
    """
    values = [float(v) for v in (torch.as_tensor(row_losses).detach().flatten().tolist())]
    names = list(labels) if labels is not None else [str(i) for i in range(len(values))]
    if len(names) != len(values):
        raise ValueError(f"labels: expected {len(values)} names, got {len(names)}")
    if top1 is not None and len(top1) != len(values):
        raise ValueError(f"top1: expected {len(values)} flags, got {len(top1)}")
    colors = HIT if top1 is None else [HIT if bool(t) else MISS for t in top1]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=colors,
            hovertemplate="%{x}: ℓ = %{y:.4f}<extra></extra>",
        )
    )
    if reference is not None:
        fig.add_hline(
            y=reference,
            line_dash="dot",
            annotation_text=f"{reference_label}: {reference:.3f}",
            annotation_position="top right",
        )
    fig.update_xaxes(type="category", title="row (blue: positive ranked first, red: not)")
    fig.update_yaxes(title="ℓ_i", rangemode="tozero")
    fig.update_layout(title=title, height=300, margin={"t": 40 if title else 10, "b": 10})
    return fig


# ---- timing records ----------------------------------------------------------------------------


def _series(records: Sequence[Mapping[str, Any]]) -> dict[tuple, str]:
    """A label per (contender, D, threads): D and threads named only where they vary."""
    vary_d = len({r["D"] for r in records}) > 1
    vary_threads = len({r.get("threads") for r in records}) > 1
    labels = {}
    for r in records:
        key = (r["contender"], r["D"], r.get("threads"))
        label = str(r["contender"])
        label += f" · D={r['D']}" if vary_d else ""
        threads = r.get("threads")
        label += f" · {threads} thread{'' if threads == 1 else 's'}" if vary_threads else ""
        labels.setdefault(key, label)
    return labels


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks 1, 2, 5 × 10^k around [low, high] (only 10^k over many decades), labelled in full.

    Plotly's own log ticks label 2 and 5 by their first digit alone, which reads as nonsense.
    """
    first, last = math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1
    mantissas = (1, 2, 5) if last - first <= 6 else (1,)
    ticks = [m * 10.0**k for k in range(first, last + 1) for m in mantissas]
    inside = [t for t in ticks if low / 2.5 <= t <= high * 2.5]
    return [float(f"{t:.6g}") for t in inside]  # 0.1 not 0.10000000000000001


def timing_figure(
    records: Sequence[Mapping[str, Any]], metric: str = "ms", title: str | None = None
) -> go.Figure:
    """Lines of a metric against N, one per contender, both axes logarithmic.

    Records with an ``error`` are left out (they have no number), as are values <= 0, which a log
    axis cannot show; the page lists both in its table.

    Args:
        records: timing records (see `check_records`).
        metric: ``"ms"`` or ``"peak_mb"``.
        title: figure title.
    """
    if metric not in METRICS:
        raise ValueError(f"metric: expected one of {tuple(METRICS)}, got {metric!r}")
    labels = _series(records)
    points: dict[tuple, list[tuple[int, float]]] = {key: [] for key in labels}
    for r in records:
        value = r.get(metric)
        if failed(r) or value is None or not math.isfinite(value) or value <= 0:
            continue
        points[(r["contender"], r["D"], r.get("threads"))].append((int(r["N"]), float(value)))
    fig = go.Figure()
    for key, pts in points.items():
        if not pts:
            continue
        pts.sort()
        fig.add_scatter(
            x=[n for n, _ in pts],
            y=[v for _, v in pts],
            mode="lines+markers",
            name=labels[key],
            line={"color": COLORS.get(key[0])},
            hovertemplate=f"{labels[key]}<br>N = %{{x}}<br>%{{y:.4g}}<extra></extra>",
        )
    ns = sorted({int(r["N"]) for r in records})
    ys = [float(v) for trace in fig.data for v in trace.y]
    ticks = _log_ticks(min(ys), max(ys)) if ys else []
    fig.update_xaxes(type="log", tickvals=ns, ticktext=[f"{n:,}" for n in ns], title="N (pairs)")
    fig.update_yaxes(
        type="log", tickvals=ticks, ticktext=[f"{t:,g}" for t in ticks], title=METRICS[metric]
    )
    fig.update_layout(
        title=title,
        height=340,
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 40 if title else 10},
    )
    return fig
