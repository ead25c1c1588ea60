"""Heads: the pretext head k_γ, the task head g_φ and projection heads, each a small nn.Module."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ImageDecoder", "linear_head", "mlp_head", "projection_head", "task_head"]


def linear_head(dim: int, out: int) -> nn.Module:
    """A single linear layer ``(B, dim)`` → ``(B, out)``: the linear probe's g_φ."""
    return nn.Linear(dim, out)


def mlp_head(dim: int, hidden: int, out: int) -> nn.Module:
    """Linear–BatchNorm–ReLU–Linear ``(B, dim)`` → ``(B, out)``."""
    return nn.Sequential(
        nn.Linear(dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, out),
    )


def projection_head(dim: int, hidden: int = 256, out: int = 128) -> nn.Module:
    """SimCLR's projection g(·) (Chen et al. 2020): the MLP whose output the loss sees.

    The encoder's features before it are what transfers downstream.
    """
    return mlp_head(dim, hidden, out)


def task_head(dim: int, num_classes: int, kind: str = "linear", hidden: int = 256) -> nn.Module:
    """g_φ for a downstream classification task: ``"linear"`` or ``"mlp"``."""
    if kind == "linear":
        return linear_head(dim, num_classes)
    if kind == "mlp":
        return mlp_head(dim, hidden, num_classes)
    raise ValueError(f"kind: expected 'linear' or 'mlp', got {kind!r}")


class ImageDecoder(nn.Module):
    """Features ``(B, dim)`` → images ``(B, C, H, W)``, a reconstruction pretext head.

    A linear map to a coarse grid, then two ×2 transposed-convolution upsamplings.

    Args:
        dim: feature width.
        shape: ``(C, H, W)`` of the images to produce.
        width: channels of the coarse grid.
    """

    def __init__(self, dim: int, shape: Sequence[int], width: int = 32) -> None:
        super().__init__()
        c, h, w = (int(s) for s in shape)
        self.shape = (c, h, w)
        self.grid = (max(1, -(-h // 4)), max(1, -(-w // 4)))  # ceil(H/4), ceil(W/4)
        self.width = width
        self.fc = nn.Linear(dim, width * self.grid[0] * self.grid[1])
        self.up = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, width, 4, 2, 1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, c, 4, 2, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` from features ``(B, dim)``."""
        grid = self.fc(features).view(-1, self.width, *self.grid)
        return self.up(grid)[:, :, : self.shape[1], : self.shape[2]]  # (B, C, H, W)
