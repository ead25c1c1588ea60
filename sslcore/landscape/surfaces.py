"""2-D test surfaces L(θ), θ = (θ₁, θ₂), with analytic gradients: where gradient descent is seen.

Each surface evaluates batches of points ``(..., 2)`` at once (so a whole grid is one call) and
knows its gradient in closed form, the box it is drawn in, a start point and its minima. The
quadratic also knows its curvatures, for the convergence theory of ``descent``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = [
    "SURFACES",
    "Surface",
    "grid",
    "himmelblau",
    "make_surface",
    "quadratic",
    "rosenbrock",
    "saddle",
    "two_minima",
]

MAX_GRID = 1001  # points per side: 10⁶ evaluations, a few MB


@dataclass(frozen=True)
class Surface:
    """A loss over two parameters.

    Attributes:
        name: what the surface is called in the dashboard.
        loss: θ ``(..., 2)`` → L(θ) ``(...)``.
        gradient: θ ``(..., 2)`` → ∇L(θ) ``(..., 2)``, in closed form.
        box: ``(θ₁ min, θ₁ max, θ₂ min, θ₂ max)``, the drawn region.
        start: a default start point inside the box.
        minima: the global (and notable local) minima.
        curvatures: for a quadratic, the Hessian's eigenvalues ``(L, μ)``; None otherwise.
    """

    name: str
    loss: Callable[[Tensor], Tensor]
    gradient: Callable[[Tensor], Tensor]
    box: tuple[float, float, float, float]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    curvatures: tuple[float, float] | None = None

    def contains(self, theta: tuple[float, float]) -> bool:
        """Whether `theta` lies inside the drawn box."""
        x0, x1, y0, y1 = self.box
        return x0 <= theta[0] <= x1 and y0 <= theta[1] <= y1


def _xy(theta: Tensor) -> tuple[Tensor, Tensor]:
    return theta[..., 0], theta[..., 1]


def quadratic(kappa: float = 10.0, lipschitz: float = 1.0) -> Surface:
    """L(θ) = ½ (L θ₁² + μ θ₂²) with condition number κ = L / μ.

    The ravine of the seed's "go opposite the slope": gradient descent converges at rate
    (κ − 1)/(κ + 1) at its best step 2/(L + μ), and diverges for α > 2/L.
    """
    if not (math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"kappa: expected a condition number >= 1, got {kappa!r}")
    if not (math.isfinite(lipschitz) and lipschitz > 0):
        raise ValueError(f"lipschitz: expected a curvature > 0, got {lipschitz!r}")
    big, small = float(lipschitz), float(lipschitz) / float(kappa)

    def loss(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return 0.5 * (big * x * x + small * y * y)

    def gradient(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return torch.stack([big * x, small * y], dim=-1)

    return Surface(
        f"quadratic (κ = {kappa:g})",
        loss,
        gradient,
        (-3, 3, -3, 3),
        (-2.5, 2.0),
        ((0, 0),),
        (big, small),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's banana valley (a − θ₁)² + b (θ₂ − θ₁²)²: easy to find, slow to follow."""

    def loss(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return (a - x) ** 2 + b * (y - x * x) ** 2

    def gradient(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return torch.stack([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)], dim=-1)

    return Surface("Rosenbrock", loss, gradient, (-2, 2, -1, 3), (-1.5, 2.5), ((a, a * a),))


def himmelblau() -> Surface:
    """Himmelblau's function (θ₁² + θ₂ − 11)² + (θ₁ + θ₂² − 7)²: four minima of equal loss 0."""

    def loss(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def gradient(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        u, v = x * x + y - 11, x + y * y - 7
        return torch.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], dim=-1)

    minima = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
    return Surface("Himmelblau", loss, gradient, (-5, 5, -5, 5), (0.0, 0.0), minima)


def saddle() -> Surface:
    """θ₁² − θ₂²: a saddle at the origin; gradient descent started on θ₂ = 0 stalls on it."""

    def loss(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return x * x - y * y

    def gradient(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return torch.stack([2 * x, -2 * y], dim=-1)

    return Surface("saddle", loss, gradient, (-2, 2, -2, 2), (-1.8, 0.05), ())


def two_minima() -> Surface:
    """(θ₁² − 1)² + ½ θ₂² + 0.3 θ₁: a deep minimum near θ₁ = −1, a shallow one near θ₁ = +1.

    Which one gradient descent reaches depends on the start point and the step size.
    """

    def loss(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return (x * x - 1) ** 2 + 0.5 * y * y + 0.3 * x

    def gradient(theta: Tensor) -> Tensor:
        x, y = _xy(theta)
        return torch.stack([4 * x * (x * x - 1) + 0.3, y], dim=-1)

    # Roots of 4x³ − 4x + 0.3 = 0 at the two wells.
    return Surface(
        "two minima",
        loss,
        gradient,
        (-2, 2, -1.5, 1.5),
        (0.3, 1.2),
        ((-1.035579, 0), (0.960150, 0)),
    )


SURFACES: dict[str, Callable[..., Surface]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "himmelblau": himmelblau,
    "saddle": saddle,
    "two_minima": two_minima,
}


def make_surface(name: str, **options: float) -> Surface:
    """The surface `name` of SURFACES (ValueError listing them if unknown)."""
    if name not in SURFACES:
        raise ValueError(f"surface: unknown {name!r}; known: {', '.join(SURFACES)}")
    return SURFACES[name](**options)


def grid(surface: Surface, resolution: int = 101) -> tuple[Tensor, Tensor, Tensor]:
    """``(θ₁ values (R,), θ₂ values (R,), L (R, R))`` over the surface's box, row = θ₂.

    One batched call of the loss; `resolution` is checked before anything is allocated.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise ValueError(f"resolution: expected an integer, got {resolution!r}")
    if not 2 <= resolution <= MAX_GRID:
        raise ValueError(f"resolution: expected 2 to {MAX_GRID} points per side, got {resolution}")
    x0, x1, y0, y1 = surface.box
    xs = torch.linspace(x0, x1, resolution, dtype=torch.float64)
    ys = torch.linspace(y0, y1, resolution, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return xs, ys, surface.loss(torch.stack([gx, gy], dim=-1))
