"""Looking at h_θ's embedding space: a run's features, 2-D projections and collapse checks.

`run_features` reads a run's checkpoint (or its seeded random init, for "before vs after
pretraining"); `project` maps features to 2-D with scikit-learn (PCA, t-SNE) or umap-learn;
`collapse_metrics` gathers the usual signs of a collapsed representation (SimSiam's std,
effective rank, uniformity, alignment). The weighted kNN of Wu et al. 2018 is in `knn`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from sslcore.config import PROJECTION_METHODS
from sslcore.errors import DataError
from sslcore.eval._arrays import ArrayLike, as_labels, as_matrix, check_int
from sslcore.eval.probe import extract_features
from sslcore.runs import Run

__all__ = [
    "Features",
    "Projection",
    "collapse_metrics",
    "project",
    "run_features",
]

SPLITS = ("source", "target_train", "target_test")
METHODS = PROJECTION_METHODS


@dataclass
class Features:
    """h_θ(x) of some samples of one split of a run's data.

    Attributes:
        features: ``(N, D)`` float32.
        labels: ``(N,)`` int64 class indices into `class_names`.
        class_names: One name per class.
        step: The checkpoint's step; 0 is the seeded random init.
        indices: ``(N,)`` int64 rows of the split's dataset the features are of.
        split: ``"source"``, ``"target_train"`` or ``"target_test"``.
    """

    features: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    step: int
    indices: np.ndarray
    split: str


@dataclass
class Projection:
    """A 2-D map of features.

    Attributes:
        points: ``(N, 2)`` float32.
        method: ``"pca"``, ``"tsne"`` or ``"umap"``.
        explained_variance_ratio: ``(2,)`` share of the variance on each PCA axis; None otherwise.
        params: The settings actually used (e.g. the clipped t-SNE perplexity).
    """

    points: np.ndarray
    method: str
    explained_variance_ratio: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)


def run_features(
    run: Run,
    split: str = "target_test",
    checkpoint_step: int | None = None,
    max_samples: int | None = None,
    *,
    pseudolabels: bool = False,
    device: str = "cpu",
    batch_size: int = 512,
) -> Features:
    """h_θ features of `run`'s encoder on one split of its data, or on its pretext inputs.

    The data and the encoder are rebuilt from the run's config (``build``), so a run is
    evaluated on exactly the split it was trained and evaluated on. The global torch RNG is left
    untouched.

    Args:
        run: A run from the run store.
        split: ``"source"``, ``"target_train"`` or ``"target_test"``.
        checkpoint_step: The checkpoint's step; None = the last; 0 = the seeded random init that
            ``build(config)`` gives (every run's starting point, needs no checkpoint).
        max_samples: Keep at most this many samples: a random subset seeded by the run's seed,
            in the split's order (see `Features.indices`). None = all.
        pseudolabels: embed the pretext inputs x̃ the task makes of the samples (seeded by the
            run's seed) and label them with their pseudolabels z, e.g. every sample in its four
            rotations labelled 0°–270°. Only for tasks whose z is one class per row of x̃.
        device: Where the encoder runs (not the run's own: a CUDA run reads on a CPU).
        batch_size: Samples per encoder call.

    Returns:
        The features, labels (or pseudolabels), class names, step and sample indices (for
        pseudolabels, the sample of each row of x̃).

    Raises:
        DataError: No checkpoint (at `checkpoint_step`), unless `checkpoint_step` is 0; or
            pseudolabels of a task whose z is not a class per row of x̃.
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    check_int("checkpoint_step", checkpoint_step, 0, optional=True)
    check_int("max_samples", max_samples, 1, optional=True)
    from sslcore.train.pretrain import build  # pretrain imports eval: import at call time

    state = None
    if checkpoint_step != 0:
        if not run.checkpoints():
            raise DataError(
                f"run {run.id} has no checkpoints (yet): nothing to read features from; "
                "pass checkpoint_step=0 for the random-init encoder"
            )
        state = run.load_checkpoint(checkpoint_step)
    config = dataclasses.replace(run.config, device=device)
    with torch.random.fork_rng(devices=[]):  # build() seeds the global generator
        setup = build(config)
    if state is not None:
        setup.encoder.load_state_dict(state["encoder"])
    data = getattr(setup.split, split)
    indices = np.arange(len(data), dtype=np.int64)
    if max_samples is not None and max_samples < len(data):
        chosen = np.random.default_rng(config.seed).permutation(len(data))[:max_samples]
        indices = np.sort(chosen).astype(np.int64)
    rows = torch.from_numpy(indices)
    step = 0 if state is None else int(state["step"])
    if pseudolabels:
        features, z, names, samples = _pretext_features(
            setup, data.x[rows], indices, config.seed, batch_size, device
        )
        return Features(features, z, names, step, samples, split)
    return Features(
        features=extract_features(setup.encoder, data.x[rows], batch_size, device),
        labels=data.y[rows].numpy().astype(np.int64),
        class_names=list(data.class_names),
        step=step,
        indices=indices,
        split=split,
    )


def _pretext_features(
    setup: Any, x: torch.Tensor, indices: np.ndarray, seed: int, batch_size: int, device: str
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(features, z, class names, sample of each row) of x̃ = the task's inputs made of `x`."""
    task = setup.task
    classes = getattr(task, "num_classes", None)
    batch = task.make_batch(x, torch.Generator().manual_seed(seed))
    z = batch.pseudolabels
    if classes is None or z.dtype != torch.int64 or z.shape != batch.inputs.shape[:1]:
        raise DataError(
            f"pseudolabels: those of {task.name!r} are not one class per pretext input (they "
            "pair views, are one per puzzle of several inputs, or are reconstruction targets); "
            "colour by class instead"
        )
    features = extract_features(setup.encoder, batch.inputs, batch_size, device)
    names = [task.describe(torch.tensor(k)) for k in range(classes)]
    copies = len(z) // len(x)  # x̃ stacks the samples block by block (e.g. one per rotation)
    return features, z.numpy().astype(np.int64), names, np.tile(indices, copies)


def project(
    features: ArrayLike | Features,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30.0,
    n_neighbors: int = 15,
) -> Projection:
    """A deterministic (for a `seed`) 2-D map of ``(N, D)`` features.

    PCA (scikit-learn, full SVD) reports its explained variance ratio. t-SNE (van der Maaten &
    Hinton 2008, scikit-learn, PCA init) needs perplexity < N: the perplexity used is
    ``min(perplexity, (N - 1) / 3)``, so that its ``3·perplexity`` neighbours exist; with fewer
    than 4 points t-SNE is a ValueError (no silent fallback: ask for PCA). UMAP (McInnes et al.
    2018) needs the optional umap-learn package; `n_neighbors` is clipped to N - 1.

    Args:
        features: ``(N, D)`` array or tensor, or a `Features`.
        method: ``"pca"``, ``"tsne"`` or ``"umap"``.
        seed: Seed of t-SNE's and UMAP's optimisation (PCA is exact).
        perplexity: t-SNE perplexity before clipping.
        n_neighbors: UMAP neighbours before clipping.

    Returns:
        The ``(N, 2)`` points and what was used.
    """
    x = as_matrix("features", features).astype(np.float64)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"project needs at least 2 points, got {n}")
    if x.shape[1] < 2:  # a zero column changes no distance and lets every method ask for 2 axes
        x = np.hstack([x, np.zeros((n, 2 - x.shape[1]))])
    if method == "pca":
        pca = PCA(n_components=2, svd_solver="full").fit(x)
        ratio = np.nan_to_num(pca.explained_variance_ratio_)  # all points equal: 0/0
        return Projection(pca.transform(x).astype(np.float32), method, ratio)
    if method == "tsne":
        if n < 4:
            raise ValueError(f"t-SNE needs at least 4 points, got {n}; use method='pca'")
        used = min(float(perplexity), (n - 1) / 3)
        tsne = TSNE(2, perplexity=used, init="pca", learning_rate="auto", random_state=seed)
        points = tsne.fit_transform(x)
        return Projection(points.astype(np.float32), method, None, {"perplexity": used})
    try:
        import umap
    except ImportError:
        raise ImportError("method='umap' needs umap-learn: pip install umap-learn") from None
    k = max(2, min(int(n_neighbors), n - 1))
    reducer = umap.UMAP(n_components=2, n_neighbors=k, random_state=seed)
    return Projection(reducer.fit_transform(x).astype(np.float32), method, None, {"n_neighbors": k})


def _pairs(n: int, max_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct index pairs i ≠ j: all i < j, or `max_pairs` drawn with a fixed seed."""
    if n * (n - 1) // 2 <= max_pairs:
        return np.triu_indices(n, 1)
    rng = np.random.default_rng(0)
    i = rng.integers(0, n, max_pairs)
    return i, (i + rng.integers(1, n, max_pairs)) % n  # an offset in [1, n) makes j ≠ i


def collapse_metrics(
    features: ArrayLike | Features,
    labels: ArrayLike | None = None,
    positives: ArrayLike | None = None,
    max_pairs: int = 100_000,
) -> dict[str, float | None]:
    """Signs of a collapsed representation of ``(N, D)`` features, N >= 2.

    Args:
        features: ``(N, D)`` features (or a `Features`, whose labels are then the default).
        labels: ``(N,)`` classes, for ``class_alignment``; optional.
        positives: ``(N, D)`` features of a positive of each row (e.g. a second view); optional.
        max_pairs: Above this many pairs, uniformity uses this many seeded random pairs.

    Returns:
        ``std_normalized``: mean over dims of the std of the L2-normalised features (SimSiam,
        Chen & He 2021): ≈ 1/sqrt(D) when healthy, 0 when collapsed.
        ``effective_rank``: exp of the entropy of the normalised singular values of the centred
        features (Roy & Vetterli 2007), in [1, min(N - 1, D)]; singular values below the
        ``numpy.linalg.matrix_rank`` tolerance count as 0, and no spread at all gives 1.
        ``uniformity``: log E exp(-2 ||f(x) - f(y)||²) over distinct pairs of normalised
        features (Wang & Isola 2020): 0 when collapsed, more negative when spread.
        ``alignment``: E ||f(x) - f(x⁺)||² over (features, positives) rows, normalised (Wang &
        Isola 2020, α = 2); None without positives.
        ``class_alignment``: the same over same-class pairs; None without labels or such pairs.
    """
    if labels is None and isinstance(features, Features):
        labels = features.labels
    raw = as_matrix("features", features)
    x, eps = raw.astype(np.float64), np.finfo(raw.dtype).eps
    n = len(x)
    if n < 2:
        raise ValueError(f"features: collapse metrics need at least 2 rows, got {n}")
    z = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (N, D) on the sphere
    singular = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)  # (min(N, D),)
    singular = singular[singular > singular.max(initial=0.0) * max(x.shape) * eps]
    if singular.size:
        p = singular / singular.sum()
        effective_rank = float(np.exp(-np.sum(p * np.log(p))))
    else:  # every row equal: the representation has collapsed to a point
        effective_rank = 1.0
    i, j = _pairs(n, max_pairs)
    squared = np.sum((z[i] - z[j]) ** 2, axis=1)  # (P,)
    metrics: dict[str, float | None] = {
        "std_normalized": float(z.std(axis=0).mean()),
        "effective_rank": effective_rank,
        "uniformity": float(logsumexp(-2.0 * squared) - np.log(len(squared))),
        "alignment": None,
        "class_alignment": None,
    }
    if positives is not None:
        pos = as_matrix("positives", positives).astype(np.float64)
        if pos.shape != x.shape:
            raise ValueError(f"positives: expected shape {x.shape} like features, got {pos.shape}")
        pos = pos / np.maximum(np.linalg.norm(pos, axis=1, keepdims=True), 1e-12)
        metrics["alignment"] = float(np.mean(np.sum((z - pos) ** 2, axis=1)))
    if labels is not None:
        y = as_labels("labels", labels, n)
        same = y[i] == y[j]
        metrics["class_alignment"] = float(squared[same].mean()) if same.any() else None
    return metrics
