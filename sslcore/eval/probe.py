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

__all__ = ["extract_features", "fit_linear_probe", "knn_accuracy", "linear_probe_accuracy"]


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
    classifier = _logistic_regression()
    if len(np.unique(train_y)) < 2:  # one class: the probe can only predict it
        return float(np.mean(test_y == train_y[0]))
    classifier.fit(scaler.transform(train), train_y)
    return float(classifier.score(scaler.transform(test), test_y))


def _logistic_regression() -> LogisticRegression:
    """The probe's classifier: multinomial logistic regression, C = 1 (L2), lbfgs."""
    return LogisticRegression(max_iter=1000, C=1.0)


class _Standardise(nn.Module):
    """(x − mean) / std with the statistics of the features the probe was fit on."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised features."""
        return (x - self.mean) / self.std


def fit_linear_probe(
    train: np.ndarray, train_y: np.ndarray, num_classes: int, scaler: StandardScaler | None = None
) -> nn.Module:
    """g_φ of the linear probe as a torch module: standardise, then the fitted logistic regression.

    The same classifier as ``linear_probe_accuracy`` (so both report one probe), returned as
    ``(N, D)`` features → ``(N, num_classes)`` logits; a class absent from `train_y` gets a
    logit of −1e4.
    """
    scaler = StandardScaler().fit(train) if scaler is None else scaler
    linear = nn.Linear(train.shape[1], num_classes)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.fill_(-1e4)
        classes = np.unique(train_y)
        if len(classes) == 1:
            linear.bias[int(classes[0])] = 0.0
        else:
            fitted = _logistic_regression().fit(scaler.transform(train), train_y)
            rows = torch.as_tensor(fitted.classes_.astype(np.int64))
            coef = torch.as_tensor(fitted.coef_, dtype=torch.float32)
            intercept = torch.as_tensor(fitted.intercept_, dtype=torch.float32)
            if len(rows) == 2:  # binary: one score for classes_[1]; softmax([0, s]) = sigmoid(s)
                linear.bias[rows[0]] = 0.0
                rows = rows[1:]
            linear.weight[rows] = coef
            linear.bias[rows] = intercept
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return nn.Sequential(_Standardise(scaler.mean_, scale), linear)


def knn_accuracy(
    train: np.ndarray, train_y: np.ndarray, test: np.ndarray, test_y: np.ndarray, k: int = 20
) -> float:
    """Accuracy of a cosine-distance, distance-weighted kNN vote (k capped by the train size)."""
    k = max(1, min(k, len(train)))
    classifier = KNeighborsClassifier(n_neighbors=k, metric="cosine", weights="distance")
    classifier.fit(train, train_y)
    return float(classifier.score(test, test_y))
