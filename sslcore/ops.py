"""The one Python face of the compiled kernels, each with its pure-PyTorch reference beside it.

Every op here goes through torch.ops.sslcore (so device dispatch, fake tensors, opcheck and
torch.compile work) when the extension is built, and falls back to its reference otherwise
(see sslcore._ext). The references are the oracles the tests compare the kernels against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from sslcore._ext import extension_available, warn_fallback

__all__ = ["images_to_float", "reference_images_to_float"]

Floats = float | Sequence[float] | torch.Tensor | None

# Decided once at import: a constant, so torch.compile traces straight to the op.
_HAS_EXT = extension_available()


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise TypeError(f"images: expected dtype torch.uint8, got {images.dtype}")
    if images.dim() != 4:
        raise ValueError(
            f"images: expected a 4-D tensor of shape (N, C, H, W), got shape {tuple(images.shape)}"
        )
    if not 1 <= images.shape[1] <= 4:
        raise ValueError(f"images: expected 1 to 4 channels in dim 1, got {images.shape[1]}")


def _per_channel(values: Floats, default: float, channels: int, name: str) -> list[float]:
    """Expands None, a scalar or one value per channel into a list of `channels` floats."""
    if values is None:
        out = [default] * channels
    elif isinstance(values, int | float):
        out = [float(values)] * channels
    else:
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().flatten().tolist()
        out = [float(v) for v in values]
        if len(out) == 1:
            out = out * channels
    if len(out) != channels:
        raise ValueError(
            f"{name}: expected 1 or {channels} values (one per channel), got {len(out)}"
        )
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name}: expected finite values, got {out}")
    if name == "std" and not all(v > 0 for v in out):
        raise ValueError(f"std: expected positive values, got {out}")
    return out


def images_to_float(
    images: torch.Tensor,
    mean: Floats = None,
    std: Floats = None,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Converts uint8 images to normalised float32 in one fused pass: ``(x / 255 - mean) / std``.

    This is what data loading does to every batch; fusing the cast, scale and normalisation reads
    the bytes once and writes the floats once, with no intermediate float tensor.

    Args:
        images: ``(N, C, H, W)`` uint8, C in 1..4, any strides (channels-last needs no copy).
        mean: per-channel mean in [0, 1] units (a scalar, or C values); default 0.
        std: per-channel standard deviation (positive; a scalar, or C values); default 1.
        out: optional ``(N, C, H, W)`` float32 contiguous buffer on the same device to write into
            (reusing one buffer across batches avoids the page faults of fresh memory).

    Returns:
        ``(N, C, H, W)`` float32, contiguous, on the device of ``images`` (``out`` if given).
    """
    _check_images(images)
    channels = images.shape[1]
    mean_list = _per_channel(mean, 0.0, channels, "mean")
    std_list = _per_channel(std, 1.0, channels, "std")
    if out is not None:
        _check_out(images, out)
    if _HAS_EXT:
        if out is None:
            return torch.ops.sslcore.images_to_float(images, mean_list, std_list)
        torch.ops.sslcore.images_to_float_into(images, mean_list, std_list, out)
        return out
    warn_fallback()
    result = reference_images_to_float(images, mean_list, std_list)
    return result if out is None else out.copy_(result)


def _check_out(images: torch.Tensor, out: torch.Tensor) -> None:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"out: expected a torch.Tensor, got {type(out).__name__}")
    if out.dtype != torch.float32:
        raise TypeError(f"out: expected dtype torch.float32, got {out.dtype}")
    if out.shape != images.shape:
        raise ValueError(
            f"out: expected shape {tuple(images.shape)} (that of images), got {tuple(out.shape)}"
        )
    if out.device != images.device:
        raise ValueError(f"out: expected a tensor on {images.device}, got one on {out.device}")
    if not out.is_contiguous():
        raise ValueError("out: expected a contiguous tensor")


def reference_images_to_float(
    images: torch.Tensor, mean: Floats = None, std: Floats = None
) -> torch.Tensor:
    """Pure-PyTorch :func:`images_to_float`, written for clarity; the kernel's oracle."""
    _check_images(images)
    channels = images.shape[1]
    mean_t = torch.tensor(_per_channel(mean, 0.0, channels, "mean"), device=images.device)
    std_t = torch.tensor(_per_channel(std, 1.0, channels, "std"), device=images.device)
    x = images.float() / 255.0  # (N, C, H, W) in [0, 1]
    return ((x - mean_t.view(1, -1, 1, 1)) / std_t.view(1, -1, 1, 1)).contiguous()


if _HAS_EXT:

    @torch.library.register_fake("sslcore::images_to_float")
    def _images_to_float_fake(images, mean, std):
        torch._check(images.dim() == 4, lambda: "images: expected a 4-D tensor (N, C, H, W)")
        return images.new_empty(images.shape, dtype=torch.float32)

    @torch.library.register_fake("sslcore::images_to_float_into")
    def _images_to_float_into_fake(images, mean, std, out):  # mutates out only, returns nothing
        return None
