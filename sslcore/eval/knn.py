"""The weighted kNN classifier of Wu et al. 2018 on frozen features, chunked torch matmuls."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from sslcore.eval._arrays import ArrayLike, as_labels, as_matrix, check_int

__all__ = ["weighted_knn", "weighted_knn_predict"]


def weighted_knn_predict(
    train: ArrayLike,
    train_y: ArrayLike,
    test: ArrayLike,
    k: int = 200,
    temperature: float = 0.07,
    chunk_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of the weighted kNN of Wu et al. 2018 (non-parametric instance discrimination).

    Cosine similarity s on L2-normalised features; each of the k most similar train rows (k capped
    at the train size) votes for its class with weight exp(s/τ); the most voted class wins (ties:
    the lowest label). Test rows go `chunk_size` at a time: memory O(chunk_size · N).

    Args:
        train: ``(N, D)`` labeled features (the memory bank).
        train_y: ``(N,)`` their labels.
        test: ``(M, D)`` features to classify.
        k: Neighbours, >= 1.
        temperature: τ > 0.
        chunk_size: Test rows per similarity matmul.

    Returns:
        ``(predictions, votes)``: ``(M,)`` labels and ``(M, C)`` float64 vote shares (each row
        divided by its sum), columns in the order of ``np.unique(train_y)``.
    """
    train_np, test_np = as_matrix("train", train), as_matrix("test", test)
    if test_np.shape[1] != train_np.shape[1]:
        raise ValueError(
            f"test: expected {train_np.shape[1]} columns like train, got {test_np.shape[1]}"
        )
    classes, owner = np.unique(as_labels("train_y", train_y, len(train_np)), return_inverse=True)
    check_int("k", k, 1)
    check_int("chunk_size", chunk_size, 1)
    if isinstance(temperature, bool) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature: expected a finite number > 0, got {temperature!r}")
    k = min(k, len(train_np))
    bank = F.normalize(torch.as_tensor(train_np, dtype=torch.float32), dim=1)  # (N, D)
    queries = F.normalize(torch.as_tensor(test_np, dtype=torch.float32), dim=1)  # (M, D)
    owner_t = torch.as_tensor(owner.reshape(-1), dtype=torch.int64)  # (N,) column of each row
    parts = []
    for start in range(0, len(queries), chunk_size):
        top, rows = (queries[start : start + chunk_size] @ bank.T).topk(k, dim=1)  # (c, k)
        # exp((s - s_max)/τ): the row's factor exp(-s_max/τ) cancels in the shares and keeps exp
        # from overflowing at small τ.
        weights = ((top - top[:, :1]) / temperature).double().exp()  # (c, k)
        votes = torch.zeros(len(top), len(classes), dtype=torch.float64)  # (c, C)
        parts.append(votes.scatter_add_(1, owner_t[rows], weights))
    votes = torch.cat(parts).numpy()  # (M, C)
    votes /= votes.sum(axis=1, keepdims=True)
    return classes[votes.argmax(axis=1)], votes


def weighted_knn(
    train: ArrayLike,
    train_y: ArrayLike,
    test: ArrayLike,
    test_y: ArrayLike,
    k: int = 200,
    temperature: float = 0.07,
) -> float:
    """Accuracy of the weighted kNN of Wu et al. 2018 (see `weighted_knn_predict`).

    Args:
        train: ``(N, D)`` labeled features.
        train_y: ``(N,)`` their labels.
        test: ``(M, D)`` features to classify.
        test_y: ``(M,)`` their labels.
        k: Neighbours, >= 1 (capped at N).
        temperature: τ > 0 of the exp(s/τ) weights.

    Returns:
        The share of test rows predicted right.
    """
    truth = as_labels("test_y", test_y, len(as_matrix("test", test)))
    return float(np.mean(weighted_knn_predict(train, train_y, test, k, temperature)[0] == truth))
