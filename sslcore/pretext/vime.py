"""VIME: corrupt random features of a table row, then estimate the mask and the original row.

Yoon, Zhang, Jordon & van der Schaar 2020, "VIME: Extending the Success of Self- and
Semi-supervised Learning to Tabular Domain" (NeurIPS). The self-supervised part: mask estimation
plus feature estimation from a row whose masked features were replaced by draws from each
feature's empirical marginal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sslcore.pretext._sampling import check_generator
from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask

__all__ = ["VIMEHead", "VIMEMasking"]


class VIMEHead(nn.Module):
    """VIME's two estimators: features ``(B, dim)`` → (mask logits, features), each ``(B, D)``.

    The paper's mask estimator s_m and feature estimator s_r, here single linear layers (the
    paper's are one dense layer each too, with sigmoid outputs for min-max-scaled features; our
    features are standardised, so the feature layer stays linear and the mask layer gives logits).
    """

    def __init__(self, dim: int, num_features: int) -> None:
        super().__init__()
        self.mask = nn.Linear(dim, num_features)
        self.features = nn.Linear(dim, num_features)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits ``(B, D)`` and reconstructed features ``(B, D)`` from ``(B, dim)``."""
        return self.mask(h), self.features(h)


class VIMEMasking(PretextTask):
    """VIME's pretext: mask estimation and feature reconstruction on corrupted rows.

    Each feature of each row is selected with probability ``p_m``; a selected entry takes the
    value of the same feature in another row of the batch. As in the paper, every column is
    permuted independently, so each column of the replacement values is the column itself
    reordered: its empirical marginal exactly. The permutation is a random single cycle, so no
    entry draws from its own row (a plain permutation can, and the paper then unmasks it).

    - x̃ ``(B, D)``: the corrupted rows.
    - z ``(B, D)`` float32 0/1 (``pseudolabels``): the mask, 1 where x̃ differs from x. As in the
      paper's code (``m_new = 1 * (x != x_tilde)``), a selected entry whose drawn value equals its
      own (repeated values in a column) counts as unmasked: nothing there to detect.
    - ``extras["target"]`` ``(B, D)``: the original rows x, the feature-estimation target.

    The loss is ``BCE(mask logits, z) + alpha · MSE(features, x)``, the MSE over all features as
    in the paper.

    Args:
        sample_shape: ``(D,)``.
        p_m: the probability of selecting a feature for corruption, in (0, 1).
        alpha: the weight of the feature-reconstruction term, >= 0 (the paper's default 2.0).
    """

    name: ClassVar[str] = "vime"
    modalities: ClassVar[tuple[str, ...]] = ("vector",)
    paper: ClassVar[str] = (
        "Yoon et al. 2020, VIME: Extending the Success of Self- and Semi-supervised Learning "
        "to Tabular Domain (NeurIPS)"
    )

    def __init__(self, sample_shape: Sequence[int], p_m: float = 0.3, alpha: float = 2.0) -> None:
        super().__init__(sample_shape)
        if isinstance(p_m, bool) or not isinstance(p_m, int | float) or not 0.0 < p_m < 1.0:
            raise ValueError(f"p_m: expected a probability in (0, 1), got {p_m!r}")
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or not math.isfinite(alpha)
            or alpha < 0
        ):
            raise ValueError(f"alpha: expected a finite number >= 0, got {alpha!r}")
        self.p_m = float(p_m)
        self.alpha = float(alpha)

    def draw_from_marginals(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(B, D)``: every column of `x` reordered by its own random single-cycle permutation."""
        b, d = x.shape
        keys = torch.rand(b, d, generator=generator, device=generator.device)
        order = keys.argsort(dim=0).to(x.device)  # (B, D): a random permutation per column
        # Row order[k] takes its value from row order[k + 1]: one cycle through all B rows.
        source = torch.empty_like(order).scatter_(0, order, order.roll(-1, dims=0))  # (B, D)
        return x.gather(0, source)

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ = corrupted rows, z = the 0/1 mask of changed entries, extras["target"] = x."""
        self.check_batch(x)
        check_generator(generator)
        if x.shape[0] < 2:
            raise ValueError(
                f"x: VIME draws replacement values from other rows, so it needs a batch of at "
                f"least 2 rows, got B = {x.shape[0]}"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x: expected finite features, found NaN or inf")
        selected = torch.rand(x.shape, generator=generator, device=generator.device) < self.p_m
        drawn = self.draw_from_marginals(x, generator)  # (B, D)
        inputs = torch.where(selected.to(x.device), drawn, x)  # (B, D)
        mask = (inputs != x).float()  # (B, D) 0/1
        return PretextBatch(inputs, mask, {"target": x})

    def pretext_head(self, dim: int) -> nn.Module:
        """A :class:`VIMEHead` ``(B, dim)`` → (mask logits, features), each ``(B, D)``."""
        return VIMEHead(dim, self.sample_shape[0])

    def loss(self, outputs: Any, batch: PretextBatch) -> PretextLoss:
        """``BCE + alpha · MSE``; metrics ``mask_accuracy``, ``mask_bce`` and ``mse``."""
        mask, target = batch.pseudolabels, batch.extras["target"]
        if (
            not isinstance(outputs, tuple | list)
            or len(outputs) != 2
            or not all(isinstance(o, torch.Tensor) and o.shape == mask.shape for o in outputs)
        ):
            raise ValueError(
                f"outputs: expected (mask logits, features), two tensors of shape "
                f"{tuple(mask.shape)}, as VIMEHead returns"
            )
        logits, features = outputs
        bce = F.binary_cross_entropy_with_logits(logits, mask)
        mse = F.mse_loss(features, target)
        accuracy = ((logits > 0).float() == mask).float().mean()
        return PretextLoss(
            bce + self.alpha * mse,
            {
                "mask_accuracy": float(accuracy),
                "mask_bce": float(bce.detach()),
                "mse": float(mse.detach()),
            },
        )

    def describe(self, z: torch.Tensor) -> str:
        """The mask of one row ``(D,)`` as text, e.g. ``"4 of 13 features masked"``."""
        return f"{int(z.sum())} of {z.numel()} features masked"
