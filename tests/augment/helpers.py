"""Building params by hand for tests: one op at a time, or exactly the values a test needs."""

from __future__ import annotations

import torch

from sslcore.augment import ViewParams


def identity_params(
    n_images: int, height: int, width: int, size=None, views: int = 1, **overrides
) -> ViewParams:
    """Params that crop the whole image and change nothing; overrides set single fields."""
    v = n_images * views
    size = size or (height, width)
    fields = dict(
        source=torch.arange(n_images).repeat(views),
        crop=torch.tensor([[0, 0, height, width]]).repeat(v, 1),
        flip=torch.zeros(v, dtype=torch.bool),
        jitter=torch.zeros(v, dtype=torch.bool),
        factors=torch.tensor([[1.0, 1.0, 1.0, 0.0]]).repeat(v, 1),
        order=torch.arange(4).repeat(v, 1),
        grayscale=torch.zeros(v, dtype=torch.bool),
        blur_sigma=torch.zeros(v),
        solarize=torch.zeros(v, dtype=torch.bool),
        size=tuple(size),
        blur_kernel_size=3,
    )
    fields.update(overrides)
    return ViewParams(**fields)


def jitter_only(n: int, height: int, width: int, op: int, factor: float) -> ViewParams:
    """Jitter with one op (index into JITTER_OPS) at `factor`, the others at identity."""
    factors = torch.tensor([[1.0, 1.0, 1.0, 0.0]]).repeat(n, 1)
    factors[:, op] = factor
    return identity_params(
        n, height, width, jitter=torch.ones(n, dtype=torch.bool), factors=factors
    )
