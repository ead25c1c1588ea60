"""Encoders h_θ: ResNet-style CNNs for images and an MLP for feature vectors.

Every encoder maps a batch to ``(B, out_dim)`` features and exposes ``out_dim``, so heads, probes
and kNN never need to know which one they sit on. ``make_encoder`` builds one by name
(``sslcore.config.ENCODERS``): ``tiny`` (77 k parameters at w 16; fast, for tests), ``resnet``
(about 1.2 M, the image default: in two minutes on 2 CPU cores it takes a linear probe on digits
to 90 % with 13 labels), ``resnet18`` (the CIFAR ResNet-18 of He et al. 2016, 11 M) and ``mlp``.
The ResNets run in channels-last memory order, about 1.4× faster on CPU for these small images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ConvEncoder", "MLPEncoder", "ResNetEncoder", "make_encoder", "parameter_count"]


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


class ResNetEncoder(nn.Module):
    """h_θ for images, a ResNet of basic blocks (He et al. 2016): ``(B, C, H, W)`` → ``(B, w[-1])``.

    A 3×3 stem (stride 2 for images of 32 px or more, else 1: an 8×8 digit keeps its pixels),
    then one stage per width, each of `blocks` basic blocks, the first stage at the stem's
    resolution and every later one halving it; global average pooling.

    Args:
        in_channels: C of the input images.
        widths: channels of the stages; ``out_dim = widths[-1]``.
        blocks: basic blocks per stage.
        stem_stride: the stem's stride (1 or 2).
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks: int = 1,
        stem_stride: int = 1,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if in_channels < 1 or not widths or min(widths) < 1 or blocks < 1:
            raise ValueError(
                f"in_channels, widths and blocks must be >= 1, got {in_channels}, {widths}, "
                f"{blocks}"
            )
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride: expected 1 or 2, got {stem_stride!r}")
        self.in_channels = in_channels
        self.out_dim = widths[-1]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        c_in = widths[0]
        for i, width in enumerate(widths):
            for j in range(blocks):
                stages.append(_BasicBlock(c_in, width, 2 if i > 0 and j == 0 else 1))
                c_in = width
        self.stages = nn.Sequential(*stages)
        # Channels-last only where every width is a multiple of 8: torch 2.13's CPU backward of
        # a strided 1×1 convolution in channels-last corrupts the heap for e.g. 4 channels.
        self.channels_last = all(w % 8 == 0 for w in widths)
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, out_dim)`` of images ``(B, C, H, W)``."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
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


IMAGE_ENCODERS = ("tiny", "resnet", "resnet18")
VECTOR_ENCODERS = ("tiny", "mlp")
LARGE_IMAGE = 32  # px: from this side on, the ResNets' stem halves the resolution


def make_encoder(
    sample_shape: Sequence[int], width: int | None = None, name: str = "auto"
) -> nn.Module:
    """The encoder `name` for samples of `sample_shape` (``(C, H, W)`` images or ``(D,)`` vectors).

    ``auto`` is ``resnet`` for images and ``mlp`` for vectors; ``tiny`` is the ConvEncoder for
    images and the MLP for vectors (the encoders of runs made before encoders had names).
    `width` scales the encoder: the tiny CNN's w (default 16; ``out_dim = 4w``), the ResNets'
    first stage (default 32 for ``resnet``, 64 for ``resnet18``; stages w, 2w, 4w, 8w), or the
    MLP's hidden width (default 256).
    """
    shape = tuple(int(s) for s in sample_shape)
    if len(shape) not in (1, 3):
        raise ValueError(f"sample_shape: expected (C, H, W) or (D,), got {shape}")
    image = len(shape) == 3
    if name == "auto":
        name = "resnet" if image else "mlp"
    allowed = IMAGE_ENCODERS if image else VECTOR_ENCODERS
    if name not in allowed:
        kind = "images" if image else "feature vectors"
        raise ValueError(f"encoder: expected one of {('auto', *allowed)} for {kind}, got {name!r}")
    if not image:
        return MLPEncoder(shape[0], (width or 256,) * 2)
    if name == "tiny":
        return ConvEncoder(shape[0], width or 16)
    w = width or (32 if name == "resnet" else 64)
    stride = 2 if name == "resnet" and min(shape[1:]) >= LARGE_IMAGE else 1
    blocks = 1 if name == "resnet" else 2
    return ResNetEncoder(shape[0], (w, 2 * w, 4 * w, 8 * w), blocks, stride)


def parameter_count(module: nn.Module) -> int:
    """The number of parameters of `module` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
