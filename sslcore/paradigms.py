"""The three learning paradigms on one dataset, with real objects.

Supervised: (x, y) → f, a logistic regression on the pixels, fitted on the whole train split and,
for comparison with self-supervised learning's few-label results, on 1 % of its labels (13 of
digits' 1,257; mean ± std over label draws). Unsupervised: x only → k-means clusters, scored
against the labels they never saw (adjusted Rand index). Self-supervised: x → P → (x̃, z), a
pretext task's inputs and pseudolabels, made without a label. Each is seconds on 2 CPU cores for
the embedded digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

from sslcore.data import Dataset
from sslcore.eval.few_label import DEFAULT_DRAWS, few_label_accuracy

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
        few_label_accuracy: held-out accuracy of the same kind of f fitted on `few_labels`
            labels only (standardised pixels), the mean over `few_label_draws` label draws.
        few_label_std: its sample standard deviation over the draws (0 for one draw).
        few_labels: labels in each draw (``label_indices`` of the train split's labels).
        few_label_draws: how many label draws were scored (draw d uses seed d).
    """

    supervised_accuracy: float
    predictions: np.ndarray
    clusters: np.ndarray
    cluster_ari: float
    train_size: int
    few_label_accuracy: float
    few_label_std: float
    few_labels: int
    few_label_draws: int


def compare_paradigms(
    data: Dataset,
    shown: np.ndarray,
    seed: int = 0,
    few_label_fraction: float = 0.01,
    draws: int = DEFAULT_DRAWS,
) -> ParadigmResults:
    """Supervised and unsupervised learning on `data`'s raw pixels; `shown` rows are reported.

    The split is 70/30, stratified. Besides f on the whole train split, a logistic regression is
    fitted on `draws` stratified draws of `few_label_fraction` of its labels (draw d with seed d)
    and scored on the same test split: the supervised few-label baseline on pixels.
    """
    x = data.x.reshape(len(data), -1).float().numpy() / 255.0  # (N, C·H·W)
    y = data.y.numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seed, stratify=y)
    f = LogisticRegression(max_iter=500).fit(x[train], y[train])
    k = len(np.unique(y))
    clusters = KMeans(k, n_init=4, random_state=seed).fit_predict(x)
    few = few_label_accuracy(
        x[train], y[train], x[test], y[test], few_label_fraction, draws=draws, seed=0
    )
    return ParadigmResults(
        supervised_accuracy=float(f.score(x[test], y[test])),
        predictions=f.predict(x[shown]),
        clusters=clusters[shown],
        cluster_ari=float(adjusted_rand_score(y, clusters)),
        train_size=len(train),
        few_label_accuracy=few.mean,
        few_label_std=few.std,
        few_labels=few.labels,
        few_label_draws=few.draws,
    )
