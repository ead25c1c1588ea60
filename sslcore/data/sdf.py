"""Signed distance functions of the shapes dataset's classes, evaluated on batches of points.

Each function takes point coordinates ``px, py`` (any shape, same for both; y points up) in the
shape's own frame and returns the signed distance ``(same shape)``: negative inside, positive
outside, in the same units. Every shape is centred on the origin and fits in the unit circle
(circumradius about 0.9-1.0), so one scale parameter sizes all classes alike. The exact forms
follow Inigo Quilez, "2D distance functions" (https://iquilezles.org/articles/distfunctions2d/).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "SHAPE_SDFS",
    "box",
    "circle",
    "cross",
    "heart",
    "hexagon",
    "ring",
    "square",
    "star",
    "triangle",
]


def circle(px: Tensor, py: Tensor) -> Tensor:
    """Disc of radius 0.9."""
    return torch.hypot(px, py) - 0.9


def box(px: Tensor, py: Tensor, half_w: float, half_h: float) -> Tensor:
    """Axis-aligned rectangle with half sides ``half_w``, ``half_h`` (exact inside and out)."""
    dx = px.abs() - half_w
    dy = py.abs() - half_h
    outside = torch.hypot(dx.clamp(min=0), dy.clamp(min=0))
    inside = torch.maximum(dx, dy).clamp(max=0)
    return outside + inside


def square(px: Tensor, py: Tensor) -> Tensor:
    """Square with half side 0.7 (circumradius 0.99)."""
    return box(px, py, 0.7, 0.7)


def triangle(px: Tensor, py: Tensor) -> Tensor:
    """Equilateral triangle with its centroid at the origin, circumradius 1, a vertex up."""
    k = math.sqrt(3.0)
    r = k / 2  # half side for circumradius 1
    x = px.abs() - r
    y = py + r / k
    # Fold the point across the triangle's upper-right edge normal when it lies beyond it.
    fold = (x + k * y) > 0
    x, y = torch.where(fold, (x - k * y) / 2, x), torch.where(fold, (-k * x - y) / 2, y)
    x = x - x.clamp(-2 * r, 0)
    return -torch.hypot(x, y) * torch.sign(y)


def hexagon(px: Tensor, py: Tensor) -> Tensor:
    """Regular hexagon with inradius 0.82 (circumradius 0.95)."""
    kx, ky, kz = -0.866025404, 0.5, 0.577350269
    r = 0.82
    x, y = px.abs(), py.abs()
    # Reflect into the fundamental 30-degree wedge, then measure to one edge segment.
    d = (kx * x + ky * y).clamp(max=0)
    x, y = x - 2 * d * kx, y - 2 * d * ky
    x = x - x.clamp(-kz * r, kz * r)
    y = y - r
    return torch.hypot(x, y) * torch.sign(y)


def star(px: Tensor, py: Tensor) -> Tensor:
    """Five-pointed star, outer radius 1, inner radius 0.45 of it, a point up."""
    r, rf = 1.0, 0.45
    k1x, k1y = 0.809016994375, -0.587785252292
    k2x, k2y = -k1x, k1y
    x, y = px.abs(), py
    # Two reflections fold the plane into the wedge of one arm.
    d = (k1x * x + k1y * y).clamp(min=0)
    x, y = x - 2 * d * k1x, y - 2 * d * k1y
    d = (k2x * x + k2y * y).clamp(min=0)
    x, y = x - 2 * d * k2x, y - 2 * d * k2y
    x = x.abs()
    y = y - r
    bax, bay = rf * -k1y, rf * k1x - 1.0
    h = ((x * bax + y * bay) / (bax * bax + bay * bay)).clamp(0, r)
    return torch.hypot(x - bax * h, y - bay * h) * torch.sign(y * bax - x * bay)


def cross(px: Tensor, py: Tensor) -> Tensor:
    """Plus sign: union of two 1.8 x 0.6 bars (exact outside; inside, a bound on the depth)."""
    return torch.minimum(box(px, py, 0.9, 0.3), box(px, py, 0.3, 0.9))


def ring(px: Tensor, py: Tensor) -> Tensor:
    """Annulus with radii 0.5 and 0.94."""
    return (torch.hypot(px, py) - 0.72).abs() - 0.22


def heart(px: Tensor, py: Tensor) -> Tensor:
    """Heart, tip down, centred on its bounding box (circumradius about 1.04)."""
    a, b = 0.66, 0.55  # map into Quilez's frame: tip at (0, 0), top at y = 1.1
    x = (px * a).abs()
    y = py * a + b
    lobe = torch.hypot(x - 0.25, y - 0.75) - math.sqrt(2.0) / 4
    m = (x + y).clamp(min=0) * 0.5
    tip = torch.sqrt(torch.minimum(x * x + (y - 1) ** 2, (x - m) ** 2 + (y - m) ** 2))
    lower = tip * torch.sign(x - y)
    return torch.where((x + y) > 1, lobe, lower) / a


SHAPE_SDFS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "circle": circle,
    "square": square,
    "triangle": triangle,
    "star": star,
    "cross": cross,
    "hexagon": hexagon,
    "ring": ring,
    "heart": heart,
}
