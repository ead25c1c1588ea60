"""Argument checks of the image ops' Python face, with the meaning of the kernels' own checks.

The kernels check everything again (csrc/augment/augment_args.h, csrc/common/checks.h): these
checks give the same refusals, with ViewParams' field names, before any tensor work, and keep the
pure-PyTorch fallback as strict as the extension. Integer fields are compared without sums that
could overflow int64 (``top <= H - height``, never ``top + height <= H``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from sslcore.augment.params import ViewParams

__all__ = ["MAX_SIDE", "check_augment_inputs", "check_normalisation"]

# Largest image side, output side and blur kernel of augment_views: the kernels keep these in
# int32 (csrc/augment/augment_args.h, kMaxSide); no real image comes near.
MAX_SIDE = 2**31 - 1

# Normalised values must stay below half of float32's largest value (room for the rounding of
# the folded scale and shift).
_FLOAT32_LIMIT = 0.5 * float(torch.finfo(torch.float32).max)

# dtype of each ViewParams tensor, as the kernel's schema expects it.
_PARAM_DTYPES = {
    "source": torch.int64,
    "crop": torch.int64,
    "flip": torch.bool,
    "jitter": torch.bool,
    "factors": torch.float32,
    "order": torch.int64,
    "grayscale": torch.bool,
    "blur_sigma": torch.float32,
    "solarize": torch.bool,
}


def check_normalisation(mean: Sequence[float], std: Sequence[float], name: str = "std") -> None:
    """Refuses a std whose normalisation would overflow float32 (``std=1e-45`` gives inf, NaN).

    ``(x - mean) / std`` for x in [0, 1] reaches ``max(|mean|, |1 - mean|) / std``; that must stay
    below half of float32's largest value, as the kernels require. `mean` and `std` are finite
    and std positive (checked before).
    """
    for c, (m, s) in enumerate(zip(mean, std, strict=True)):
        reach = max(abs(m), abs(1.0 - m))
        if reach / s > _FLOAT32_LIMIT:
            raise ValueError(
                f"{name}: {s} for channel {c} would overflow float32 (|x - mean| / std reaches "
                f"{reach / s:.3g}); expected std >= {reach / _FLOAT32_LIMIT:.3g} with mean {m}"
            )


def _check_images(images: torch.Tensor) -> tuple[int, int, int, int]:
    """Checks the batch of augment_views; returns its (N, C, H, W)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if images.dtype not in (torch.uint8, torch.float32):
        raise TypeError(f"images: expected dtype torch.uint8 or torch.float32, got {images.dtype}")
    if images.dim() != 4:
        raise ValueError(
            f"images: expected a 4-D tensor of shape (N, C, H, W), got shape {tuple(images.shape)}"
        )
    n, c, height, width = images.shape
    if c not in (1, 3):
        raise ValueError(f"images: expected 1 or 3 channels in dim 1, got {c}")
    if height > MAX_SIDE or width > MAX_SIDE:
        raise ValueError(
            f"images: expected H and W of at most {MAX_SIDE}, got shape {tuple(images.shape)}"
        )
    if images.dtype == torch.float32 and images.numel() and not torch.isfinite(images).all():
        raise ValueError("images: expected finite values, found NaN or inf")
    return n, c, height, width


def _check_tensors(params: ViewParams, device: torch.device) -> None:
    """Every per-view tensor: its dtype, on `device`, one row per view."""
    v = len(params)
    for name in params.TENSOR_FIELDS:
        t = getattr(params, name)
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"params.{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.dtype != _PARAM_DTYPES[name]:
            raise TypeError(f"params.{name}: expected dtype {_PARAM_DTYPES[name]}, got {t.dtype}")
        if t.device != device:
            raise ValueError(
                f"params.{name}: expected a tensor on {device} (that of images), got one on "
                f"{t.device}"
            )
        rows = t.shape[0] if t.dim() else "a 0-d tensor"
        if rows != v:
            raise ValueError(f"params.{name}: expected {v} rows (one per view), got {rows}")


def _as_int(value: object, name: str) -> int:
    """`value` as a Python int (ints, numpy and torch integers), else a TypeError naming it."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {value!r}") from None


def _check_settings(params: ViewParams, channels: int) -> None:
    """The shared settings: size, blur_kernel_size, mean and std."""
    if len(params.size) != 2:
        raise ValueError(f"params.size: expected (h, w), got {params.size!r}")
    h, w = (_as_int(s, "params.size") for s in params.size)
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ValueError(
            f"params.size: expected an output size of at least 1x1 and at most "
            f"{MAX_SIDE}x{MAX_SIDE}, got {h}x{w}"
        )
    k = _as_int(params.blur_kernel_size, "params.blur_kernel_size")
    if not (1 <= k <= MAX_SIDE and k % 2 == 1):
        raise ValueError(
            f"params.blur_kernel_size: expected an odd int in [1, {MAX_SIDE}], got {k}"
        )
    if k // 2 >= min(h, w):
        raise ValueError(
            f"params.blur_kernel_size: {k} taps need an output side of at least {k // 2 + 1} "
            f"for reflect padding, got size {h}x{w}"
        )
    if (params.mean is None) != (params.std is None):
        raise ValueError("params.mean, params.std: give both or neither")
    if params.mean is None:
        return
    mean, std = [float(m) for m in params.mean], [float(s) for s in params.std]
    if len(mean) != channels or len(std) != channels:
        raise ValueError(
            f"params.mean: expected {channels} values for {channels}-channel images, got "
            f"{len(mean)} (and {len(std)} for std)"
        )
    if not all(math.isfinite(m) for m in mean):
        raise ValueError(f"params.mean: expected finite values, got {mean}")
    if not all(math.isfinite(s) and s > 0 for s in std):
        raise ValueError(f"params.std: expected finite positive values, got {std}")
    check_normalisation(mean, std, "params.std")


def _fail(name: str, bad: torch.Tensor, what: str) -> None:
    """Raises for the first view flagged in `bad` (V,), naming the field and the view."""
    if bool(bad.any()):
        view = int(bad.nonzero()[0, 0])
        raise ValueError(f"params.{name}: view {view} {what}")


def _check_rows(params: ViewParams, n: int, height: int, width: int) -> None:
    """The values of every view's row, overflow-free."""
    source = params.source
    _fail("source", (source < 0) | (source >= n), f"refers to an image outside the batch of {n}")
    top, left, ch, cw = params.crop.unbind(1)
    # Each side inside its image side, without top + ch (which wraps around in int64): a row
    # failing a range test is flagged whatever the wrapped differences hold, and for a row
    # passing them height - ch and width - cw are exact.
    outside = (top < 0) | (left < 0) | (ch < 1) | (cw < 1) | (ch > height) | (cw > width)
    outside |= (top > height - ch) | (left > width - cw)
    _fail("crop", outside, f"has a box outside the {height}x{width} image")
    f = params.factors
    _fail("factors", ~torch.isfinite(f).all(1), "has a NaN or infinite factor")
    _fail(
        "factors",
        (f[:, :3] < 0).any(1) | (f[:, 3].abs() > 0.5),
        "expects brightness, contrast, saturation >= 0 and hue in [-0.5, 0.5]",
    )
    _fail(
        "order",
        (params.order.sort(1).values != torch.arange(4, device=f.device)).any(1),
        "is not a permutation of 0..3",
    )
    sigma = params.blur_sigma
    _fail("blur_sigma", ~torch.isfinite(sigma) | (sigma < 0), "is NaN, infinite or negative")


def check_augment_inputs(images: torch.Tensor, params: ViewParams) -> None:
    """Checks images and every field of params, naming the argument, the view and the field."""
    from sslcore.augment.params import ViewParams

    n, c, height, width = _check_images(images)
    if not isinstance(params, ViewParams):
        raise TypeError(f"params: expected ViewParams, got {type(params).__name__}")
    _check_tensors(params, images.device)
    _check_settings(params, c)
    if len(params):
        _check_rows(params, n, height, width)
