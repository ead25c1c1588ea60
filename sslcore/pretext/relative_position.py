"""Relative patch position (Doersch, Gupta & Efros 2015): where is the second patch?"""

from __future__ import annotations

import torch
from torch import nn

from sslcore.models.heads import mlp_head
from sslcore.pretext._classification import classification_loss
from sslcore.pretext._grid import TileGrid, crop_tiles
from sslcore.pretext._sampling import check_generator, randint
from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask, to_model_input

__all__ = ["NEIGHBOURS", "RelativePosition"]

# z → the neighbour's name; the 3×3 grid's tiles in raster order, the centre (4) left out.
NEIGHBOURS: tuple[str, ...] = (
    "top-left",
    "top",
    "top-right",
    "left",
    "right",
    "bottom-left",
    "bottom",
    "bottom-right",
)
_CENTRE = 4
_NEIGHBOUR_TILES = (0, 1, 2, 3, 5, 6, 7, 8)  # z → tile index in the 3×3 raster


class RelativePosition(PretextTask):
    """Context prediction: given the centre patch, say which of its 8 neighbours the other is.

    Doersch, Gupta & Efros, "Unsupervised Visual Representation Learning by Context Prediction",
    ICCV 2015 (arXiv:1505.05192). Both patches go through the same encoder, their features are
    concatenated (centre first) and an MLP classifies the spatial configuration; telling "top"
    from "bottom-left" needs to recognise objects and their parts.

    z ∈ {0, …, 7} indexes :data:`NEIGHBOURS`: top-left, top, top-right, left, right,
    bottom-left, bottom, bottom-right of the centre.

    Patches are tiles of a 3×3 grid (``sslcore.pretext._grid``): cells of ``(H // 3, W // 3)``
    pixels, patches of ``cell − gap − jitter`` at least `gap` pixels apart, each moved by up to
    `jitter` pixels in its cell (the paper: 96-pixel patches, 48-pixel gaps, up to 7 pixels of
    jitter, so that edges and textures do not continue from one patch into the other). For
    32×32 images the defaults give 8×8 patches in 10×10 cells (gap 1, jitter 1).

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        gap: least pixels between the two patches; default ``cell // 10``.
        jitter: most pixels a patch moves in its cell; default ``cell // 10``.
        hidden: width of the MLP head.
    """

    name = "relative_position"
    modalities = ("image",)
    paper = (
        "Doersch, Gupta & Efros, Unsupervised Visual Representation Learning by Context "
        "Prediction, ICCV 2015"
    )
    num_classes = len(NEIGHBOURS)

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        *,
        gap: int | None = None,
        jitter: int | None = None,
        hidden: int = 256,
    ) -> None:
        super().__init__(sample_shape)
        _, height, width = self.sample_shape
        self.grid = TileGrid.for_images(height, width, 3, gap, jitter)
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden: expected an int >= 1, got {hidden!r}")
        self.hidden = hidden

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ ``(2·B, C, ph, pw)`` float32 patches; z ``(B,)`` neighbour indices.

        Rows ``[0, B)`` are the centre patches and rows ``[B, 2·B)`` their neighbours.
        ``extras["origins"]`` ``(B, 2, 2)`` holds the top-left ``(row, col)`` of the centre and
        of the neighbour patch in x, so the crops can be replayed.
        """
        self.check_batch(x)
        check_generator(generator)
        batch = x.shape[0]
        grid_origins = self.grid.sample_origins(batch, generator, x.device)  # (B, 9, 2)
        z = randint(self.num_classes, (batch,), generator, x.device)  # (B,)
        neighbour = torch.tensor(_NEIGHBOUR_TILES, device=x.device)[z]  # (B,) tile index
        picked = torch.stack([torch.full_like(neighbour, _CENTRE), neighbour], dim=1)  # (B, 2)
        origins = grid_origins[torch.arange(batch, device=x.device)[:, None], picked]  # (B, 2, 2)
        patches = crop_tiles(x, origins, self.grid.tile)  # (B, 2, C, ph, pw) uint8
        stacked = patches.transpose(0, 1).reshape(2 * batch, *patches.shape[2:])
        return PretextBatch(
            inputs=to_model_input(stacked), pseudolabels=z, extras={"origins": origins}
        )

    def pretext_head(self, dim: int) -> nn.Module:
        """k_γ: the concatenated centre and neighbour features ``(B, 2·dim)`` → 8 logits."""
        return mlp_head(2 * dim, self.hidden, self.num_classes)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: PretextBatch) -> torch.Tensor:
        """Logits ``(B, 8)``: both patches through the shared encoder, features concatenated."""
        batch_size = batch.pseudolabels.shape[0]
        features = encoder(batch.inputs)  # (2·B, D)
        centre, other = features[:batch_size], features[batch_size:]  # (B, D) each
        return head(torch.cat([centre, other], dim=1))  # (B, 2·D) → (B, 8)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """Cross-entropy of the ``(B, 8)`` logits against z, with accuracy."""
        return classification_loss(outputs, batch.pseudolabels)

    def describe(self, z: torch.Tensor) -> str:
        """The neighbour's name, e.g. ``"top-left"``."""
        index = int(z)
        if not 0 <= index < self.num_classes:
            raise ValueError(
                f"z: expected a neighbour index in [0, {self.num_classes}), got {index}"
            )
        return NEIGHBOURS[index]
