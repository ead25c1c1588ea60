"""Resizing of uint8 image batches, shared by every image loader."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["resize_images", "size_pair"]


def resize_images(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resizes uint8 images with bilinear interpolation and antialiasing.

    Args:
        x: Images ``(N, C, H, W)`` uint8.
        size: Output side, or ``(height, width)``; every side ``>= 1``.

    Returns:
        Images ``(N, C, size_h, size_w)`` uint8.
    """
    hw = size_pair(size)
    if x.dim() != 4 or x.dtype != torch.uint8:
        raise ValueError(
            f"resize_images: x must be uint8 (N, C, H, W), got {x.dtype} {tuple(x.shape)}"
        )
    if tuple(x.shape[2:]) == hw:
        return x.clone()
    if x.shape[0] == 0:
        return x.new_empty(0, x.shape[1], *hw)
    out = F.interpolate(x.float(), size=hw, mode="bilinear", align_corners=False, antialias=True)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def size_pair(size: int | tuple[int, int]) -> tuple[int, int]:
    """Validates ``size`` (an int or a pair of ints, each >= 1) and returns ``(height, width)``."""
    pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in pair)
    ):
        raise ValueError(
            f"size must be an int >= 1 or a pair (height, width) of them, got {size!r}"
        )
    return int(pair[0]), int(pair[1])
