"""How good are an encoder's features? A linear probe and a kNN classifier on a labeled set.

Both are scikit-learn fits on frozen features (the standard protocols: a linear classifier on
h_θ*(x), Chen et al. 2020; a cosine k-nearest-neighbour vote, Wu et al. 2018), fast enough to run
every few hundred steps during pretraining.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from torch import nn

from sslcore.pretext.base import to_model_input

__all__ = ["extract_features", "knn_accuracy", "linear_probe_accuracy"]


@torch.no_grad()
def extract_features(
    encoder: nn.Module, x: torch.Tensor, batch_size: int = 512, device: str = "cpu"
) -> np.ndarray:
    """h_θ(x) for raw samples `x` (uint8 images or float vectors): ``(N, out_dim)`` float32.

    The encoder is put in eval mode for the pass (BatchNorm uses its running statistics) and
    restored to its previous mode after.
    """
    was_training = encoder.training
    encoder.eval()
    try:
        parts = [
            encoder(to_model_input(x[i : i + batch_size]).to(device)).float().cpu()
            for i in range(0, x.shape[0], batch_size)
        ]
    finally:
        encoder.train(was_training)
    dim = getattr(encoder, "out_dim", 0)
    return torch.cat(parts).numpy() if parts else np.zeros((0, dim), np.float32)


def linear_probe_accuracy(
    train: np.ndarray,
    train_y: np.ndarray,
    test: np.ndarray,
    test_y: np.ndarray,
    scaler: StandardScaler | None = None,
) -> float:
    """Accuracy on (test, test_y) of a logistic regression fit on standardised train features.

    `scaler` (already fit, e.g. on a whole unlabeled split) standardises instead of one fit on
    `train`, as the few-label protocol does.
    """
    scaler = StandardScaler().fit(train) if scaler is None else scaler
    classifier = LogisticRegression(max_iter=1000, C=1.0)
    if len(np.unique(train_y)) < 2:  # one class: the probe can only predict it
        return float(np.mean(test_y == train_y[0]))
    classifier.fit(scaler.transform(train), train_y)
    return float(classifier.score(scaler.transform(test), test_y))


def knn_accuracy(
    train: np.ndarray, train_y: np.ndarray, test: np.ndarray, test_y: np.ndarray, k: int = 20
) -> float:
    """Accuracy of a cosine-distance, distance-weighted kNN vote (k capped by the train size)."""
    k = max(1, min(k, len(train)))
    classifier = KNeighborsClassifier(n_neighbors=k, metric="cosine", weights="distance")
    classifier.fit(train, train_y)
    return float(classifier.score(test, test_y))
