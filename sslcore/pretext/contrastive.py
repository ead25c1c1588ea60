"""SimCLR's pretext task: two augmented views of each image, each the other's positive."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sslcore.augment import ViewSpec
from sslcore.losses import InfoNCELoss
from sslcore.models import projection_head
from sslcore.pretext._two_views import (
    TwoViewImageTask,
    check_widths,
    image_geometry,
    image_view_spec,
    split_pairs,
)
from sslcore.pretext.base import PretextBatch, PretextLoss

__all__ = ["Contrastive"]


class Contrastive(TwoViewImageTask):
    """SimCLR (Chen, Kornblith, Norouzi & Hinton 2020): two views, each the other's positive.

    "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020
    (arXiv:2002.05709). Every image gives two views from the fused kernel
    (``ops.augment_views``). x̃ stacks view 1 of every image, then view 2: ``(2B, C, h, w)``.
    z is, for each row, the index of the row it pairs with, ``(i + B) mod 2B`` ``(2B,)``: the
    positive of NT-Xent among the 2B − 1 other views. The head is SimCLR's projection g(·); the
    loss is NT-Xent (``InfoNCELoss``) on its output, and the metric ``accuracy`` is the fraction
    of rows whose positive is the most similar of the candidates (top-1).

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        spec: the view recipe; default ``_two_views.default_view_spec`` (SimCLR's, gentler
            for images of ≤ 16 and ≤ 32 px). Its mean/std are filled in with
            base.IMAGE_MEAN/IMAGE_STD.
        temperature: τ of NT-Xent. SimCLR uses 0.5 on CIFAR-10 over 1000 epochs; with the tiny
            CNN and a few hundred steps the sharper 0.2 learned more on shapes (probe 0.63
            against 0.48 at τ 0.5), while on digits with the ResNet 0.5 wins clearly (linear
            probe at 13 labels 92 % against 85 %): ``DATASET_DEFAULTS`` sets it per dataset.
        hidden, out: widths of the projection head.
        rotation, noise: the tilt (± degrees) and noise ceiling applied after the kernel
            (``sslcore.augment.ViewGeometry``); None: ``_two_views.default_geometry``
            (±15° and 0.08 at ≤ 16 px, none above).

    A batch needs B >= 2: with one image the only candidate of each view is its positive, the
    loss is exactly 0 and teaches nothing.
    """

    min_batch = 2
    min_batch_reason = "NT-Xent needs negatives from other images"

    name = "contrastive"
    modalities = ("image",)
    paper = (
        "Chen, Kornblith, Norouzi & Hinton, A Simple Framework for Contrastive Learning of "
        "Visual Representations (SimCLR), ICML 2020"
    )

    def __init__(
        self,
        sample_shape: Sequence[int],
        spec: ViewSpec | dict | None = None,
        temperature: float = 0.2,
        hidden: int = 256,
        out: int = 128,
        rotation: float | None = None,
        noise: float | None = None,
    ) -> None:
        super().__init__(sample_shape)
        self.spec = image_view_spec(self.sample_shape, spec)
        self.geometry = image_geometry(self.sample_shape, rotation, noise)
        self.criterion = InfoNCELoss(temperature, normalize=True)
        self.hidden, self.out = check_widths(hidden=hidden, out=out)

    def pretext_head(self, dim: int) -> nn.Module:
        """SimCLR's projection g(·): ``(2B, dim)`` → ``(2B, out)``."""
        return projection_head(dim, self.hidden, self.out)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """NT-Xent of the projections ``(2B, out)``; metric: the positive's top-1 accuracy."""
        z_a, z_b = split_pairs(outputs, batch)  # (B, out) each
        result = self.criterion(z_a, z_b, details=True)
        return PretextLoss(result.loss, {"accuracy": float(result.accuracy)})
