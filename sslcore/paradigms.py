"""The three learning paradigms on one dataset, with real objects (COURSE.md, Fig. 1).

Supervised: (x, y) → f, a logistic regression on the pixels. Unsupervised: x only → k-means
clusters, scored against the labels they never saw (adjusted Rand index). Self-supervised: x → P →
(x̃, z), a pretext task's inputs and pseudolabels, made without a label. Each is seconds on
2 CPU cores for the embedded digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

from sslcore.data import Dataset

__all__ = ["ParadigmResults", "compare_paradigms"]


@dataclass
class ParadigmResults:
    """What each paradigm made of the same images.

    Attributes:
        supervised_accuracy: held-out accuracy of f trained on (x, y).
        predictions: f's class for each shown sample.
        clusters: k-means cluster of each shown sample (k = the number of classes).
        cluster_ari: adjusted Rand index of all clusters against the labels (1 = the classes).
        train_size: labelled examples f was fitted on.
    """

    supervised_accuracy: float
    predictions: np.ndarray
    clusters: np.ndarray
    cluster_ari: float
    train_size: int


def compare_paradigms(data: Dataset, shown: np.ndarray, seed: int = 0) -> ParadigmResults:
    """Supervised and unsupervised learning on `data`'s raw pixels; `shown` rows are reported."""
    x = data.x.reshape(len(data), -1).float().numpy() / 255.0  # (N, C·H·W)
    y = data.y.numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seed, stratify=y)
    f = LogisticRegression(max_iter=500).fit(x[train], y[train])
    k = len(np.unique(y))
    clusters = KMeans(k, n_init=4, random_state=seed).fit_predict(x)
    return ParadigmResults(
        supervised_accuracy=float(f.score(x[test], y[test])),
        predictions=f.predict(x[shown]),
        clusters=clusters[shown],
        cluster_ari=float(adjusted_rand_score(y, clusters)),
        train_size=len(train),
    )
