"""The pretext-task interface: raw x in, inputs x̃ and pseudolabels z out, with head and loss.

A pretext task P turns unlabeled data into a supervised problem: ``make_batch``
builds (x̃, z) from a raw batch, ``pretext_head`` builds k_γ for an encoder of width ``dim``,
``forward`` runs k_γ(h_θ(x̃)) (tasks with several views or patches override it), and ``loss``
returns L_pre with a metric. Tasks are plain objects; ``sslcore.pretext.PRETEXT_TASKS`` names them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from sslcore.errors import DataError

__all__ = [
    "IMAGE_MEAN",
    "IMAGE_STD",
    "PretextBatch",
    "PretextLoss",
    "PretextTask",
    "to_model_input",
]

# Images reach the encoder as (x / 255 − 0.5) / 0.25 per channel: one fixed, dataset-agnostic
# normalisation, so a pretrained encoder and its downstream task see the same scale.
IMAGE_MEAN = 0.5
IMAGE_STD = 0.25


@dataclass
class PretextBatch:
    """What a pretext task makes of a raw batch.

    Attributes:
        inputs: x̃, what the encoder sees: ``(B', C, H, W)`` float32 images or ``(B', D)``
            vectors; multi-view tasks stack their views along dim 0 (``B' = views · B``).
        pseudolabels: z, made without human labels: ``(B',)`` int64 classes for classification
            pretexts, the target tensor for generative ones, view-pair indices for contrastive.
        extras: what the loss needs besides (e.g. ``"mask"``), each a tensor.
    """

    inputs: torch.Tensor
    pseudolabels: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def shard(self, batch_size: int, rank: int, world: int) -> PretextBatch:
        """This rank's share of a batch made from `batch_size` raw samples.

        Every tensor is laid out as R blocks of `batch_size` rows (views, rotations, tiles are
        stacked block by block); each block keeps its rows ``[rank·b, (rank+1)·b)`` with
        ``b = batch_size / world``, so the ranks' shards together hold the whole batch and each
        sample's views stay on one rank.
        """
        if batch_size % world:
            raise ValueError(f"batch_size: {batch_size} does not split over {world} ranks")
        b = batch_size // world

        def part(t: torch.Tensor) -> torch.Tensor:
            if t.dim() == 0 or t.shape[0] % batch_size:
                raise ValueError(
                    f"shard: a tensor of shape {tuple(t.shape)} is not blocks of {batch_size} rows"
                )
            blocks = t.reshape(t.shape[0] // batch_size, batch_size, *t.shape[1:])
            return blocks[:, rank * b : (rank + 1) * b].reshape(-1, *t.shape[1:])

        return PretextBatch(
            part(self.inputs),
            part(self.pseudolabels),
            {k: part(v) for k, v in self.extras.items()},
        )

    def to(self, device: torch.device | str) -> PretextBatch:
        """The batch on `device` (a copy where it moves)."""
        return PretextBatch(
            self.inputs.to(device),
            self.pseudolabels.to(device),
            {k: v.to(device) for k, v in self.extras.items()},
        )


@dataclass
class PretextLoss:
    """L_pre (a differentiable () tensor) and plain-number metrics such as ``accuracy``."""

    loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class PretextTask(ABC):
    """One pretext task P. Subclasses set the class attributes and the three abstract methods.

    Args:
        sample_shape: the raw samples' shape, ``(C, H, W)`` or ``(D,)``; heads that reconstruct
            the input are sized from it.
    """

    name: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]]  # "image", "vector"
    paper: ClassVar[str] = ""
    default_batch_size: ClassVar[int] = 128  # raw samples per step when the config gives none

    def __init__(self, sample_shape: Sequence[int]) -> None:
        self.sample_shape = tuple(int(s) for s in sample_shape)
        modality = "image" if len(self.sample_shape) == 3 else "vector"
        if len(self.sample_shape) not in (1, 3) or min(self.sample_shape, default=0) < 1:
            raise ValueError(
                f"sample_shape: expected (C, H, W) or (D,) with positive sizes, "
                f"got {self.sample_shape}"
            )
        if modality not in self.modalities:
            raise DataError(
                f"pretext task {self.name!r} works on {' or '.join(self.modalities)} data, "
                f"not {modality} data of shape {self.sample_shape}"
            )
        self.modality = modality

    def check_batch(self, x: torch.Tensor) -> None:
        """Raises a clear error unless `x` is a raw batch of this task's samples."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if tuple(x.shape[1:]) != self.sample_shape or x.dim() != len(self.sample_shape) + 1:
            raise ValueError(
                f"x: expected a batch of shape (B, {', '.join(map(str, self.sample_shape))}), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[0] == 0:
            raise ValueError("x: expected a non-empty batch, got B = 0")
        want = torch.uint8 if self.modality == "image" else torch.float32
        if x.dtype != want:
            raise TypeError(f"x: expected {want} {self.modality} data, got {x.dtype}")

    @abstractmethod
    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """(x̃, z) from a raw batch `x`: uint8 ``(B, C, H, W)`` images or float32 ``(B, D)``."""

    @abstractmethod
    def pretext_head(self, dim: int) -> nn.Module:
        """k_γ for an encoder whose features are ``(B, dim)``."""

    def shard(self, batch: PretextBatch, batch_size: int, rank: int, world: int) -> PretextBatch:
        """This rank's share of `batch` (see ``PretextBatch.shard``); pairing tasks renumber z."""
        return batch.shard(batch_size, rank, world)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: PretextBatch) -> Any:
        """k_γ(h_θ(x̃)); tasks that encode several patches or views override it."""
        return head(encoder(batch.inputs))

    @abstractmethod
    def loss(self, outputs: Any, batch: PretextBatch) -> PretextLoss:
        """L_pre of `outputs` (from `forward`) against the batch's pseudolabels."""

    def describe(self, z: torch.Tensor) -> str:
        """One pseudolabel as text for the dashboard's gallery (e.g. ``"90°"``)."""
        return str(z.tolist()) if z.dim() else str(z.item())


def to_model_input(x: torch.Tensor) -> torch.Tensor:
    """Raw uint8 images to the encoder's float32 scale; float vectors pass through."""
    if x.dtype == torch.uint8:
        from sslcore import ops

        return ops.images_to_float(x, [IMAGE_MEAN] * x.shape[1], [IMAGE_STD] * x.shape[1])
    return x
