"""Losses of the pretext tasks, one class each with its paper in the docstring.

InfoNCE runs through ``sslcore.ops.info_nce`` (the tiled kernel: O(N·D) memory, never the N × N
logits). Further pretext losses join this module as the pretext tasks that use them land.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sslcore.distributed import rank_and_world
from sslcore.ops import INFO_NCE_FORMS, InfoNCEOutput, info_nce

__all__ = ["InfoNCELoss"]


class InfoNCELoss(nn.Module):
    """NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR.

    Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
    Representations", ICML 2020 (arXiv:2002.05709), eq. 1: for the 2N views of a batch,
    ℓ_i = −log exp(sim(z_i, z_p(i))/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ), averaged over the 2N rows,
    with sim the cosine similarity. ``form="clip"`` gives the symmetric one-directional form of
    CLIP (Radford et al. 2021): z_a's rows against z_b's, both directions averaged.

    Args:
        temperature: τ > 0 (SimCLR: 0.1–0.5; 0.5 in its CIFAR-10 experiments).
        normalize: L2-normalise the embeddings (cosine similarity, as in the paper).
        form: ``"ntxent"`` or ``"clip"``.
        gather: negatives from every rank (gathered with gradient); None (the default) does
            so whenever torch.distributed runs with more than one rank, so a pretext task
            trained with torchrun sees its global batch's negatives, as SimCLR's TPU pods did.
    """

    def __init__(
        self,
        temperature: float = 0.5,
        *,
        normalize: bool = True,
        form: str = "ntxent",
        gather: bool | None = None,
    ) -> None:
        super().__init__()
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TypeError(f"temperature: expected a float, got {type(temperature).__name__}")
        if not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
        if form not in INFO_NCE_FORMS:
            raise ValueError(f"form: expected one of {INFO_NCE_FORMS}, got {form!r}")
        self.temperature = float(temperature)
        self.normalize = bool(normalize)
        self.form = form
        self.gather = None if gather is None else bool(gather)

    def forward(
        self, z_a: torch.Tensor, z_b: torch.Tensor, *, details: bool = False
    ) -> torch.Tensor | InfoNCEOutput:
        """The () loss of embeddings z_a, z_b (N, D), row i of each a view of the same input.

        With ``details``, an InfoNCEOutput: also the per-row losses and the top-1 accuracy.
        """
        return info_nce(
            z_a,
            z_b,
            self.temperature,
            normalize=self.normalize,
            form=self.form,
            gather=rank_and_world()[1] > 1 if self.gather is None else self.gather,
            details=details,
        )

    def extra_repr(self) -> str:
        """The settings, shown by print(module)."""
        return (
            f"temperature={self.temperature}, normalize={self.normalize}, form={self.form!r}, "
            f"gather={self.gather}"
        )
