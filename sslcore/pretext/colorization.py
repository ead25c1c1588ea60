"""Colorization: predict an image's colours from its grayscale.

Zhang, Isola & Efros 2016, "Colorful Image Colorization" (ECCV). The paper predicts the Lab
chroma channels (ab) given the lightness L, as a classification over quantised ab bins. Here it is
the regression the paper compares against: the head predicts the chroma in RGB, the residual of
the colour image from its luma, and the luma from the input is added back, as the paper
concatenates L with the predicted ab.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from sslcore.augment.functional import GRAY_WEIGHTS
from sslcore.errors import DataError
from sslcore.models import ImageDecoder
from sslcore.pretext._sampling import check_generator
from sslcore.pretext.base import (
    IMAGE_MEAN,
    IMAGE_STD,
    PretextBatch,
    PretextLoss,
    PretextTask,
    to_model_input,
)

__all__ = ["Colorization", "grayscale_input"]


def grayscale_input(x: torch.Tensor) -> torch.Tensor:
    """Luma of uint8 RGB images ``(B, 3, H, W)``, normalised and repeated: ``(B, 3, H, W)`` float32.

    The luma is torchvision's ``rgb_to_grayscale`` (weights ``GRAY_WEIGHTS`` = 0.2989, 0.587,
    0.114, the same as the grayscale augmentation) on ``x / 255``, then normalised like every
    image, ``(luma − IMAGE_MEAN) / IMAGE_STD``. Repeating it to 3 channels keeps the encoder's
    input shape, so the pretrained encoder transfers to colour images unchanged.
    """
    weights = torch.tensor(GRAY_WEIGHTS, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    luma = (x.float() / 255.0 * weights).sum(dim=1, keepdim=True)  # (B, 1, H, W) in [0, 1]
    return ((luma - IMAGE_MEAN) / IMAGE_STD).expand(-1, 3, -1, -1).contiguous()  # (B, 3, H, W)


class Colorization(PretextTask):
    """Colorization as regression of the chroma given the luma.

    - x̃ ``(B, 3, H, W)``: the normalised luma, the same in all three channels.
    - z ``(B, 3, H, W)``: the normalised colour image.

    ``forward`` returns ``x̃ + k_γ(h_θ(x̃))``: the head, an :class:`~sslcore.models.ImageDecoder`,
    predicts only the chroma (what colour adds to the gray), and the output is a full colour
    image comparable with z. The loss is the MSE of that output against z, which is therefore
    the MSE on chroma: the luma is given, not learned. (A plain L2 on colours averages the
    plausible colours of an object to gray, the desaturation the paper's classification loss
    avoids; for a regression baseline on the small embedded data that is acceptable.)

    Args:
        sample_shape: ``(3, H, W)``; grayscale images (C = 1) raise a DataError, since they have
            no colour to predict.
    """

    name: ClassVar[str] = "colorization"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    paper: ClassVar[str] = "Zhang, Isola & Efros 2016, Colorful Image Colorization (ECCV)"

    def __init__(self, sample_shape: Sequence[int]) -> None:
        super().__init__(sample_shape)
        if self.sample_shape[0] != 3:
            raise DataError(
                f"pretext task 'colorization' needs colour images with 3 channels, got "
                f"{self.sample_shape[0]} channel(s) in samples of shape {self.sample_shape}: "
                f"a grayscale image has no colour to predict"
            )

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ = the normalised luma repeated to 3 channels, z = the normalised colour image.

        Nothing is random; `generator` is accepted for the common interface and left unused.
        """
        self.check_batch(x)
        check_generator(generator)
        return PretextBatch(grayscale_input(x), to_model_input(x))

    def pretext_head(self, dim: int) -> nn.Module:
        """An ImageDecoder ``(B, dim)`` → the chroma ``(B, 3, H, W)``."""
        return ImageDecoder(dim, self.sample_shape)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: PretextBatch) -> torch.Tensor:
        """The predicted colour image ``(B, 3, H, W)``: x̃ plus the head's chroma."""
        return batch.inputs + head(encoder(batch.inputs))

    def loss(self, outputs: Any, batch: PretextBatch) -> PretextLoss:
        """MSE between the predicted and the true colour image (= on chroma); metric ``mse``."""
        target = batch.pseudolabels
        if not isinstance(outputs, torch.Tensor) or outputs.shape != target.shape:
            got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs)
            raise ValueError(f"outputs: expected images of shape {tuple(target.shape)}, got {got}")
        loss = (outputs - target).square().mean()
        return PretextLoss(loss, {"mse": float(loss.detach())})

    def describe(self, z: torch.Tensor) -> str:
        """The colour image's mean RGB on the [0, 1] scale, e.g. ``"mean RGB 0.41, 0.52, 0.33"``."""
        rgb = (z.float().mean(dim=(-2, -1)) * IMAGE_STD + IMAGE_MEAN).tolist()  # (3,)
        return "mean RGB " + ", ".join(f"{v:.2f}" for v in rgb)
