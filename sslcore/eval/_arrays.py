"""Checked arrays for the evaluation modules: finite ``(N, D)`` features, labels, integers."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["ArrayLike", "as_labels", "as_matrix", "check_int"]

ArrayLike = np.ndarray | torch.Tensor


def as_matrix(name: str, x: Any) -> np.ndarray:
    """`x` as a finite, non-empty ``(N, D)`` float array, or a ValueError naming what is wrong."""
    if hasattr(x, "features") and hasattr(x, "labels"):  # an embeddings.Features
        x = x.features
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, D), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (N, D) array, got shape {x.shape}")
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    for bad, test in (("NaN", np.isnan), ("inf", np.isinf)):
        rows = np.flatnonzero(test(x).any(axis=1))
        if rows.size:
            raise ValueError(f"{name} contain {bad} at row {rows[0]} ({rows.size} rows in all)")
    return x


def as_labels(name: str, y: ArrayLike, n: int) -> np.ndarray:
    """`y` as a 1-D array of length `n`, or a ValueError."""
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name}: expected shape ({n},) (one label per row), got {y.shape}")
    return y


def check_int(name: str, value: Any, low: int, optional: bool = False) -> None:
    """Raises a ValueError naming `name` unless `value` is an int >= `low` (or None if optional)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
