"""CIFAR-10 and CIFAR-100 in their "python version" format, read from disk with a safe unpickler.

The official archives are pickled dicts (written by Python 2), read with the restricted and
size-bounded unpickler of :mod:`sslcore.data.unpickle`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sslcore.data.dataset import Dataset
from sslcore.data.limits import check_data_bytes
from sslcore.data.unpickle import RestrictedUnpickler, safe_unpickle
from sslcore.errors import DataError

__all__ = ["RestrictedUnpickler", "find_cifar_dir", "is_cifar_batch", "load_cifar", "safe_unpickle"]

# CIFAR-10: data_batch_1..5 + test_batch + batches.meta; CIFAR-100: train + test + meta.
_CIFAR10_TRAIN = re.compile(r"data_batch_(\d+)$")
_BATCH_NAMES = re.compile(r"(data_batch_\d+|test_batch|train|test)$")
_ARCHIVE_DIRS = ("cifar-10-batches-py", "cifar-100-python")
_NUM_CLASSES = {"labels": 10, "fine_labels": 100, "coarse_labels": 20}


def _str_keys(obj: Any, path: Path) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DataError(
            f"{path}: expected a pickled dict (CIFAR python format), got {type(obj).__name__}"
        )
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def is_cifar_batch(path: Path) -> bool:
    """Whether ``path`` is named like a CIFAR batch file (``data_batch_3``, ``test``, ...)."""
    return path.is_file() and _BATCH_NAMES.match(path.name) is not None


def find_cifar_dir(path: Path) -> Path | None:
    """The CIFAR folder at ``path`` (or in its extracted-archive child folder), else None."""
    for d in (path, *(path / name for name in _ARCHIVE_DIRS)):
        if (d / "batches.meta").is_file() or (d / "data_batch_1").is_file():
            return d
        if (d / "meta").is_file() and ((d / "train").is_file() or (d / "test").is_file()):
            return d
    return None


def _read_batch(path: Path) -> dict[str, Any]:
    """A batch or meta file as a dict with str keys (Python 2 pickles have bytes keys)."""
    return _str_keys(safe_unpickle(path), path)


def _batch_arrays(batch: dict[str, Any], path: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64 of one batch read from ``path``."""
    if "data" not in batch or key not in batch:
        raise DataError(f"{path}: expected keys 'data' and {key!r}, found {sorted(batch)}")
    data, labels = batch["data"], batch[key]
    if isinstance(data, np.ndarray):
        data = np.asarray(data)  # the unpickler's checked subclass -> a plain array
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array (N, 3072), got {got}")
    try:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: {key!r} must be a list of ints ({e})") from e
    if labels.shape[0] != data.shape[0]:
        raise DataError(f"{path}: {data.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= _NUM_CLASSES[key]):
        raise DataError(
            f"{path}: {key!r} must lie in [0, {_NUM_CLASSES[key]}), got range "
            f"[{labels.min()}, {labels.max()}]"
        )
    # Each row is 1024 red, then 1024 green, then 1024 blue values, row-major.
    return data.reshape(-1, 3, 32, 32), labels


def _class_names(meta_path: Path, key: str) -> list[str]:
    """Names from ``batches.meta``/``meta`` when present, else ``"0"..."K-1"``."""
    meta_key = {
        "labels": "label_names",
        "fine_labels": "fine_label_names",
        "coarse_labels": "coarse_label_names",
    }[key]
    if not meta_path.is_file():
        return [str(i) for i in range(_NUM_CLASSES[key])]
    meta = _read_batch(meta_path)
    names = meta.get(meta_key)
    if not isinstance(names, (list, tuple)) or len(names) != _NUM_CLASSES[key]:
        raise DataError(f"{meta_path}: expected {meta_key!r}, a list of {_NUM_CLASSES[key]} names")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def _label_key(label: str, cifar100: bool, where: Path) -> str:
    if label not in ("fine", "coarse"):
        raise ValueError(f"label must be 'fine' or 'coarse', got {label!r}")
    if not cifar100:
        if label == "coarse":
            raise ValueError(f"{where}: CIFAR-10 has a single label set; label must be 'fine'")
        return "labels"
    return f"{label}_labels"


def load_cifar(path: str | Path, split: str = "train", label: str = "fine") -> Dataset:
    """Loads CIFAR-10 or CIFAR-100 (python format) from a folder or one batch file.

    Args:
        path: The extracted folder (``cifar-10-batches-py``, ``cifar-100-python`` or their
            parent), or a single batch file (``data_batch_2``, ``test``, ...).
        split: ``"train"`` (CIFAR-10: every ``data_batch_<k>`` present) or ``"test"``; ignored
            for a single file.
        label: CIFAR-100's ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Returns:
        An image Dataset with x ``(N, 3, 32, 32)`` uint8.
    """
    path = Path(path)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not path.exists():
        raise DataError(f"no such file or directory: {path}")
    if path.is_file():
        batch = _read_batch(path)
        cifar100 = "fine_labels" in batch
        key = _label_key(label, cifar100, path)
        meta = path.parent / ("meta" if cifar100 else "batches.meta")
        parts = [_batch_arrays(batch, path, key)]
        name = f"{'cifar100' if cifar100 else 'cifar10'}-{path.name}"
    else:
        root = find_cifar_dir(path)
        if root is None:
            raise DataError(
                f"{path}: not a CIFAR folder (expected data_batch_1..5, test_batch "
                "and batches.meta, or train, test and meta)"
            )
        cifar100 = not (root / "batches.meta").is_file() and not (root / "data_batch_1").is_file()
        key = _label_key(label, cifar100, root)
        if cifar100:
            files, meta = [root / split], root / "meta"
        elif split == "test":
            files, meta = [root / "test_batch"], root / "batches.meta"
        else:
            found = [p for p in root.iterdir() if _CIFAR10_TRAIN.match(p.name)]
            files = sorted(found, key=lambda p: int(_CIFAR10_TRAIN.match(p.name).group(1)))
            meta = root / "batches.meta"
        missing = [str(f) for f in files if not f.is_file()]
        if missing or not files:
            raise DataError(
                f"{root}: CIFAR {split} split incomplete, missing "
                f"{', '.join(missing) or 'data_batch_1'}"
            )
        name = f"{'cifar100' if cifar100 else 'cifar10'}-{split}"
        # The images are about as big as the files: refuse a split over the cap before reading.
        check_data_bytes(sum(f.stat().st_size for f in files), f"{root} ({split} split)")
        parts = [_batch_arrays(_read_batch(f), f, key) for f in files]
    x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return Dataset(name=name, x=x, y=y, class_names=_class_names(meta, key), modality="image")
