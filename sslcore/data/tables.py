"""Array files on disk: ``.npz`` archives (features or images) and ``.csv`` feature tables."""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from sslcore.data.dataset import Dataset
from sslcore.errors import DataError

__all__ = ["load_csv", "load_npz"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _existing_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataError(f"{path}: expected a {what}, found a folder")
    return path


def _npz_images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)`` uint8 -> ``(N, C, H, W)``."""
    if x.dtype != np.uint8:
        raise DataError(
            f"{path}: image array {key!r} must be uint8 (0..255), got {x.dtype}; "
            "2-D arrays are read as feature tables"
        )
    if x.ndim == 3:
        return x[:, None]
    if x.shape[1] in (1, 3):
        return x
    if x.shape[3] in (1, 3):  # channels last
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise DataError(
        f"{path}: image array {key!r} must have 1 or 3 channels, as (N, C, H, W) or "
        f"(N, H, W, C); got shape {x.shape}"
    )


def load_npz(path: str | Path, x_key: str = "x", y_key: str = "y") -> Dataset:
    """Loads an ``.npz`` archive written by ``np.savez`` (no pickled objects).

    ``x`` decides the modality: ``(N, D)`` numbers -> vector data (float32, must be finite);
    ``(N, H, W)`` or ``(N, C, H, W)``/``(N, H, W, C)`` uint8 -> images. ``y`` holds integer labels
    ``(N,)`` in ``[0, K)``. Optional arrays: ``class_names`` (K strings, else ``"0"..."K-1"``) and,
    for vectors, ``feature_names`` (D strings).

    Args:
        path: The ``.npz`` file.
        x_key: Name of the samples array.
        y_key: Name of the labels array.
    """
    path = _existing_file(path, ".npz file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: expected an .npz archive (np.savez), not a single array")
        with loaded as archive:
            arrays = {k: archive[k] for k in archive.files}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"cannot read {path} as .npz: {type(e).__name__}: {e}") from e
    for key in (x_key, y_key):
        if key not in arrays:
            raise DataError(f"{path}: no array {key!r}; arrays present: {sorted(arrays)}")
    x, y = arrays[x_key], arrays[y_key]
    if x.ndim == 2:
        modality = "vector"
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise DataError(f"{path}: feature array {x_key!r} must be numeric, got {x.dtype}")
        x = x.astype(np.float32)
        bad = np.argwhere(~np.isfinite(x))
        if bad.size:
            raise DataError(
                f"{path}: feature array {x_key!r} has a non-finite value at row "
                f"{bad[0][0]}, column {bad[0][1]}"
            )
    elif x.ndim in (3, 4):
        modality = "image"
        x = _npz_images(x, path, x_key)
    else:
        raise DataError(
            f"{path}: {x_key!r} must be (N, D) features or (N, [C,] H, W) images, "
            f"got shape {x.shape}"
        )
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) != len(x):
        raise DataError(
            f"{path}: labels {y_key!r} must be integers of shape ({len(x)},), got "
            f"{y.dtype} {y.shape}"
        )
    if y.size and y.min() < 0:
        raise DataError(f"{path}: labels {y_key!r} must be >= 0, found {y.min()}")
    num_classes = int(y.max()) + 1 if y.size else 1
    if "class_names" in arrays:
        class_names = [str(c) for c in arrays["class_names"].reshape(-1)]
        if len(class_names) < num_classes:
            raise DataError(
                f"{path}: {len(class_names)} class_names but labels go up to {num_classes - 1}"
            )
    else:
        class_names = [str(i) for i in range(num_classes)]
    feature_names = None
    if modality == "vector" and "feature_names" in arrays:
        feature_names = [str(f) for f in arrays["feature_names"].reshape(-1)]
        if len(feature_names) != x.shape[1]:
            raise DataError(
                f"{path}: {len(feature_names)} feature_names for {x.shape[1]} feature columns"
            )
    return Dataset(
        name=path.stem,
        x=torch.from_numpy(x),
        y=torch.from_numpy(y.astype(np.int64)),
        class_names=class_names,
        modality=modality,
        feature_names=feature_names,
    )


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank rows with their 1-based line numbers, cells stripped of surrounding spaces."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, [c.strip() for c in row]) for row in reader if any(row)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV: {type(e).__name__}: {e}") from e


def _labels(cells: list[str]) -> tuple[np.ndarray, list[str]]:
    """Label indices ``(N,)`` and sorted class names; all-integer labels sort numerically."""
    try:
        values: list[int] | list[str] = [int(c) for c in cells]
    except ValueError:
        values = cells
    classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in values], dtype=np.int64), [str(c) for c in classes]


def load_csv(path: str | Path, label_column: str = "label") -> Dataset:
    """Loads a CSV feature table: a header row, numeric feature columns and a label column.

    Labels may be strings or integers; the class names are the distinct labels sorted
    (numerically for integers), and label ``i`` is the ``i``-th of them.

    Args:
        path: The ``.csv`` file (UTF-8, comma-separated).
        label_column: Name of the label column; every other column is a feature.

    Returns:
        A vector Dataset with x ``(N, D)`` float32 and ``feature_names`` from the header.
    """
    path = _existing_file(path, ".csv file")
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{path}: empty file; expected a header row and data rows")
    header, body = rows[0][1], rows[1:]
    if label_column not in header:
        raise DataError(f"{path}: no label column {label_column!r}; columns: {header}")
    if len(header) < 2:
        raise DataError(f"{path}: no feature columns besides {label_column!r}")
    if not body:
        raise DataError(f"{path}: header only, no data rows")
    li = header.index(label_column)
    feature_names = [h for i, h in enumerate(header) if i != li]
    x = np.empty((len(body), len(feature_names)), dtype=np.float64)
    label_cells = []
    for r, (line, row) in enumerate(body):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {line} has {len(row)} cells, the header has {len(header)}"
            )
        where = f"{path}: line {line} (data row {r + 1}), column"
        if not row[li]:
            raise DataError(f"{where} {label_column!r}: empty label")
        label_cells.append(row[li])
        for j, cell in enumerate(c for i, c in enumerate(row) if i != li):
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"{where} {feature_names[j]!r}: cannot read {cell!r} as a number"
                ) from None
            if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
                raise DataError(
                    f"{where} {feature_names[j]!r}: {cell!r} is not a finite float32 value"
                )
            x[r, j] = value
    y, class_names = _labels(label_cells)
    return Dataset(
        name=path.stem,
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(y),
        class_names=class_names,
        modality="vector",
        feature_names=feature_names,
    )
