"""The pure-PyTorch and kornia contenders that sslcore.ops.augment_views is measured against.

`torch_batched_views` is the fastest batched eager-PyTorch form we know of the SimCLR view pipeline
for given per-view params; `kornia_pipeline` is the same recipe as a user would write it with
kornia.augmentation (kornia samples its own params). Both take float images in [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from sslcore.augment.kornia_recipe import kornia_pipeline as _kornia_recipe

__all__ = ["kornia_pipeline", "torch_batched_views"]

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale (ITU-R 601-2 luma)
_BRIGHTNESS, _CONTRAST, _SATURATION, _HUE = range(4)  # the indices used in params.order
_HSV_OFFSETS = (5.0, 3.0, 1.0)  # k = (n + 6·hue) mod 6 with n = 5, 3, 1 gives R, G, B


def torch_batched_views(images: torch.Tensor, params: Any, blur: str = "matmul") -> torch.Tensor:
    """Applies per-view params to a uint8 batch with batched eager PyTorch (no per-view loop).

    The same semantics as ops.augment_views (torchvision's functional ops on float images in
    [0, 1]) with one accepted difference: crop + resize + flip is one ``F.grid_sample`` (bilinear,
    align_corners=False) on a grid clamped into each crop, and grid_sample has no antialias. It
    matches ``F.interpolate(..., antialias=True)`` of the crop wherever the crop is upscaled (to
    about 1.3e-7 × the side: grid_sample unnormalises the coordinate in float32) and differs where
    it is shrunk. The grid is built from per-view column and row coordinates, not
    ``F.affine_grid``: the same affine map for an axis-aligned box, but clamped to the crop (no
    pixel outside it leaks in, as in crop-then-resize) and written in one pass instead of a matmul.

    Colour jitter runs in each view's own order: at each of the 4 positions, the brightness,
    contrast and saturation views are one broadcast ``clamp(a·x + β·mean + γ·luma)`` over the
    whole batch (a = 1, β = γ = 0 leaves a view exactly unchanged), and the hue views are gathered,
    rotated through a vectorised HSV round trip and scattered back. Grayscale, blur and solarize
    gather only their views. The 1/255 of the uint8 input is folded into the first jitter step.

    Args:
        images: ``(N, 3, H, W)`` uint8 source images.
        params: sslcore.augment.ViewParams or anything with its attributes: per-view tensors
            ``source (V,)``, ``crop (V, 4)``, ``flip``, ``jitter``, ``factors (V, 4)``,
            ``order (V, 4)``, ``grayscale``, ``blur_sigma``, ``solarize``, and ``size``,
            ``blur_kernel_size``; optional ``solarize_threshold`` (0.5), ``mean``, ``std``.
        blur: ``"matmul"`` (banded per-view matrices, the fastest here) or ``"conv"`` (grouped
            conv2d with per-view kernels); see `_blur`.

    Returns:
        ``(V, 3, h, w)`` float32 views in [0, 1] (normalised when params has mean and std).
    """
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"images: expected (N, 3, H, W) uint8, got {images.dtype} {tuple(images.shape)}"
        )
    if not len(params.source):
        return torch.empty(0, 3, *params.size, device=images.device)
    x = _resized_crops(images, params)  # (V, 3, h, w), 255 × the view: 1/255 is folded below
    _color_jitter_(x, params.factors, params.order, params.jitter, prescale=1.0 / 255.0)
    _grayscale_(x, params.grayscale)
    x = _blur(x, params.blur_sigma, params.blur_kernel_size, blur)
    _solarize_(x, params.solarize, getattr(params, "solarize_threshold", 0.5))
    mean, std = getattr(params, "mean", None), getattr(params, "std", None)
    if mean is not None and std is not None:
        x.sub_(torch.tensor(mean, device=x.device).view(1, -1, 1, 1))
        x.div_(torch.tensor(std, device=x.device).view(1, -1, 1, 1))
    return x


def _resized_crops(images: torch.Tensor, params: Any) -> torch.Tensor:
    """Crop, flip and resize every view with one grid_sample: ``(V, 3, h, w)`` in [0, 255]."""
    h, w = params.size
    height, width = images.shape[-2:]
    top, left, crop_h, crop_w = params.crop.to(torch.float64).unbind(1)  # (V,) each

    def source_coordinates(start, extent, out, full):  # (V,), (V,), int, int -> (V, out)
        # Output pixel j samples the crop at (j + 0.5)·extent/out − 0.5 (align_corners=False),
        # clamped into the crop as interpolate clamps it, then normalised for grid_sample.
        j = torch.arange(out, dtype=torch.float64, device=images.device) + 0.5
        inside = (j * (extent / out).unsqueeze(1) - 0.5).clamp_(min=0)
        inside = torch.minimum(inside, (extent - 1).unsqueeze(1))
        return ((start.unsqueeze(1) + inside) * 2 + 1).div_(full).sub_(1).float()

    gx = source_coordinates(left, crop_w, w, width)  # (V, w)
    gx = torch.where(params.flip.unsqueeze(1), gx.flip(1), gx)
    gy = source_coordinates(top, crop_h, h, height)  # (V, h)
    v = gx.shape[0]
    grid = torch.stack((gx.view(v, 1, w).expand(v, h, w), gy.view(v, h, 1).expand(v, h, w)), dim=-1)
    source = images.index_select(0, params.source).float()  # (V, 3, H, W): uint8 gather, one cast
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """``(V, 3, h, w)`` → ``(V, 1, h, w)`` luma, as one batched matmul (faster than 3 adds here)."""
    weights = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 1, 3)
    return torch.matmul(weights, x.view(x.shape[0], 3, -1)).view(x.shape[0], 1, *x.shape[2:])


def _color_jitter_(
    x: torch.Tensor,
    factors: torch.Tensor,
    order: torch.Tensor,
    jitter: torch.Tensor,
    prescale: float = 1.0,
) -> None:
    """ColorJitter as torchvision defines it, with each view's own factors and order, in place.

    `prescale` multiplies x first (folded into the first position's linear step, so the 1/255
    of the uint8 input costs no pass of its own).
    """
    v = x.shape[0]
    at = factors.gather(1, order)  # (V, 4): the factor of the op at each position
    on = jitter.unsqueeze(1)
    a = torch.where(on & (order != _HUE), at, 1.0)  # multiplies x
    beta = torch.where(on & (order == _CONTRAST), 1.0 - at, 0.0)  # multiplies the mean luma
    gamma = torch.where(on & (order == _SATURATION), 1.0 - at, 0.0)  # multiplies the pixel luma
    hue = torch.where(on & (order == _HUE), at, 0.0)
    a[:, 0] *= prescale
    for p in range(4):
        ap = a[:, p].view(v, 1, 1, 1)
        needs_luma = bool(beta[:, p].any() or gamma[:, p].any())
        if needs_luma:
            luma = _luma(x)  # (V, 1, h, w), of the unscaled x at p = 0
            mean = luma.mean(dim=(2, 3), keepdim=True)  # (V, 1, 1, 1)
            scale = prescale if p == 0 else 1.0
            offset = torch.addcmul(
                (beta[:, p] * scale).view(v, 1, 1, 1) * mean,
                luma,
                (gamma[:, p] * scale).view(v, 1, 1, 1),
            )  # (V, 1, h, w): β·mean + γ·luma
            torch.addcmul(offset, x, ap, out=x)
        else:
            x.mul_(ap)
        x.clamp_(0.0, 1.0)
        rotate = hue[:, p].nonzero().squeeze(1)
        if rotate.numel():
            x.index_copy_(0, rotate, _adjust_hue(x.index_select(0, rotate), hue[rotate, p]))


def _adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotates the hue of ``(n, 3, h, w)`` (overwritten) by `shift` ``(n,)`` turns, via HSV.

    With chroma c = max − min, torchvision's HSV → RGB equals channel_n = max − c·clamp(min(k,
    4 − k), 0, 1) for k = (n + 6·hue) mod 6, n = 5, 3, 1 (the closed form of its six sectors),
    written here as min + c·(clamp(|k − 2|, 1, 2) − 1) so that every step is one batched op.
    """
    n = x.shape[0]
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]  # (n, 1, h, w) each
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    chroma = maxc - minc
    # Hue in sixths of a turn, times c: g − b if r is the max, 2c + b − r if g, 4c + r − g if b
    # (ties pick r, then g, as torchvision). Where c = 0 the numerator is 0 and so is the hue.
    hue6 = torch.where(
        r == maxc,
        g - b,
        torch.where(g == maxc, (b - r).add_(chroma, alpha=2), (r - g).add_(chroma, alpha=4)),
    )
    hue6.div_(chroma.clamp(min=torch.finfo(x.dtype).tiny)).add_((6.0 * shift).view(n, 1, 1, 1))
    offsets = torch.tensor(_HSV_OFFSETS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    k = torch.add(hue6, offsets, out=x).remainder_(6.0)  # (n, 3, h, w), x is no longer needed
    k.sub_(2.0).abs_().clamp_(1.0, 2.0)
    return torch.addcmul(minc.sub_(chroma), chroma, k, out=k)


def _grayscale_(x: torch.Tensor, grayscale: torch.Tensor) -> None:
    """Replaces the grayscale views by their luma on all 3 channels, in place."""
    rows = grayscale.nonzero().squeeze(1)
    if rows.numel():
        x.index_copy_(0, rows, _luma(x.index_select(0, rows)).expand(-1, 3, -1, -1))


def gaussian_kernels(sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Normalised 1-D Gaussians as torchvision's, one per sigma: ``(n,)`` → ``(n, kernel_size)``."""
    half = (kernel_size - 1) * 0.5
    taps = torch.linspace(-half, half, kernel_size, dtype=torch.float32, device=sigma.device)
    pdf = torch.exp(-0.5 * (taps / sigma.unsqueeze(1)) ** 2)
    return pdf / pdf.sum(dim=1, keepdim=True)


def _blur(x: torch.Tensor, sigma: torch.Tensor, kernel_size: int, method: str) -> torch.Tensor:
    """Separable Gaussian blur (reflect padding) of the views with sigma > 0, in place on x.

    ``"matmul"``: each axis is one batched matmul with a per-view banded matrix that holds the
    kernel and the reflect padding; it does (h + w)/K times the multiply-adds of a convolution but
    runs at BLAS speed, and was the fastest here at every size (1.0-2.4× the grouped conv on 2
    cores). ``"conv"``: grouped conv2d, one group per (view, channel), on reflect-padded input.
    """
    rows = (sigma > 0).nonzero().squeeze(1)
    if not rows.numel() or kernel_size == 1:
        return x
    n, c, h, w = rows.numel(), x.shape[1], x.shape[2], x.shape[3]
    kernels = gaussian_kernels(sigma[rows], kernel_size)  # (n, K)
    views = x.index_select(0, rows)  # (n, c, h, w)
    if method == "matmul":
        # Two transposed products: columns, then rows; the result is (n, h, w, c), channels-last,
        # and index_copy_ writes it back as (n, c, h, w) in the copy it makes anyway.
        cols = torch.matmul(_reflect_band(kernels, w), views.view(n, c * h, w).transpose(1, 2))
        out = torch.matmul(_reflect_band(kernels, h), cols.view(n, w * c, h).transpose(1, 2))
        return x.index_copy_(0, rows, out.view(n, h, w, c).permute(0, 3, 1, 2))
    if method != "conv":
        raise ValueError(f"blur: expected 'matmul' or 'conv', got {method!r}")
    r = kernel_size // 2
    weight = kernels.repeat_interleave(c, dim=0)  # (n·c, K)
    padded = F.pad(views, (r, r, r, r), mode="reflect").view(1, n * c, h + 2 * r, w + 2 * r)
    out = F.conv2d(padded, weight.view(n * c, 1, 1, kernel_size), groups=n * c)
    out = F.conv2d(out, weight.view(n * c, 1, kernel_size, 1), groups=n * c)
    return x.index_copy_(0, rows, out.view(n, c, h, w))


def _reflect_band(kernels: torch.Tensor, size: int) -> torch.Tensor:
    """The 1-D blurs along an axis of `size` pixels as matrices, reflect padding folded in.

    ``(n, K)`` kernels → ``(n, size, size)``: ``B[i, m] = Σ_t k[t]·[reflect(i + t − K//2) = m]``.
    """
    n, taps = kernels.shape
    r = taps // 2
    offsets = torch.arange(-r, r + 1, device=kernels.device)
    source = (torch.arange(size, device=kernels.device).view(size, 1) + offsets).abs()  # (size, K)
    source = torch.where(source > size - 1, 2 * (size - 1) - source, source)  # needs r < size
    band = kernels.new_zeros(n, size, size)
    return band.scatter_add_(
        2, source.expand(n, size, taps), kernels.view(n, 1, taps).expand(n, size, taps)
    )


def _solarize_(x: torch.Tensor, solarize: torch.Tensor, threshold: float) -> None:
    """``x ≥ threshold → 1 − x`` on the solarized views, in place."""
    rows = solarize.nonzero().squeeze(1)
    if rows.numel():
        views = x.index_select(0, rows)
        x.index_copy_(0, rows, torch.where(views >= threshold, 1.0 - views, views))


def kornia_pipeline(size: tuple[int, int], spec: Any) -> torch.nn.Module:
    """The recipe in kornia.augmentation at output `size` (sslcore.augment.kornia_recipe)."""
    return _kornia_recipe(spec, size=size)
