"""VICReg's pretext task: invariance between two views, variance and covariance regularisation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sslcore.augment import ViewSpec
from sslcore.distributed import gather_with_grad
from sslcore.models import mlp_head
from sslcore.pretext._two_views import (
    TwoViewImageTask,
    check_widths,
    image_geometry,
    image_view_spec,
    split_pairs,
)
from sslcore.pretext.base import PretextBatch, PretextLoss

__all__ = ["VICReg", "expander", "vicreg_terms"]


def expander(dim: int, hidden: int = 256, out: int = 256) -> nn.Module:
    """VICReg's expander: Linear–BN–ReLU–Linear–BN–ReLU–Linear, ``(N, dim)`` → ``(N, out)``.

    Three layers as in the paper (8192 wide there, on 2048-wide ResNet-50 features).
    """
    return nn.Sequential(
        nn.Linear(dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        mlp_head(hidden, hidden, out),
    )


def _variance(z: torch.Tensor, gamma: float, eps: float) -> torch.Tensor:
    """v(Z) = mean_j max(0, γ − sqrt(Var(z_j) + ε)), Var unbiased over the batch: a () tensor."""
    std = torch.sqrt(z.var(dim=0) + eps)  # (D,)
    return F.relu(gamma - std).mean()


def _covariance(z: torch.Tensor) -> torch.Tensor:
    """c(Z) = Σ_{i≠j} C(Z)_ij² / D with C the (D, D) unbiased covariance: a () tensor."""
    n, d = z.shape
    centred = z - z.mean(dim=0)  # (N, D)
    cov = centred.t() @ centred / (n - 1)  # (D, D)
    off = cov - torch.diag(torch.diagonal(cov))  # (D, D), zero diagonal
    return off.pow(2).sum() / d


def vicreg_terms(
    z_a: torch.Tensor, z_b: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4
) -> dict[str, torch.Tensor]:
    """The three unweighted VICReg terms of embeddings ``(N, D)`` (N >= 2), each a () tensor.

    ``invariance`` s = mean squared distance between paired rows (mean over N·D values);
    ``variance`` v(Z_a) + v(Z_b); ``covariance`` c(Z_a) + c(Z_b) — eq. 6 and Algorithm 1 of the
    paper. (The authors' repository halves the variance sum; the paper does not.)
    """
    return {
        "invariance": F.mse_loss(z_a, z_b),
        "variance": _variance(z_a, gamma, eps) + _variance(z_b, gamma, eps),
        "covariance": _covariance(z_a) + _covariance(z_b),
    }


class VICReg(TwoViewImageTask):
    """VICReg (Bardes, Ponce & LeCun 2022): invariance, variance and covariance of two views.

    "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning",
    ICLR 2022 (arXiv:2105.04906). The views and pseudolabels are Contrastive's: x̃ stacks the
    kernel's view 1 of every image, then view 2 ``(2B, C, h, w)``, and z is, for each row, the
    row it pairs with, ``(i + B) mod 2B``. The head is the expander; the loss is
    λ s(Z, Z') + μ [v(Z) + v(Z')] + ν [c(Z) + c(Z')] with the paper's λ = μ = 25, ν = 1, γ = 1,
    ε = 1e-4. No negatives, and no collapse: v keeps every dimension's std near γ, c
    decorrelates the dimensions. The weights need no rescaling for small widths: s and v are
    means over dimensions and c is divided by the width.

    Metrics: the unweighted ``invariance``, ``variance`` and ``covariance`` terms.

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        spec: the view recipe, as for Contrastive (default ``ViewSpec.simclr((H, W))``, the
            normalisation filled in with base.IMAGE_MEAN/IMAGE_STD).
        invariance, variance, covariance: λ, μ, ν.
        hidden, out: expander widths.
        rotation, noise: the tilt and noise after the kernel, as Contrastive's.

    A batch needs B >= 2: the variance and covariance are estimated over the batch.
    """

    min_batch = 2
    min_batch_reason = "variance and covariance are estimated over the batch"

    name = "vicreg"
    modalities = ("image",)
    paper = (
        "Bardes, Ponce & LeCun, VICReg: Variance-Invariance-Covariance Regularization for "
        "Self-Supervised Learning, ICLR 2022"
    )

    def __init__(
        self,
        sample_shape: Sequence[int],
        spec: ViewSpec | dict | None = None,
        invariance: float = 25.0,
        variance: float = 25.0,
        covariance: float = 1.0,
        hidden: int = 256,
        out: int = 256,
        rotation: float | None = None,
        noise: float | None = None,
    ) -> None:
        super().__init__(sample_shape)
        self.spec = image_view_spec(self.sample_shape, spec)
        self.geometry = image_geometry(self.sample_shape, rotation, noise)
        self.weights = {"invariance": invariance, "variance": variance, "covariance": covariance}
        for key, value in self.weights.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"{key}: expected a weight >= 0, got {value!r}")
        self.hidden, self.out = check_widths(hidden=hidden, out=out)

    def pretext_head(self, dim: int) -> nn.Module:
        """VICReg's expander: ``(2B, dim)`` → ``(2B, out)``."""
        return expander(dim, self.hidden, self.out)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """λ s + μ v + ν c of the embeddings ``(2B, out)``; the three terms as metrics."""
        z_a, z_b = split_pairs(outputs, batch)  # (B, out) each
        # Variance and covariance are statistics of the whole batch: under torch.distributed
        # every rank computes them on all ranks' rows (gathered with gradient).
        z_a, z_b = gather_with_grad(z_a), gather_with_grad(z_b)
        if z_a.shape[0] < 2:
            raise ValueError("outputs: VICReg needs at least 2 pairs (B >= 2), got 1")
        terms = vicreg_terms(z_a, z_b)
        w = self.weights
        loss = (
            w["invariance"] * terms["invariance"]
            + w["variance"] * terms["variance"]
            + w["covariance"] * terms["covariance"]
        )
        return PretextLoss(loss, {k: v.item() for k, v in terms.items()})
