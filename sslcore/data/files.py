"""User data on disk: one entry point that recognises the format, and the loader for each format.

Formats: ``.npz`` archives (:mod:`sslcore.data.npz`), ``.csv`` tables (:mod:`sslcore.data.tables`),
CIFAR-10/100 python batches (:mod:`sslcore.data.cifar`) and class-per-subfolder image folders
(:mod:`sslcore.data.folder`). Each loader checks sizes against the caps of
:mod:`sslcore.data.limits` before it allocates.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sslcore.data.cifar import find_cifar_dir, is_cifar_batch, load_cifar
from sslcore.data.dataset import Dataset
from sslcore.data.folder import load_image_folder
from sslcore.data.npz import load_npz
from sslcore.data.options import call_with_options
from sslcore.data.tables import load_csv
from sslcore.errors import DataError

__all__ = ["FORMATS_HELP", "load_cifar", "load_csv", "load_image_folder", "load_npz", "load_path"]

FORMATS_HELP = (
    "an .npz archive, a .csv table, a CIFAR-10/100 folder or batch file, or an image "
    "folder with one subfolder per class"
)


def load_path(path: str | Path, **options: Any) -> Dataset:
    """Loads a dataset from disk, choosing the loader from what ``path`` is.

    ``*.npz`` -> :func:`load_npz`; ``*.csv`` -> :func:`load_csv`; a CIFAR folder or batch file
    (``data_batch_1``, ``test``, ...) -> :func:`load_cifar`; any other folder ->
    :func:`load_image_folder`.

    Args:
        path: File or folder.
        **options: Keyword arguments of the chosen loader (e.g. ``size=32`` for an image folder).

    Raises:
        DataError: ``path`` is missing, of an unknown format, or its content is invalid.
        TypeError: An option the chosen loader does not take.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    suffix = path.suffix.lower()
    if path.is_file() and suffix == ".npz":
        loader = load_npz
    elif path.is_file() and suffix == ".csv":
        loader = load_csv
    elif is_cifar_batch(path) or (path.is_dir() and find_cifar_dir(path) is not None):
        loader = load_cifar
    elif path.is_dir():
        loader = load_image_folder
    else:
        raise DataError(f"{path}: cannot tell the format; expected {FORMATS_HELP}")
    return call_with_options(
        functools.partial(loader, path), options, f"{loader.__name__}({str(path)!r})"
    )
