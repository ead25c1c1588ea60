"""Few-label accuracy with error bars: one classifier per stratified label draw, summarised.

One draw of 13 labels (1 % of digits' in-domain train split) moves the accuracy by about ±5
points, so a few-label figure is the mean ± std (and min–max) over several draws, ≥ 10 by
default. Two feature sets scored on the *same* draws (SSL vs supervised) give a paired
difference, and how many draws each one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from sslcore.data.splits import label_indices
from sslcore.eval._arrays import ArrayLike, as_labels, as_matrix, check_int
from sslcore.eval.probe import knn_accuracy, linear_probe_accuracy

__all__ = [
    "CLASSIFIERS",
    "FewLabelResult",
    "accuracy_summary",
    "few_label_accuracy",
    "paired_difference",
]

CLASSIFIERS = ("linear", "knn")
DEFAULT_DRAWS = 10


def accuracy_summary(values: Sequence[float]) -> dict[str, Any]:
    """A record's accuracy fields over label draws, one owner for every few-label record.

    ``accuracy`` (the mean), ``accuracy_std`` (sample std), ``accuracy_min``, ``accuracy_max``
    and ``accuracies`` (in draw order, for paired comparisons).
    """
    stats = _summary(tuple(float(v) for v in values))
    return {
        "accuracy": stats["mean"],
        "accuracy_std": stats["std"],
        "accuracy_min": stats["min"],
        "accuracy_max": stats["max"],
        "accuracies": [float(v) for v in values],
    }


def _summary(values: tuple[float, ...]) -> dict[str, float]:
    """Mean, sample std (0 for one value), min and max of `values`."""
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
        "min": float(array.min()),
        "max": float(array.max()),
    }


@dataclass(frozen=True)
class FewLabelResult:
    """Accuracies of one classifier at one label fraction, one per draw (draw d used seed + d).

    Attributes:
        classifier: ``"linear"`` or ``"knn"``.
        fraction: Share of the train labels each draw keeps.
        labels: Labels in each draw (the same for every draw: ``label_count``).
        seed: Seed of draw 0.
        accuracies: Test accuracy of each draw, in draw order.
    """

    classifier: str
    fraction: float
    labels: int
    seed: int
    accuracies: tuple[float, ...]

    @property
    def draws(self) -> int:
        """How many label draws were scored."""
        return len(self.accuracies)

    @property
    def mean(self) -> float:
        """Mean accuracy over the draws."""
        return _summary(self.accuracies)["mean"]

    @property
    def std(self) -> float:
        """Sample standard deviation of the accuracy over the draws (0 for one draw)."""
        return _summary(self.accuracies)["std"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record: the fields, the draw count and accuracy mean/std/min/max."""
        stats = _summary(self.accuracies)
        return {
            "classifier": self.classifier,
            "label_fraction": self.fraction,
            "labels": self.labels,
            "draws": self.draws,
            "seed": self.seed,
            "accuracy": stats["mean"],
            "accuracy_std": stats["std"],
            "accuracy_min": stats["min"],
            "accuracy_max": stats["max"],
            "accuracies": list(self.accuracies),
        }


def few_label_accuracy(
    train: ArrayLike,
    train_y: ArrayLike,
    test: ArrayLike,
    test_y: ArrayLike,
    fraction: float,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    classifier: str = "linear",
) -> FewLabelResult:
    """Test accuracy of a classifier fit on `draws` stratified label draws of the train split.

    Draw d keeps ``round(fraction · N)`` labels, at least one per class, stratified
    (``label_indices`` with seed ``seed + d``; 13 of digits' 1,257 at 1 %). ``linear`` is the
    SSL literature's probe: features standardised with the
    statistics of the *whole* train split (its labels unused, as in the in-domain protocol), then
    a logistic regression with C = 1 on the draw; ``knn`` is a cosine, distance-weighted vote.

    Args:
        train: ``(N, D)`` features of the train split.
        train_y: ``(N,)`` its labels (only the drawn ones reach the classifier).
        test: ``(M, D)`` features of the fixed test split.
        test_y: ``(M,)`` its labels.
        fraction: Share of labels per draw, in ``(0, 1]``.
        draws: Label draws, >= 1 (at 1.0 every draw is the whole split).
        seed: Seed of draw 0.
        classifier: One of ``CLASSIFIERS``.
    """
    train = as_matrix("train", train)
    test = as_matrix("test", test)
    train_y = as_labels("train_y", train_y, len(train))
    test_y = as_labels("test_y", test_y, len(test))
    if train.shape[1] != test.shape[1]:
        raise ValueError(
            f"test: expected {train.shape[1]} features (as train), got {test.shape[1]}"
        )
    check_int("draws", draws, 1)
    check_int("seed", seed, 0)
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier: expected one of {CLASSIFIERS}, got {classifier!r}")
    scaler = StandardScaler().fit(train) if classifier == "linear" else None
    accuracies, labels = [], 0
    for d in range(draws):
        idx = label_indices(train_y, fraction, seed + d)
        labels = len(idx)
        if classifier == "linear":
            score = linear_probe_accuracy(train[idx], train_y[idx], test, test_y, scaler)
        else:
            score = knn_accuracy(train[idx], train_y[idx], test, test_y)
        accuracies.append(score)
    return FewLabelResult(classifier, float(fraction), labels, seed, tuple(accuracies))


def paired_difference(
    a: FewLabelResult | Sequence[float], b: FewLabelResult | Sequence[float]
) -> dict[str, Any]:
    """``a − b`` draw by draw (e.g. SSL − supervised on the same label draws).

    `a` and `b` are FewLabelResults, or per-draw accuracies in draw order (as ``adapt``'s
    ``accuracies``), which must then be as many.

    Returns:
        ``{"draws", "mean", "std", "min", "max", "wins"}``: the differences' summary and on how
        many draws `a` scored strictly higher.

    Raises:
        ValueError: The two were not scored on the same draws (fraction, seed or count differ).
    """
    if isinstance(a, FewLabelResult) and isinstance(b, FewLabelResult):
        key_a = (a.fraction, a.seed, a.draws, a.labels)
        key_b = (b.fraction, b.seed, b.draws, b.labels)
        if key_a != key_b:
            raise ValueError(
                "paired_difference: expected results on the same label draws, got "
                f"(fraction, seed, draws, labels) {key_a} and {key_b}"
            )
    first = _accuracies("a", a)
    second = _accuracies("b", b)
    if len(first) != len(second) or not first:
        raise ValueError(
            f"paired_difference: expected as many draws (>= 1) on both sides, got {len(first)} "
            f"and {len(second)}"
        )
    differences = tuple(x - y for x, y in zip(first, second, strict=True))
    wins = sum(x > y for x, y in zip(first, second, strict=True))
    return {"draws": len(first), **_summary(differences), "wins": int(wins)}


def _accuracies(name: str, value: FewLabelResult | Sequence[float]) -> tuple[float, ...]:
    """The per-draw accuracies of a FewLabelResult or a sequence, checked finite."""
    values = value.accuracies if isinstance(value, FewLabelResult) else value
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected accuracies (numbers), got {values!r}") from None
    if not all(np.isfinite(out)):
        raise ValueError(f"{name}: expected finite accuracies, got {out}")
    return out
