"""Encoders h_θ: a small ResNet-style CNN for images and an MLP for feature vectors.

Both map a batch to ``(B, out_dim)`` features and expose ``out_dim``, so heads, probes and kNN
never need to know which one they sit on. Sized to train in minutes on 2 CPU cores.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ConvEncoder", "MLPEncoder", "make_encoder"]


class _BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (He et al. 2016), BatchNorm and ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ConvEncoder(nn.Module):
    """h_θ for images: ``(B, C, H, W)`` → ``(B, 4w)``, any H, W ≥ 1.

    A 3×3 stem, three residual stages (widths w, 2w, 4w; the last two halve the resolution) and
    global average pooling.

    Args:
        in_channels: C of the input images (1 or 3).
        width: w; ``out_dim = 4 · width``.
    """

    def __init__(self, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(f"in_channels and width must be >= 1, got {in_channels}, {width}")
        self.in_channels = in_channels
        self.out_dim = 4 * width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.stages = nn.Sequential(
            _BasicBlock(width, width, 1),
            _BasicBlock(width, 2 * width, 2),
            _BasicBlock(2 * width, 4 * width, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, out_dim)`` of images ``(B, C, H, W)``."""
        return self.stages(self.stem(x)).mean(dim=(2, 3))


class MLPEncoder(nn.Module):
    """h_θ for feature vectors: Linear–BatchNorm–ReLU blocks. ``(B, D)`` → ``(B, hidden[-1])``.

    Args:
        in_features: D.
        hidden: widths of the blocks; ``out_dim = hidden[-1]``.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if in_features < 1 or not hidden or min(hidden) < 1:
            raise ValueError(
                f"in_features and hidden widths must be >= 1, got {in_features}, {hidden}"
            )
        self.in_features = in_features
        self.out_dim = hidden[-1]
        layers: list[nn.Module] = []
        for d_in, d_out in zip((in_features, *hidden[:-1]), hidden, strict=True):
            layers += [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, out_dim)`` of vectors ``(B, D)``."""
        return self.net(x)


def make_encoder(sample_shape: Sequence[int], width: int | None = None) -> nn.Module:
    """The encoder for samples of `sample_shape`: ConvEncoder for (C, H, W), MLPEncoder for (D,).

    `width` is the CNN's w (default 16) or the MLP's hidden width (default 256).
    """
    shape = tuple(int(s) for s in sample_shape)
    if len(shape) == 3:
        return ConvEncoder(shape[0], width or 16)
    if len(shape) == 1:
        return MLPEncoder(shape[0], (width or 256,) * 2)
    raise ValueError(f"sample_shape: expected (C, H, W) or (D,), got {shape}")
