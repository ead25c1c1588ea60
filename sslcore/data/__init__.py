"""Datasets: embedded ones, loaders for user data on disk, and source/target splits.

The embedded datasets are generated (shapes) or shipped inside scikit-learn (digits, wine, breast
cancer); user data can be image folders, CIFAR batches, ``.npz`` or ``.csv`` files.

Nothing here downloads: ``load_dataset("shapes")`` generates, ``load_dataset("digits")`` reads
scikit-learn's bundled copy, ``load_dataset("/path/to/data")`` reads the user's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sslcore.data.cifar import load_cifar
from sslcore.data.dataset import MODALITIES, Dataset
from sslcore.data.embedded import load_breast_cancer, load_digits, load_wine
from sslcore.data.files import FORMATS_HELP, load_path
from sslcore.data.folder import load_image_folder
from sslcore.data.npz import load_npz
from sslcore.data.options import call_with_options
from sslcore.data.registry import DATASETS, dataset_names, validate_options
from sslcore.data.shapes import (
    SHAPE_NAMES,
    ShapeParams,
    make_shapes,
    render_shapes,
    sample_shape_params,
    shape_coverage,
)
from sslcore.data.splits import (
    LABEL_FRACTIONS,
    InDomainSplit,
    SourceTargetSplit,
    label_count,
    label_indices,
    label_subset,
    protocol_split,
    split_in_domain,
    split_source_target,
)
from sslcore.data.tables import load_csv

__all__ = [
    "DATASETS",
    "LABEL_FRACTIONS",
    "MODALITIES",
    "SHAPE_NAMES",
    "Dataset",
    "InDomainSplit",
    "ShapeParams",
    "SourceTargetSplit",
    "dataset_names",
    "label_count",
    "label_indices",
    "label_subset",
    "load_breast_cancer",
    "load_cifar",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_npz",
    "load_path",
    "load_wine",
    "make_shapes",
    "protocol_split",
    "render_shapes",
    "sample_shape_params",
    "shape_coverage",
    "split_in_domain",
    "split_source_target",
    "validate_options",
]


def load_dataset(name_or_path: str | Path, **options: Any) -> Dataset:
    """Loads an embedded dataset by name, or user data from a path.

    Args:
        name_or_path: A key of :data:`DATASETS` (``"shapes"``, ``"digits"``, ...) or an existing
            file or folder (see :func:`load_path`).
        **options: Keyword arguments of the chosen loader (``n``, ``size``, ``seed`` for shapes;
            ``size`` for digits and image folders; ``split``, ``label`` for CIFAR; ...). Those
            of an embedded dataset are checked by :func:`validate_options` first.

    Raises:
        ValueError: Neither a known name nor an existing path, or an option out of its range.
        TypeError: An option the chosen loader does not accept (the message lists those it does),
            or one of the wrong type.
        DataError: The files at the path are missing pieces or invalid, or the data would be
            larger than the caps of :mod:`sslcore.data.limits`.
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        validate_options(name_or_path, options)
        return call_with_options(DATASETS[name_or_path], options, f"dataset {name_or_path!r}")
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"name_or_path must be a str or a Path, got {type(name_or_path).__name__}")
    if Path(name_or_path).exists():
        return load_path(name_or_path, **options)
    raise ValueError(
        f"unknown dataset {str(name_or_path)!r}; expected one of "
        f"{', '.join(DATASETS)} or a path to {FORMATS_HELP}"
    )
