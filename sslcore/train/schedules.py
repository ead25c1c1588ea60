"""Learning-rate schedules as pure functions of the step."""

from __future__ import annotations

import math

__all__ = ["budget_progress", "warmup_cosine", "warmup_cosine_progress"]


def warmup_cosine(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up to `peak` over `warmup` steps, then cosine decay to 0 at `total`.

    The cosine schedule of Loshchilov & Hutter 2017, as SimCLR trains.
    """
    if step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def budget_progress(step: int, steps: int, seconds: float, budget_seconds: float) -> float:
    """How far a run with a step cap and a wall-clock budget has come, in [0, 1]: the larger."""
    return min(1.0, max(step / max(1, steps), seconds / budget_seconds))


def warmup_cosine_progress(step: int, progress: float, warmup: int, peak: float) -> float:
    """Linear warm-up to `peak` over `warmup` steps, times a cosine decay over `progress` ∈ [0, 1].

    The schedule of a wall-clock budget: the decay follows the time spent, not the step count,
    so the rate reaches 0 as the budget runs out however fast the machine is.
    """
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    return peak * ramp * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))
