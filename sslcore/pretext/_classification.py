"""L_pre of the classification pretexts: cross-entropy against the pseudolabels, with accuracy."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from sslcore.pretext.base import PretextLoss

__all__ = ["classification_loss"]


def classification_loss(logits: torch.Tensor, pseudolabels: torch.Tensor) -> PretextLoss:
    """Mean cross-entropy of `logits` ``(B, K)`` against `pseudolabels` ``(B,)`` int64 in [0, K).

    Returns:
        PretextLoss with the () loss and ``metrics["accuracy"]``, the top-1 fraction correct.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"outputs: expected logits of shape (B, K), got {got}")
    if pseudolabels.dim() != 1 or pseudolabels.shape[0] != logits.shape[0]:
        raise ValueError(
            f"pseudolabels: expected shape ({logits.shape[0]},) to match the logits "
            f"{tuple(logits.shape)}, got {tuple(pseudolabels.shape)}"
        )
    loss = F.cross_entropy(logits, pseudolabels)
    with torch.no_grad():
        accuracy = (logits.argmax(dim=1) == pseudolabels).float().mean().item()
    return PretextLoss(loss=loss, metrics={"accuracy": accuracy})
