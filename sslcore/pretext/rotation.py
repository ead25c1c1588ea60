"""Rotation prediction (Gidaris, Singh & Komodakis 2018): which of four rotations was applied?"""

from __future__ import annotations

import torch
from torch import nn

from sslcore.models.heads import linear_head, mlp_head
from sslcore.pretext._classification import classification_loss
from sslcore.pretext._sampling import check_generator, randint
from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask, to_model_input

__all__ = ["Rotation"]


class Rotation(PretextTask):
    """RotNet: predict by how many quarter turns an image was rotated.

    Gidaris, Singh & Komodakis, "Unsupervised Representation Learning by Predicting Image
    Rotations", ICLR 2018 (arXiv:1803.07728). The network sees each image rotated by 0°, 90°,
    180° and 270° and must say which; recognising the rotation needs the object's canonical
    orientation, hence its shape and parts.

    z ∈ {0, 1, 2, 3} is the number of quarter turns counter-clockwise (as displayed, row 0 at
    the top; ``torch.rot90(x, z, dims=(2, 3))``) applied to the raw uint8 image.

    Non-square images would change shape under a quarter turn, and zero-padding them to a square
    would give the orientation away through the padding, so they are rotated by 0° and 180° only
    (z ∈ {0, 2}); the head still has 4 outputs so z keeps its meaning.

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        all_rotations: every rotation of every image, as in the paper (x̃ is ``(R·B, C, H, W)``
            with R = 4, or 2 for non-square images); otherwise one rotation per image drawn
            from the generator (x̃ is ``(B, C, H, W)``).
        hidden: width of an MLP head (Linear–BatchNorm–ReLU–Linear); None for a linear head.
    """

    name = "rotation"
    modalities = ("image",)
    paper = (
        "Gidaris, Singh & Komodakis, Unsupervised Representation Learning by Predicting "
        "Image Rotations, ICLR 2018"
    )
    num_classes = 4
    default_batch_size = 64  # x 4 rotations = 256 rows a step, as many as SimCLR's 2 x 128

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        *,
        all_rotations: bool = True,
        hidden: int | None = None,
    ) -> None:
        super().__init__(sample_shape)
        if hidden is not None and (
            isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1
        ):
            raise ValueError(f"hidden: expected None or an int >= 1, got {hidden!r}")
        self.all_rotations = bool(all_rotations)
        self.hidden = hidden
        _, height, width = self.sample_shape
        # Quarter turns that keep the image's shape.
        self.rotations: tuple[int, ...] = (0, 1, 2, 3) if height == width else (0, 2)

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ ``(R·B or B, C, H, W)`` float32 rotated images; z ``(R·B or B,)`` quarter turns.

        With ``all_rotations``, the views are stacked rotation-major: rows ``[r·B, (r+1)·B)``
        are the whole batch turned by ``self.rotations[r]``.
        """
        self.check_batch(x)
        check_generator(generator)
        batch = x.shape[0]
        if self.all_rotations:
            rotated = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in self.rotations])
            z = torch.tensor(self.rotations, device=x.device).repeat_interleave(batch)  # (R·B,)
        else:
            choice = randint(len(self.rotations), (batch,), generator, x.device)  # (B,)
            z = torch.tensor(self.rotations, device=x.device)[choice]  # (B,)
            rotated = x.clone()
            for k in self.rotations[1:]:
                rows = z == k
                rotated[rows] = torch.rot90(x[rows], k, dims=(2, 3))
        return PretextBatch(inputs=to_model_input(rotated), pseudolabels=z)

    def pretext_head(self, dim: int) -> nn.Module:
        """k_γ: features ``(B, dim)`` → 4 rotation logits."""
        if self.hidden is None:
            return linear_head(dim, self.num_classes)
        return mlp_head(dim, self.hidden, self.num_classes)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """Cross-entropy of the ``(B', 4)`` logits against z, with accuracy."""
        return classification_loss(outputs, batch.pseudolabels)

    def describe(self, z: torch.Tensor) -> str:
        """``"0°"``, ``"90°"``, ``"180°"`` or ``"270°"``."""
        turns = int(z)
        if not 0 <= turns < self.num_classes:
            raise ValueError(f"z: expected a quarter-turn count in [0, 4), got {turns}")
        return f"{turns * 90}°"
