"""SCARF's pretext task for feature vectors: a row against its randomly corrupted copy."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sslcore.losses import InfoNCELoss
from sslcore.models import projection_head
from sslcore.pretext._two_views import (
    check_cpu_generator,
    check_min_batch,
    check_widths,
    describe_pair,
    pair_index,
    shard_pairs,
    split_pairs,
)
from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask

__all__ = ["Scarf"]


class Scarf(PretextTask):
    """SCARF (Bahri, Jiang, Tay & Metzler 2022): contrast a row with its corrupted copy.

    "SCARF: Self-Supervised Contrastive Learning using Random Feature Corruption", ICLR 2022
    (arXiv:2106.15147). For each row, a random subset of ``corruption · D`` features (rounded
    to the nearest int) is replaced by draws from each feature's empirical marginal: the value of
    the same column in another row of the batch, chosen uniformly with the generator. As in the
    paper, the pair is the anchor (the original row) and one corrupted view: x̃ = [anchors;
    corrupted views] ``(2B, D)``, and z is, for each row, the row it pairs with,
    ``(i + B) mod 2B`` ``(2B,)``.

    The head is a projection MLP (the paper's pretraining head: two layers of 256 units); the
    loss is InfoNCE on its output with τ = 1 as in the paper. The paper contrasts each anchor
    against every corrupted view (anchor → view); the default ``form="clip"`` is that
    cross-view form averaged over both directions; ``"ntxent"`` adds the same-view negatives of
    SimCLR. Metric ``accuracy``: the fraction of rows whose positive is the most similar of the
    candidates (top-1).

    Args:
        sample_shape: ``(D,)``.
        corruption: the fraction c of each row's features replaced, in [0, 1] (paper: 0.6).
        temperature: τ of InfoNCE (paper: 1.0).
        form: ``"clip"`` or ``"ntxent"`` (see above).
        hidden, out: widths of the projection head.

    A batch needs B >= 2: the marginal draws come from other rows, and InfoNCE needs negatives.
    """

    name = "scarf"
    modalities = ("vector",)
    paper = (
        "Bahri, Jiang, Tay & Metzler, SCARF: Self-Supervised Contrastive Learning using Random "
        "Feature Corruption, ICLR 2022"
    )

    def __init__(
        self,
        sample_shape: Sequence[int],
        corruption: float = 0.6,
        temperature: float = 1.0,
        form: str = "clip",
        hidden: int = 256,
        out: int = 256,
    ) -> None:
        super().__init__(sample_shape)
        if isinstance(corruption, bool) or not isinstance(corruption, int | float):
            raise TypeError(f"corruption: expected a float, got {type(corruption).__name__}")
        if not 0.0 <= corruption <= 1.0:
            raise ValueError(f"corruption: expected a fraction in [0, 1], got {corruption}")
        self.corruption = float(corruption)
        self.num_corrupted = int(self.corruption * self.sample_shape[0] + 0.5)  # nearest, ½ up
        self.criterion = InfoNCELoss(temperature, normalize=True, form=form)
        self.hidden, self.out = check_widths(hidden=hidden, out=out)

    def sample_corruption(
        self, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Which features of each row are replaced, and from which row, for this generator state.

        Returns:
            mask: ``(B, D)`` bool, exactly ``num_corrupted`` True per row.
            source: ``(B, D)`` int64, for every entry a row of the batch other than its own
                (used where the mask is True).
        """
        if batch_size < 2:
            raise ValueError(f"batch_size: expected >= 2 rows to draw from, got {batch_size}")
        d = self.sample_shape[0]
        rank = torch.rand(batch_size, d, generator=generator).argsort(dim=1).argsort(dim=1)
        mask = rank < self.num_corrupted  # (B, D): a uniform subset of num_corrupted features
        offset = torch.randint(1, batch_size, (batch_size, d), generator=generator)  # (B, D)
        source = (torch.arange(batch_size)[:, None] + offset) % batch_size  # never the row itself
        return mask, source

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ = [anchors; corrupted views] ``(2B, D)`` float32, z ``(2B,)`` the paired rows."""
        self.check_batch(x)
        check_min_batch(x, 2, self.name, "corrupted values are drawn from other rows")
        check_cpu_generator(generator)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x: expected finite values, found NaN or inf")
        mask, source = self.sample_corruption(x.shape[0], generator)
        mask, source = mask.to(x.device), source.to(x.device)
        marginal = x.gather(0, source)  # (B, D): marginal[i, j] = x[source[i, j], j]
        corrupted = torch.where(mask, marginal, x)  # (B, D)
        return PretextBatch(torch.cat([x, corrupted]), pair_index(x.shape[0], x.device))

    def pretext_head(self, dim: int) -> nn.Module:
        """The projection MLP: ``(2B, dim)`` → ``(2B, out)``."""
        return projection_head(dim, self.hidden, self.out)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """InfoNCE of anchors against corrupted views ``(2B, out)``; metric: top-1 accuracy."""
        z_a, z_b = split_pairs(outputs, batch)  # (B, out) each: anchors, corrupted views
        result = self.criterion(z_a, z_b, details=True)
        return PretextLoss(result.loss, {"accuracy": float(result.accuracy)})

    def shard(self, batch: PretextBatch, batch_size: int, rank: int, world: int) -> PretextBatch:
        """This rank's anchors and corrupted views, paired among themselves."""
        return shard_pairs(batch, batch_size, rank, world)

    def describe(self, z: torch.Tensor) -> str:
        """``"pairs with view k"``."""
        return describe_pair(z)
