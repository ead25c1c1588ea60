"""Optimisers stepping two parameters, recorded step by step, with the theory beside them.

``gd`` is the seed's update written out, θ ← θ − α ∇L(θ); the others are torch.optim's SGD
(momentum, Nesterov), Adam and RMSprop stepping the same tensor of two parameters. Every run
records θ_t, L(θ_t) and ∇L(θ_t) and stops, saying why, when it diverges. For a quadratic the
convergence rates of Goh (2017, "Why Momentum Really Works"): gradient descent at its best step
2/(L + μ) contracts the error by (κ − 1)/(κ + 1) per step, heavy-ball momentum at its best (α, β)
by (√κ − 1)/(√κ + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sslcore.landscape.surfaces import Surface

__all__ = [
    "OPTIMIZERS",
    "Run2D",
    "best_gd_step",
    "best_momentum",
    "descend",
    "gd_rate",
    "measured_rate",
    "momentum_rate",
    "slope_directions",
]

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "rmsprop")
MAX_STEPS = 10_000
ESCAPE = 1e6  # |θ| or L beyond this (or not finite) counts as divergence


@dataclass
class Run2D:
    """One optimisation run over a 2-D surface.

    Attributes:
        optimizer, lr, momentum: what ran.
        thetas: ``(T + 1, 2)`` θ_0 … θ_T.
        losses: ``(T + 1,)`` L(θ_t).
        gradients: ``(T + 1, 2)`` ∇L(θ_t).
        diverged: whether it was stopped for diverging; message says why.
    """

    optimizer: str
    lr: float
    momentum: float
    thetas: np.ndarray
    losses: np.ndarray
    gradients: np.ndarray
    diverged: bool = False
    message: str = ""


def _check(optimizer: str, lr: float, momentum: float, steps: int) -> None:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a finite step size α > 0, got {lr!r}")
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError(f"momentum: expected β in [0, 1), got {momentum!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps: expected an integer in [1, {MAX_STEPS}], got {steps!r}")


def _torch_optimizer(name: str, param: torch.Tensor, lr: float, momentum: float):
    if name == "momentum":
        return torch.optim.SGD([param], lr=lr, momentum=momentum)
    if name == "nesterov":
        return torch.optim.SGD([param], lr=lr, momentum=momentum, nesterov=True)
    if name == "adam":
        return torch.optim.Adam([param], lr=lr, betas=(momentum, 0.999))
    return torch.optim.RMSprop([param], lr=lr, alpha=0.99, momentum=0.0)


def descend(
    surface: Surface,
    optimizer: str = "gd",
    lr: float = 0.1,
    steps: int = 100,
    start: tuple[float, float] | None = None,
    momentum: float = 0.9,
) -> Run2D:
    """Runs `optimizer` on `surface` from `start` (default the surface's) for `steps` steps.

    Args:
        surface: the loss and its gradient.
        optimizer: ``"gd"`` (θ ← θ − α∇L, plain), ``"momentum"`` / ``"nesterov"`` (torch SGD),
            ``"adam"`` (β₁ = `momentum`), ``"rmsprop"``.
        lr: the step size α > 0.
        steps: at most this many steps (fewer if it diverges).
        start: θ_0, inside the surface's box.
        momentum: β (unused by gd and rmsprop).
    """
    _check(optimizer, lr, momentum, steps)
    start = surface.start if start is None else (float(start[0]), float(start[1]))
    if not all(math.isfinite(v) for v in start):
        raise ValueError(f"start: expected two finite numbers, got {start!r}")
    if not surface.contains(start):
        raise ValueError(f"start: {start} lies outside the drawn box {surface.box}")
    theta = torch.tensor(start, dtype=torch.float64)
    opt = None if optimizer == "gd" else _torch_optimizer(optimizer, theta, lr, momentum)
    thetas, losses, grads = [], [], []
    diverged, message = False, ""
    for t in range(steps + 1):
        with torch.no_grad():
            loss, grad = surface.loss(theta), surface.gradient(theta)
        thetas.append(theta.detach().clone())
        losses.append(float(loss))
        grads.append(grad.clone())
        if not (math.isfinite(float(loss)) and abs(float(loss)) < ESCAPE):
            diverged = True
        if not bool(torch.isfinite(theta).all()) or float(theta.abs().max()) > ESCAPE:
            diverged = True
        if diverged:
            message = _divergence_message(surface, optimizer, lr, t)
            break
        if t == steps:
            break
        if opt is None:
            theta = theta - lr * grad  # the seed's update: go opposite the slope
        else:
            theta.grad = grad
            opt.step()
    return Run2D(
        optimizer,
        float(lr),
        float(momentum),
        torch.stack(thetas).numpy(),
        np.array(losses),
        torch.stack(grads).numpy(),
        diverged,
        message,
    )


def _divergence_message(surface: Surface, optimizer: str, lr: float, step: int) -> str:
    text = f"{optimizer} diverged at step {step}: |θ| or L(θ) left every bound"
    if surface.curvatures is not None:
        big = surface.curvatures[0]
        text += f" (α = {lr:g} > 2/L = {2 / big:g}: each step overshoots the steepest direction)"
    return text


def slope_directions(gradient: np.ndarray | torch.Tensor) -> list[str]:
    """The seed's rule per dimension: a negative slope means go right (+), a positive go left."""
    out = []
    for i, g in enumerate(np.asarray(gradient, dtype=float).reshape(-1)):
        if g < 0:
            out.append(f"θ{i + 1}: slope {g:.3g} < 0, go right (increase θ{i + 1})")
        elif g > 0:
            out.append(f"θ{i + 1}: slope {g:.3g} > 0, go left (decrease θ{i + 1})")
        else:
            out.append(f"θ{i + 1}: slope 0, stay")
    return out


def gd_rate(kappa: float) -> float:
    """(κ − 1)/(κ + 1): GD's error contraction per step at its best step on a quadratic."""
    return (kappa - 1) / (kappa + 1)


def momentum_rate(kappa: float) -> float:
    """(√κ − 1)/(√κ + 1): heavy-ball momentum's contraction per step at its best (α, β)."""
    root = math.sqrt(kappa)
    return (root - 1) / (root + 1)


def best_gd_step(big: float, small: float) -> float:
    """α* = 2/(L + μ), the step that makes GD's two eigen-directions contract equally."""
    return 2.0 / (big + small)


def best_momentum(big: float, small: float) -> tuple[float, float]:
    """(α*, β*) of heavy-ball momentum: 4/(√L + √μ)², ((√L − √μ)/(√L + √μ))²."""
    rl, rm = math.sqrt(big), math.sqrt(small)
    return 4.0 / (rl + rm) ** 2, ((rl - rm) / (rl + rm)) ** 2


def measured_rate(run: Run2D, minimum: tuple[float, float] = (0.0, 0.0), tail: int = 20) -> float:
    """The error contraction per step over the last `tail` steps: (‖e_T‖/‖e_{T−tail}‖)^(1/tail).

    e_t = θ_t − `minimum`. Momentum's error oscillates, so the rate is taken over a span.
    """
    errors = np.linalg.norm(run.thetas - np.asarray(minimum), axis=1)
    tail = min(tail, len(errors) - 1)
    if tail < 1 or errors[-1 - tail] == 0:
        raise ValueError("measured_rate: needs at least 2 steps away from the minimum")
    return float((errors[-1] / errors[-1 - tail]) ** (1.0 / tail))
