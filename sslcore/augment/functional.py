"""torchvision's functional image ops on one float image ``(C, H, W)`` in [0, 1], for clarity.

These are the oracle's building blocks (ops.reference_augment_views composes them per view) and
the written definition of what the kernel computes. They follow torchvision.transforms.v2
.functional on float tensors; the differences from its uint8 path are listed in
sslcore/augment/__init__.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "gaussian_blur",
    "gaussian_kernel1d",
    "resized_crop",
    "rgb_to_grayscale",
    "solarize",
]

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale (ITU-R 601-2 luma)


def _blend(img: torch.Tensor, other: torch.Tensor | float, ratio: float) -> torch.Tensor:
    return (ratio * img + (1.0 - ratio) * other).clamp(0.0, 1.0)


def rgb_to_grayscale(img: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` → ``(1, H, W)`` luma; a 1-channel image is returned as it is."""
    if img.shape[0] == 1:
        return img
    r, g, b = img.unbind(0)
    return (GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b).unsqueeze(0)


def adjust_brightness(img: torch.Tensor, factor: float) -> torch.Tensor:
    """``clamp(factor · x)``: 0 gives black, 1 the image."""
    return _blend(img, 0.0, factor)


def adjust_contrast(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the image's mean luma: 0 gives a uniform gray image, 1 the image."""
    mean = rgb_to_grayscale(img).mean()
    return _blend(img, mean, factor)


def adjust_saturation(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the pixel's luma: 0 gives grayscale, 1 the image (1-channel: unchanged)."""
    if img.shape[0] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), factor)


def _rgb_to_hsv(img: torch.Tensor) -> torch.Tensor:
    r, g, b = img.unbind(0)
    maxc = torch.max(img, dim=0).values
    minc = torch.min(img, dim=0).values
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_divisor = torch.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc))


def _hsv_to_rgb(img: torch.Tensor) -> torch.Tensor:
    h, s, v = img.unbind(0)
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(torch.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    sector = i.unsqueeze(0) == torch.arange(6, device=i.device).view(-1, 1, 1)  # (6, H, W)
    table = torch.stack(
        (
            torch.stack((v, q, p, p, t, v)),
            torch.stack((t, v, v, q, p, p)),
            torch.stack((p, p, t, v, v, q)),
        )
    )  # (3, 6, H, W)
    return (table * sector.unsqueeze(0)).sum(dim=1)


def adjust_hue(img: torch.Tensor, shift: float) -> torch.Tensor:
    """Rotates the hue by `shift` turns (in [-0.5, 0.5]) in HSV space (1-channel: unchanged)."""
    if img.shape[0] == 1 or shift == 0.0:
        return img
    hsv = _rgb_to_hsv(img)
    hsv[0] = torch.remainder(hsv[0] + shift, 1.0)
    return _hsv_to_rgb(hsv)


def gaussian_kernel1d(kernel_size: int, sigma: float) -> torch.Tensor:
    """The normalised 1-D Gaussian of torchvision of `kernel_size` taps, float32."""
    half = (kernel_size - 1) * 0.5
    x = torch.linspace(-half, half, kernel_size, dtype=torch.float32)
    pdf = torch.exp(-0.5 * (x / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding, as torchvision's gaussian_blur."""
    if sigma <= 0 or kernel_size == 1:
        return img
    k = gaussian_kernel1d(kernel_size, sigma).to(img.device)
    c = img.shape[0]
    pad = kernel_size // 2
    x = F.pad(img.unsqueeze(0), (pad, pad, pad, pad), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, kernel_size), groups=c)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, kernel_size, 1), groups=c)
    return x.squeeze(0)


def solarize(img: torch.Tensor, threshold: float) -> torch.Tensor:
    """Inverts the pixels at or above `threshold`: ``x ≥ t → 1 − x``."""
    return torch.where(img >= threshold, 1.0 - img, img)


def resized_crop(
    img: torch.Tensor, top: int, left: int, height: int, width: int, size: tuple[int, int]
) -> torch.Tensor:
    """Crops the box and resizes it to `size`: bilinear, align_corners=False, antialias=True."""
    crop = img[:, top : top + height, left : left + width].unsqueeze(0)
    out = F.interpolate(crop, size=size, mode="bilinear", align_corners=False, antialias=True)
    return out.squeeze(0)
