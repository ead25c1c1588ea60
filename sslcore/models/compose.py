"""Moving θ* from pretraining to the downstream task: transfer (a copy) and freeze."""

from __future__ import annotations

import copy

from torch import nn

__all__ = ["freeze", "transfer", "unfreeze"]


def transfer(encoder: nn.Module) -> nn.Module:
    """A copy of the pretrained encoder h_θ* for a downstream task; the original is untouched."""
    return copy.deepcopy(encoder)


def freeze(module: nn.Module) -> nn.Module:
    """Stops `module` learning: no gradients, and eval mode so BatchNorm statistics stay θ*'s.

    Returns the module. The linear probe freezes the encoder; fine-tuning does not.
    """
    for p in module.parameters():
        p.requires_grad_(False)
    module.eval()
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Lets `module` learn again (gradients on, train mode). Returns the module."""
    for p in module.parameters():
        p.requires_grad_(True)
    module.train()
    return module
