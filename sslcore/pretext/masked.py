"""Masked image modelling: hide random patches, reconstruct them from the rest.

He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners" (MAE), adapted to a CNN encoder
the way SimMIM does it (Xie et al. 2022, "SimMIM: A Simple Framework for Masked Image Modeling"):
a ViT can drop the masked tokens, a CNN cannot, so masked patches stay in the input but are
replaced by zeros, which on the normalised scale is the fixed mean ``IMAGE_MEAN``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from sslcore.models import ImageDecoder
from sslcore.pretext._sampling import check_generator
from sslcore.pretext.base import IMAGE_STD, PretextBatch, PretextLoss, PretextTask, to_model_input

__all__ = ["MaskedReconstruction"]


class MaskedReconstruction(PretextTask):
    """MAE / SimMIM masked reconstruction with masked patches zeroed in the input.

    The image is cut into a grid of ``patch_size × patch_size`` patches (edge patches are smaller
    when H or W is not a multiple of it); in every image exactly ``round(mask_ratio · L)`` of the
    L patches, chosen uniformly at random as in MAE's per-sample shuffle, are set to 0.

    - x̃ ``(B, C, H, W)``: the normalised image with masked pixels 0.
    - z ``(B, C, H, W)``: the original normalised image, the reconstruction target.
    - ``extras["mask"]`` ``(B, 1, H, W)`` bool: True on masked pixels.

    The head is an :class:`~sslcore.models.ImageDecoder`; the loss is the MSE on masked pixels
    only (MAE's choice: visible pixels would reward copying the input). The default ratio is 0.5,
    not MAE's 0.75: a digit of 8×8 pixels has only four 4×4 patches, and one visible patch
    leaves too little to infer the rest from.

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        patch_size: p, the side of a square patch in pixels.
        mask_ratio: fraction of the patches masked, in (0, 1); at least one patch is masked and
            one stays visible.
    """

    name: ClassVar[str] = "masked"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    paper: ClassVar[str] = (
        "He et al. 2022, Masked Autoencoders Are Scalable Vision Learners (CVPR); "
        "zero-filled masks for CNNs as in Xie et al. 2022, SimMIM (CVPR)"
    )

    def __init__(
        self, sample_shape: Sequence[int], patch_size: int = 4, mask_ratio: float = 0.5
    ) -> None:
        super().__init__(sample_shape)
        if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f"patch_size: expected an int >= 1, got {patch_size!r}")
        if (
            isinstance(mask_ratio, bool)
            or not isinstance(mask_ratio, int | float)
            or not 0.0 < mask_ratio < 1.0
        ):
            raise ValueError(f"mask_ratio: expected a number in (0, 1), got {mask_ratio!r}")
        _, h, w = self.sample_shape
        self.patch_size = patch_size
        self.mask_ratio = float(mask_ratio)
        self.grid = (math.ceil(h / patch_size), math.ceil(w / patch_size))  # (gh, gw)
        self.num_patches = self.grid[0] * self.grid[1]
        self.num_masked = round(self.mask_ratio * self.num_patches)
        if not 1 <= self.num_masked < self.num_patches:
            raise ValueError(
                f"mask_ratio: {self.mask_ratio} of {self.num_patches} patches "
                f"({self.grid[0]}×{self.grid[1]} of {patch_size}×{patch_size} pixels on {h}×{w}) "
                f"masks {self.num_masked}; expected at least one masked and one visible patch"
            )

    def sample_mask(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A random pixel mask ``(B, 1, H, W)`` bool, exactly ``num_masked`` patches per image."""
        # Drawn where the generator lives, so a CPU generator also serves CUDA batches.
        noise = torch.rand(
            batch_size, self.num_patches, generator=generator, device=generator.device
        )
        rank = noise.argsort(dim=1).argsort(dim=1)  # (B, L): a uniform random permutation
        grid = (rank < self.num_masked).view(batch_size, 1, *self.grid)  # (B, 1, gh, gw)
        p = self.patch_size
        pixels = grid.repeat_interleave(p, dim=2).repeat_interleave(p, dim=3)  # (B, 1, gh·p, gw·p)
        return pixels[:, :, : self.sample_shape[1], : self.sample_shape[2]].contiguous()

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ = z with masked pixels 0, z = the normalised images, extras["mask"]."""
        self.check_batch(x)
        check_generator(generator)
        target = to_model_input(x)  # (B, C, H, W) float32
        mask = self.sample_mask(x.shape[0], generator).to(x.device)  # (B, 1, H, W) bool
        inputs = target.masked_fill(mask, 0.0)  # (B, C, H, W)
        return PretextBatch(inputs, target, {"mask": mask})

    def pretext_head(self, dim: int) -> nn.Module:
        """An ImageDecoder ``(B, dim)`` → ``(B, C, H, W)``."""
        return ImageDecoder(dim, self.sample_shape)

    def loss(self, outputs: Any, batch: PretextBatch) -> PretextLoss:
        """MSE over the masked pixels (all channels); metrics ``mse`` and ``psnr``.

        ``psnr`` is in dB on the [0, 1] intensity scale: ``10·log10(1 / (mse · IMAGE_STD²))``.
        """
        target, mask = batch.pseudolabels, batch.extras["mask"]
        if not isinstance(outputs, torch.Tensor) or outputs.shape != target.shape:
            got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs)
            raise ValueError(f"outputs: expected images of shape {tuple(target.shape)}, got {got}")
        squared = (outputs - target).square() * mask  # (B, C, H, W), 0 on visible pixels
        loss = squared.sum() / (mask.sum() * target.shape[1])
        mse = float(loss.detach())
        psnr = 10.0 * math.log10(1.0 / max(mse * IMAGE_STD**2, 1e-10))
        return PretextLoss(loss, {"mse": mse, "psnr": psnr})

    def describe(self, z: torch.Tensor) -> str:
        """The masked share: of this mask if `z` is a bool mask, else the task's fixed share.

        The target image z does not show its mask, but every image has the same number of
        masked patches, so the share is known from the task alone.
        """
        if z.dtype == torch.bool:
            return f"{float(z.float().mean()):.0%} of pixels masked"
        return (
            f"{self.num_masked} of {self.num_patches} patches masked "
            f"({self.num_masked / self.num_patches:.0%})"
        )
