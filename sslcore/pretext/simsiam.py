"""SimSiam's pretext task: predict one view's projection from the other's, with stop-gradient."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sslcore.augment import ViewSpec
from sslcore.models import mlp_head, projection_head
from sslcore.pretext._two_views import (
    TwoViewImageTask,
    check_widths,
    image_geometry,
    image_view_spec,
    split_pairs,
)
from sslcore.pretext.base import PretextBatch, PretextLoss

__all__ = ["SimSiam", "SimSiamHead", "negative_cosine"]


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """SimSiam's D(p, z) = −mean_i cos(p_i, stopgrad(z_i)) for ``(B, D)`` rows: a () tensor.

    The target `z` is detached here, so no gradient of this term ever reaches its branch.
    """
    p = F.normalize(p, dim=1)  # (B, D)
    z = F.normalize(z.detach(), dim=1)  # (B, D), a constant for autograd
    return -(p * z).sum(dim=1).mean()


class SimSiamHead(nn.Module):
    """SimSiam's projector f's MLP and predictor h in one module: ``(N, dim)`` → (p, z).

    Projector: Linear–BN–ReLU–Linear–BN (the paper's CIFAR variant: two layers, BN on the
    output). Predictor: a bottleneck Linear–BN–ReLU–Linear with hidden width ``out // 4`` (the
    paper's 2048 → 512 → 2048).

    Args:
        dim: encoder feature width.
        hidden: projector hidden width.
        out: projection (and prediction) width.
    """

    def __init__(self, dim: int, hidden: int = 256, out: int = 128) -> None:
        super().__init__()
        self.projector = nn.Sequential(projection_head(dim, hidden, out), nn.BatchNorm1d(out))
        self.predictor = mlp_head(out, max(1, out // 4), out)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(predictions p, projections z), each ``(N, out)``, of features ``(N, dim)``."""
        z = self.projector(features)  # (N, out)
        return self.predictor(z), z


class SimSiam(TwoViewImageTask):
    """SimSiam (Chen & He 2021): two views, a predictor, stop-gradient, no negatives.

    "Exploring Simple Siamese Representation Learning", CVPR 2021 (arXiv:2011.10566). The views
    and pseudolabels are Contrastive's: x̃ stacks the kernel's view 1 of every image, then view 2
    ``(2B, C, h, w)``, and z is, for each row, the row it pairs with, ``(i + B) mod 2B``. The head
    (``SimSiamHead``) gives predictions p and projections z for every view; the loss is the
    symmetric ½ D(p₁, sg(z₂)) + ½ D(p₂, sg(z₁)) with D the negative cosine similarity, so it lies
    in [−1, 1] and −1 means each prediction points exactly at the other view's projection.

    Metrics: ``cosine`` (= −loss, the mean cosine of the two terms) and ``collapse_std``, the
    paper's collapse monitor: the per-channel std of the L2-normalised projections over the 2B
    rows, averaged over channels. It is 0 when every output is the same vector (collapse) and
    about 1/√out for well-spread outputs.

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        spec: the view recipe, as for Contrastive (default ``ViewSpec.simclr((H, W))``, the
            normalisation filled in with base.IMAGE_MEAN/IMAGE_STD).
        hidden, out: projector widths (the predictor's bottleneck is ``out // 4``).
        rotation, noise: the tilt and noise after the kernel, as Contrastive's.

    A batch of one image works (there are no negatives to need); its BatchNorm statistics then
    come from its two views only.
    """

    name = "simsiam"
    modalities = ("image",)
    paper = "Chen & He, Exploring Simple Siamese Representation Learning (SimSiam), CVPR 2021"

    def __init__(
        self,
        sample_shape: Sequence[int],
        spec: ViewSpec | dict | None = None,
        hidden: int = 256,
        out: int = 128,
        rotation: float | None = None,
        noise: float | None = None,
    ) -> None:
        super().__init__(sample_shape)
        self.spec = image_view_spec(self.sample_shape, spec)
        self.geometry = image_geometry(self.sample_shape, rotation, noise)
        self.hidden, self.out = check_widths(hidden=hidden, out=out)

    def pretext_head(self, dim: int) -> nn.Module:
        """A SimSiamHead: ``(2B, dim)`` → (p, z), each ``(2B, out)``."""
        return SimSiamHead(dim, self.hidden, self.out)

    def loss(self, outputs: tuple[torch.Tensor, torch.Tensor], batch: PretextBatch) -> PretextLoss:
        """Symmetric negative cosine with stop-gradient on the targets; cosine, collapse_std."""
        if not isinstance(outputs, tuple | list) or len(outputs) != 2:
            raise TypeError(
                f"outputs: expected (predictions, projections) from SimSiamHead, "
                f"got {type(outputs).__name__}"
            )
        p1, p2 = split_pairs(outputs[0], batch, "outputs[0] (predictions)")  # (B, out) each
        z1, z2 = split_pairs(outputs[1], batch, "outputs[1] (projections)")  # (B, out) each
        loss = 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)
        with torch.no_grad():
            spread = F.normalize(outputs[1], dim=1).std(dim=0).mean()  # () over 2B rows
        return PretextLoss(loss, {"cosine": -loss.item(), "collapse_std": spread.item()})
