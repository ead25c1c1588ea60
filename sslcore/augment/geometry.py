"""Small rotations and pixel noise on views the kernel made: the last steps of tiny-image views.

The fused view op (``sslcore.ops.augment_views``) crops, flips and jitters; it does not rotate.
On 8×8 digits a ±15° tilt and a little Gaussian noise are what a linear probe's accuracy at 13
labels needs most (two minutes of SimCLR: 87 % without them, 92 % with them), so the two-view
tasks apply them here, in PyTorch, after the kernel. Both draw from the task's generator, after
the view params, so a seed still replays the same views.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["ViewGeometry", "rotate_and_noise"]


def _check_amount(name: str, value: object, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: expected a number in [0, {upper}], got {value!r}")
    if not (math.isfinite(value) and 0 <= value <= upper):
        raise ValueError(f"{name}: expected a number in [0, {upper}], got {value!r}")
    return float(value)


class ViewGeometry:
    """Rotation range (± degrees) and noise ceiling (σ, in [0, 1] intensity units) of views.

    Each view turns by an angle drawn uniformly from ``[−rotation, rotation]`` around its centre
    (bilinear; what enters from outside is black, raw 0) and gets Gaussian noise with a σ drawn
    uniformly from ``[0, noise]``.
    """

    def __init__(self, rotation: float = 0.0, noise: float = 0.0) -> None:
        self.rotation = _check_amount("rotation", rotation, 180.0)
        self.noise = _check_amount("noise", noise, 1.0)

    @property
    def active(self) -> bool:
        """True when either step changes the views."""
        return self.rotation > 0 or self.noise > 0

    def __call__(
        self,
        views: torch.Tensor,
        generator: torch.Generator,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ) -> torch.Tensor:
        """`views` ``(N, C, h, w)`` normalised with (`mean`, `std`), rotated and noised."""
        return rotate_and_noise(views, self.rotation, self.noise, generator, mean, std)


def rotate_and_noise(
    views: torch.Tensor,
    rotation: float,
    noise: float,
    generator: torch.Generator,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> torch.Tensor:
    """Turns each normalised view by a random angle in ±`rotation`° and adds noise σ ≤ `noise`.

    Angles and σ are drawn on the CPU from `generator` (N of each); the work runs on the views'
    device. `mean` and `std` are the views' normalisation, per channel: raw black is
    ``−mean / std`` there, and the noise scales by ``1 / std``.
    """
    n, c = views.shape[:2]
    device, dtype = views.device, views.dtype
    m = torch.tensor(mean, dtype=dtype, device=device).view(1, c, 1, 1)
    s = torch.tensor(std, dtype=dtype, device=device).view(1, c, 1, 1)
    if rotation > 0:
        angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * rotation
        angle = (angle * math.pi / 180).to(device=device, dtype=dtype)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        rows = (torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1))
        theta = torch.stack(rows, 1)  # (N, 2, 3): a turn about the centre
        grid = F.affine_grid(theta, list(views.shape), align_corners=False)
        black = -m / s  # zeros padding of the shifted views = raw black
        views = F.grid_sample(views - black, grid, align_corners=False) + black
    if noise > 0:
        sigma = torch.rand(n, generator=generator, dtype=torch.float64) * noise
        sigma = sigma.to(device=device, dtype=dtype).view(n, 1, 1, 1) / s
        draws = torch.randn(views.shape, generator=generator, dtype=dtype)
        views = views + draws.to(device) * sigma
    return views
