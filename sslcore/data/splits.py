"""Splits of the self-supervised setting: unlabeled source, labeled target, few-label subsets.

Two protocols: *transfer* (``split_source_target``: pretrain on a source part, adapt on a
disjoint labeled target) and *in-domain*, the standard SSL protocol (``split_in_domain``:
pretrain on the train split without its labels, draw the few labels from that same split, test
on a fixed held-out split).

All splits are stratified per class and seeded. They are drawn per class from one seeded
permutation, which scikit-learn's stratified splitters do not guarantee for tiny classes (they
require two samples per class) and which makes few-label subsets nested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from sslcore.data.dataset import Dataset

__all__ = [
    "LABEL_FRACTIONS",
    "InDomainSplit",
    "SourceTargetSplit",
    "label_count",
    "label_indices",
    "label_subset",
    "protocol_split",
    "split_in_domain",
    "split_source_target",
]

LABEL_FRACTIONS: tuple[float, ...] = (0.01, 0.1, 1.0)


@dataclass
class SourceTargetSplit:
    """The three disjoint parts of one dataset.

    Attributes:
        source: Pretraining data. Treat it as unlabeled: its ``y`` is kept only so that
            evaluations (kNN on embeddings, plots coloured by class) can use it; no pretext task
            or loss may read it.
        target_train: Labeled data for the task head (linear probe, fine-tune, kNN memory).
        target_test: Held-out labeled data for the reported accuracy.
    """

    source: Dataset
    target_train: Dataset
    target_test: Dataset

    def describe(self) -> dict[str, Any]:
        """JSON-able summary: each part's :meth:`Dataset.describe`, keyed by part name."""
        return {
            name: getattr(self, name).describe()
            for name in ("source", "target_train", "target_test")
        }


@dataclass
class InDomainSplit:
    """The in-domain protocol's two parts of one dataset.

    Attributes:
        train: Pretrained on without its labels; the few-label subsets are drawn from it.
        test: Held out, fixed for every draw and seed: the reported accuracy.
    """

    train: Dataset
    test: Dataset

    def describe(self) -> dict[str, Any]:
        """JSON-able summary: each part's :meth:`Dataset.describe`, keyed by part name."""
        return {"train": self.train.describe(), "test": self.test.describe()}


def _check_fraction(value: Any, name: str, *, closed_right: bool) -> float:
    """Validates a fraction in ``(0, 1)`` or ``(0, 1]``, naming the argument in the error."""
    upper = "1]" if closed_right else "1)"
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or math.isnan(value)
        or not (0 < value < 1 or (closed_right and value == 1))
    ):
        raise ValueError(f"{name} must be a number in (0, {upper}, got {value!r}")
    return float(value)


def _class_orders(y: np.ndarray, seed: int) -> list[np.ndarray]:
    """For every class, its sample indices in one seeded random order."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    perm = np.random.default_rng(seed).permutation(len(y))
    permuted = y[perm]
    return [perm[permuted == c] for c in np.unique(y)]


def _round(x: float) -> int:
    """Round half up, so the 50 % split of an odd class gives the extra sample to the first part."""
    return math.floor(x + 0.5)


def split_source_target(
    data: Dataset, source_fraction: float = 0.5, test_fraction: float = 0.2, seed: int = 0
) -> SourceTargetSplit:
    """Splits ``data`` into an unlabeled source set and a labeled target train/test pair.

    Per class with ``n`` samples: ``round(source_fraction * n)`` go to the source; of the
    ``m`` left, ``round(test_fraction * m)`` go to target_test and the rest to target_train. The
    parts are disjoint, cover ``data``, keep its order, and depend only on ``seed``.

    Args:
        data: The dataset to split.
        source_fraction: Share of every class used as the source set, in ``(0, 1)``.
        test_fraction: Share of the target set held out for testing, in ``(0, 1)``.
        seed: Seed of the split.

    Raises:
        ValueError: A fraction outside ``(0, 1)``, or a part that would be empty.
    """
    source_fraction = _check_fraction(source_fraction, "source_fraction", closed_right=False)
    test_fraction = _check_fraction(test_fraction, "test_fraction", closed_right=False)
    parts: dict[str, list[np.ndarray]] = {"source": [], "target_train": [], "target_test": []}
    for order in _class_orders(data.y.numpy(), seed):
        n_source = _round(source_fraction * len(order))
        n_test = _round(test_fraction * (len(order) - n_source))
        parts["source"].append(order[:n_source])
        parts["target_test"].append(order[n_source : n_source + n_test])
        parts["target_train"].append(order[n_source + n_test :])
    subsets = {}
    for name, chunks in parts.items():
        idx = np.sort(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
        if idx.size == 0:
            raise ValueError(
                f"split_source_target: {name} of {data.name!r} would be empty "
                f"({len(data)} samples, source_fraction={source_fraction}, "
                f"test_fraction={test_fraction}); use more data or other fractions"
            )
        subsets[name] = data.subset(idx, name=f"{data.name}/{name}")
    return SourceTargetSplit(**subsets)


def _largest_remainders(sizes: np.ndarray, total: int) -> list[int]:
    """Shares `total` among classes of `sizes` in proportion (Hamilton's method, stable ties)."""
    exact = sizes * total / max(int(sizes.sum()), 1)
    shares = np.floor(exact).astype(np.int64)
    leftover = total - int(shares.sum())
    order = np.argsort(-(exact - shares), kind="stable")  # largest remainder first
    shares[order[:leftover]] += 1
    return [int(k) for k in np.minimum(shares, sizes)]


def split_in_domain(data: Dataset, test_fraction: float = 0.3, seed: int = 0) -> InDomainSplit:
    """Splits ``data`` into a train split and a stratified held-out test split.

    The test split holds ``ceil(test_fraction * N)`` samples, as scikit-learn's
    ``train_test_split`` (digits at 0.3: 1,257 train / 540 test), shared among the classes in
    proportion to their sizes (largest remainders get the leftover samples). The parts are
    disjoint, cover ``data``, keep its order, and depend only on ``seed``.

    Raises:
        ValueError: A fraction outside ``(0, 1)``, or a part that would be empty.
    """
    test_fraction = _check_fraction(test_fraction, "test_fraction", closed_right=False)
    orders = _class_orders(data.y.numpy(), seed)
    sizes = np.array([len(order) for order in orders], dtype=np.int64)
    n_test = _largest_remainders(sizes, math.ceil(test_fraction * int(sizes.sum())))
    train = [order[k:] for order, k in zip(orders, n_test, strict=True)]
    test = [order[:k] for order, k in zip(orders, n_test, strict=True)]
    parts = {}
    for name, chunks in (("train", train), ("test", test)):
        idx = np.sort(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
        if idx.size == 0:
            raise ValueError(
                f"split_in_domain: {name} of {data.name!r} would be empty ({len(data)} samples, "
                f"test_fraction={test_fraction}); use more data or another fraction"
            )
        parts[name] = data.subset(idx, name=f"{data.name}/{name}")
    return InDomainSplit(**parts)


def protocol_split(
    data: Dataset,
    protocol: str,
    source_fraction: float = 0.5,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> SourceTargetSplit:
    """The split of `protocol` in one shape: source (pretrained on), target_train, target_test.

    ``transfer``: ``split_source_target`` (disjoint parts). ``in_domain``: ``split_in_domain``,
    whose train split is both the source (its labels unused) and the labeled pool the few
    labels are drawn from; `source_fraction` plays no part.
    """
    if protocol == "transfer":
        return split_source_target(data, source_fraction, test_fraction, seed)
    if protocol != "in_domain":
        raise ValueError(f"protocol: expected 'in_domain' or 'transfer', got {protocol!r}")
    parts = split_in_domain(data, test_fraction, seed)
    return SourceTargetSplit(source=parts.train, target_train=parts.train, target_test=parts.test)


def label_count(n: int, classes: int, fraction: float) -> int:
    """Labels in a draw of `fraction` of `n` samples: ``round(fraction · n)``, ≥ 1 per class.

    Digits' in-domain train split (1,257 images, 10 classes): 13 at 1 %, 126 at 10 %.
    """
    return min(n, max(classes, _round(fraction * n)))


def label_indices(
    y: np.ndarray, fraction: float | None = None, seed: int = 0, *, per_class: int | None = None
) -> np.ndarray:
    """Sorted indices of a stratified few-label draw: `fraction` of the labels, or `per_class`.

    A fraction keeps ``label_count`` labels, at least one of every class, shared among the classes
    in proportion to their sizes. Each class's samples come in one seeded order and every class
    enters with its first sample, then the k-th of a class of n is taken at ``(k − 1) / n``
    (ties in seeded order): any prefix of that one queue is stratified, so for one seed the
    draws are nested (the 1 % draw lies inside the 10 % draw, inside the full set); another seed
    is another draw. `per_class` keeps the first k of every class (all of a smaller class).

    Args:
        y: ``(N,)`` labels.
        fraction: Share of labels kept, in ``(0, 1]``.
        seed: Seed of the order in which samples are kept.
        per_class: Labels per class instead of a fraction (``>= 1``).
    """
    orders = _class_orders(y, seed)
    if not orders:
        return np.empty(0, dtype=np.int64)
    if per_class is not None:
        if fraction is not None:
            raise ValueError("give fraction or per_class, not both")
        if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
            raise ValueError(f"per_class must be an int >= 1, got {per_class!r}")
        return np.sort(np.concatenate([order[:per_class] for order in orders]))
    fraction = _check_fraction(fraction, "fraction", closed_right=True)
    keys = np.concatenate([np.arange(len(order)) / len(order) for order in orders])
    samples = np.concatenate(orders)
    ties = np.random.default_rng(seed).permutation(len(samples))
    queue = samples[np.lexsort((ties, keys))]
    return np.sort(queue[: label_count(len(y), len(orders), fraction)])


def label_subset(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """A stratified few-label subset of ``data``: the samples of ``label_indices`` (a fraction).

    Args:
        data: The labeled (target train, or in-domain train) dataset.
        fraction: Share of labels kept, in ``(0, 1]``.
        seed: Seed of the order in which samples are kept.

    Returns:
        The subset, in ``data``'s order, named ``"<name>/<percent>% labels"``.
    """
    idx = label_indices(data.y.numpy(), fraction, seed)
    return data.subset(idx, name=f"{data.name}/{float(fraction) * 100:g}% labels")
