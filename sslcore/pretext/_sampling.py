"""Seeded sampling for the pretext tasks: every random draw comes from the caller's generator."""

from __future__ import annotations

import torch

__all__ = ["check_generator", "randint"]


def check_generator(generator: object) -> None:
    """Raises TypeError unless `generator` is a torch.Generator."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")


def randint(
    high: int, size: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Integers uniform in ``[0, high)``, int64 of `size`, drawn on the generator's device.

    Drawing where the generator lives and then moving keeps a CPU generator usable for CUDA
    batches, and makes the draws independent of where the batch is.
    """
    values = torch.randint(high, size, generator=generator, device=generator.device)
    return values.to(device)
