"""Real datasets shipped inside scikit-learn (no download): digits images, wine and breast cancer.

The feature tables are standardised per feature (zero mean, unit variance, float32) because the
vector encoders expect inputs on one scale; the original units are in scikit-learn's docs.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn import datasets as skdatasets
from sklearn.preprocessing import StandardScaler

from sslcore.data.dataset import Dataset
from sslcore.data.resize import resize_images

__all__ = ["load_breast_cancer", "load_digits", "load_wine"]


def load_digits(size: int | None = None) -> Dataset:
    """UCI handwritten digits as shipped with scikit-learn: 1,797 grey images of 10 classes.

    The 8x8 images hold counts 0..16; they are rescaled to uint8 0..255 (``round(v * 255 / 16)``).

    Args:
        size: If given, resize to ``size x size`` (bilinear, antialiased).

    Returns:
        A Dataset "digits" with x ``(1797, 1, 8, 8)`` (or the given size) uint8.
    """
    bunch = skdatasets.load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    x = torch.from_numpy(images).unsqueeze(1)
    if size is not None:
        x = resize_images(x, size)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return Dataset(
        name="digits", x=x, y=y, class_names=[str(c) for c in bunch.target_names], modality="image"
    )


def _standardised_table(name: str, bunch: object) -> Dataset:
    x = StandardScaler().fit_transform(np.asarray(bunch.data, dtype=np.float64))
    return Dataset(
        name=name,
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(np.asarray(bunch.target, dtype=np.int64)),
        class_names=[str(c) for c in bunch.target_names],
        modality="vector",
        feature_names=[str(f) for f in bunch.feature_names],
    )


def load_wine() -> Dataset:
    """UCI wine recognition: 178 wines, 13 chemical features, 3 cultivars; standardised."""
    return _standardised_table("wine", skdatasets.load_wine())


def load_breast_cancer() -> Dataset:
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes; standardised."""
    return _standardised_table("breast_cancer", skdatasets.load_breast_cancer())
