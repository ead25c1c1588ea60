"""Image ops: uint8 to float and the batched view augmentation, each beside its reference."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from sslcore._ext import extension_available, warn_fallback
from sslcore.ops.checks import check_augment_inputs, check_normalisation

if TYPE_CHECKING:
    from sslcore.augment.params import ViewParams

__all__ = [
    "augment_views",
    "images_to_float",
    "reference_augment_views",
    "reference_images_to_float",
]

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

    Raises:
        ValueError: a std whose normalisation would overflow float32 (``std=1e-45``), among the
            other bad arguments, each named.
    """
    _check_images(images)
    channels = images.shape[1]
    mean_list = _per_channel(mean, 0.0, channels, "mean")
    std_list = _per_channel(std, 1.0, channels, "std")
    check_normalisation(mean_list, std_list)
    if out is not None:
        _check_out(tuple(images.shape), images.device, out)
    if _HAS_EXT:
        if out is None:
            return torch.ops.sslcore.images_to_float(images, mean_list, std_list)
        torch.ops.sslcore.images_to_float_into(images, mean_list, std_list, out)
        return out
    warn_fallback()
    result = reference_images_to_float(images, mean_list, std_list)
    return result if out is None else out.copy_(result)


def _check_out(shape: tuple[int, ...], device: torch.device, out: torch.Tensor) -> None:
    """Checks a caller's output buffer: float32, contiguous, `shape`, on `device`."""
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"out: expected a torch.Tensor, got {type(out).__name__}")
    if out.dtype != torch.float32:
        raise TypeError(f"out: expected dtype torch.float32, got {out.dtype}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"out: expected shape {tuple(shape)}, got {tuple(out.shape)}")
    if out.device != device:
        raise ValueError(f"out: expected a tensor on {device}, got one on {out.device}")
    if not out.is_contiguous():
        raise ValueError("out: expected a contiguous tensor")


def reference_images_to_float(
    images: torch.Tensor, mean: Floats = None, std: Floats = None
) -> torch.Tensor:
    """Pure-PyTorch :func:`images_to_float`, written for clarity; the kernel's oracle."""
    _check_images(images)
    channels = images.shape[1]
    mean_list = _per_channel(mean, 0.0, channels, "mean")
    std_list = _per_channel(std, 1.0, channels, "std")
    check_normalisation(mean_list, std_list)
    mean_t = torch.tensor(mean_list, device=images.device)
    std_t = torch.tensor(std_list, device=images.device)
    x = images.float() / 255.0  # (N, C, H, W) in [0, 1]
    return ((x - mean_t.view(1, -1, 1, 1)) / std_t.view(1, -1, 1, 1)).contiguous()


def _augment_args(images: torch.Tensor, params: ViewParams) -> tuple:
    """The arguments of torch.ops.sslcore.augment_views, in its schema's order (no checks)."""
    mean = list(params.mean) if params.mean is not None else []
    std = list(params.std) if params.std is not None else []
    return (
        images, params.source, params.crop, params.flip, params.jitter, params.factors,
        params.order, params.grayscale, params.blur_sigma, params.solarize, list(params.size),
        params.blur_kernel_size, float(params.solarize_threshold), mean, std,
    )  # fmt: skip


def augment_views(
    images: torch.Tensor, params: ViewParams, *, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Builds V views of a batch in one fused pass, one row of `params` per view.

    Each view: crop + resize (antialiased bilinear), flip, colour jitter in the view's order,
    grayscale, Gaussian blur, solarize, optional normalisation — torchvision's definitions on
    float images in [0, 1] (sslcore.augment.functional; differences in sslcore.augment).

    Args:
        images: ``(N, C, H, W)`` uint8 (0..255) or float32 (0..1), C = 1 or 3, any strides.
        params: ViewParams with V rows on the device of `images` (sslcore.augment).
        out: optional ``(V, C, h, w)`` float32 contiguous buffer on the same device to write
            into (reusing one across batches avoids the page faults of fresh memory).

    Returns:
        ``(V, C, h, w)`` float32 views, ``(h, w) = params.size`` (``out`` if given).

    Raises:
        TypeError, ValueError: a bad argument, naming it (and the view and field of `params`).
            The CPU kernel also refuses a view needing more than 2 GiB of working memory (about
            a full crop of 170 megapixels), before allocating anything.
    """
    check_augment_inputs(images, params)
    if out is not None:
        _check_out((len(params), images.shape[1], *params.size), images.device, out)
    args = _augment_args(images, params)
    if _HAS_EXT:
        if out is None:
            return torch.ops.sslcore.augment_views(*args)
        torch.ops.sslcore.augment_views_into(*args, out)
        return out
    warn_fallback()
    result = reference_augment_views(images, params)
    return result if out is None else out.copy_(result)


def reference_augment_views(images: torch.Tensor, params: ViewParams) -> torch.Tensor:
    """Pure-PyTorch :func:`augment_views`, one view at a time, for clarity: the oracle."""
    from sslcore.augment import functional as TF
    from sslcore.augment.params import JITTER_OPS

    check_augment_inputs(images, params)
    jitter_fns = {
        "brightness": TF.adjust_brightness,
        "contrast": TF.adjust_contrast,
        "saturation": TF.adjust_saturation,
        "hue": TF.adjust_hue,
    }
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    views = []
    for row in range(len(params)):
        top, left, height, width = (int(t) for t in params.crop[row])
        view = TF.resized_crop(x[int(params.source[row])], top, left, height, width, params.size)
        if params.flip[row]:
            view = view.flip(-1)
        if params.jitter[row]:
            for op in params.order[row].tolist():
                view = jitter_fns[JITTER_OPS[op]](view, float(params.factors[row, op]))
        if params.grayscale[row]:
            view = TF.rgb_to_grayscale(view).expand_as(view)
        view = TF.gaussian_blur(view, params.blur_kernel_size, float(params.blur_sigma[row]))
        if params.solarize[row]:
            view = TF.solarize(view, params.solarize_threshold)
        if params.mean is not None:
            mean = torch.tensor(params.mean, device=view.device).view(-1, 1, 1)
            std = torch.tensor(params.std, device=view.device).view(-1, 1, 1)
            view = (view - mean) / std
        views.append(view)
    if not views:
        return x.new_empty((0, x.shape[1], *params.size))
    return torch.stack(views).contiguous()


if _HAS_EXT:

    @torch.library.register_fake("sslcore::images_to_float")
    def _images_to_float_fake(images, mean, std):
        torch._check(images.dim() == 4, lambda: "images: expected a 4-D tensor (N, C, H, W)")
        return images.new_empty(images.shape, dtype=torch.float32)

    @torch.library.register_fake("sslcore::augment_views")
    def _augment_views_fake(
        images,
        source,
        crop,
        flip,
        jitter,
        factors,
        order,
        grayscale,
        blur_sigma,
        solarize,
        size,
        blur_kernel_size,
        solarize_threshold,
        mean,
        std,
    ):  # shape and dtype only
        return images.new_empty(
            (source.shape[0], images.shape[1], size[0], size[1]), dtype=torch.float32
        )

    @torch.library.register_fake("sslcore::augment_views_into")
    def _augment_views_into_fake(*args):  # mutates out only, returns nothing
        return None

    @torch.library.register_fake("sslcore::images_to_float_into")
    def _images_to_float_into_fake(images, mean, std, out):  # mutates out only, returns nothing
        return None
