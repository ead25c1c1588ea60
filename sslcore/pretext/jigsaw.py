"""Jigsaw puzzles (Noroozi & Favaro 2016): which permutation shuffled the image's tiles?"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from sslcore.models.heads import mlp_head
from sslcore.pretext._classification import classification_loss
from sslcore.pretext._grid import TileGrid, crop_tiles
from sslcore.pretext._sampling import check_generator, randint
from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask, to_model_input

__all__ = ["Jigsaw", "hamming_permutations"]

_EXHAUSTIVE_TILES = 9  # up to 9! = 362,880 candidates are enumerated; beyond, a random pool
_POOL_SIZE = 100_000


@lru_cache(maxsize=4)
def _all_permutations(n_tiles: int) -> np.ndarray:
    """All permutations of range(n_tiles), ``(n!, n)`` uint8, built by inserting 0, 1, … in turn."""
    perms = np.zeros((1, 0), dtype=np.uint8)
    for m in range(n_tiles):  # m goes into each of the m + 1 places of every perm of range(m)
        new = np.full((perms.shape[0], 1), m, dtype=np.uint8)
        perms = np.concatenate(
            [np.concatenate([perms[:, :i], new, perms[:, i:]], axis=1) for i in range(m + 1)]
        )
    return perms


@lru_cache(maxsize=16)
def _hamming_permutations(n_tiles: int, count: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    if n_tiles <= _EXHAUSTIVE_TILES:
        pool = _all_permutations(n_tiles)
    else:  # n! is out of reach: a seeded pool of distinct random permutations
        draws = torch.rand(_POOL_SIZE, n_tiles, generator=gen).argsort(dim=1)
        pool = np.unique(draws.numpy().astype(np.uint8), axis=0)
    if count > pool.shape[0]:
        raise ValueError(
            f"count: {n_tiles} tiles have only {pool.shape[0]} candidate permutations, "
            f"asked for {count}"
        )
    # A seeded shuffle makes the first pick and the tie-breaking (first maximum) seed-dependent.
    order = torch.randperm(pool.shape[0], generator=gen).numpy()
    columns = np.ascontiguousarray(pool[order].T)  # (n, M): one row per tile position
    # NumPy rather than torch: integer work that gains nothing from threads on a shared machine.

    def distances(j: int) -> np.ndarray:  # (M,) Hamming distance of every candidate to pick j
        dist = np.zeros(columns.shape[1], dtype=np.uint8)
        for position in columns:
            dist += position != position[j]
        return dist

    chosen = [0]
    min_dist = distances(0)  # (M,) distance to the chosen set
    for _ in range(count - 1):
        j = int(min_dist.argmax())  # the candidate farthest from everything chosen so far
        chosen.append(j)
        np.minimum(min_dist, distances(j), out=min_dist)
    return columns[:, chosen].T.astype(np.int64)


def hamming_permutations(n_tiles: int, count: int, seed: int = 0) -> torch.Tensor:
    """`count` permutations of range(`n_tiles`) spread apart in Hamming distance, greedily.

    Noroozi & Favaro (2016, sec. 3.2 and supplementary Algorithm 1) pick the puzzle permutations
    one at a time, each the candidate farthest from those already picked, so that no two puzzles
    are nearly the same and the task stays well posed. This is the max–min version: each pick
    maximises its *minimum* Hamming distance to the chosen set (farthest-point sampling; the
    paper's Algorithm 1 maximises the average), which is what bounds the closest pair. The first
    pick and the tie-breaking come from `seed`, so the result is deterministic. All ``n!``
    permutations are candidates for ``n_tiles <= 9``; above, a seeded pool of 100,000.

    Args:
        n_tiles: number of tiles n in [2, 255] (9 for a 3×3 puzzle).
        count: P, the number of permutations, in ``[1, n!]``.
        seed: seed of the first pick and of the tie-breaking.

    Returns:
        ``(P, n_tiles)`` int64, distinct rows, each a permutation of ``range(n_tiles)``.
    """
    for name, value, low in (("n_tiles", n_tiles, 2), ("count", count, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")
    if n_tiles > 255:  # tile indices and distances are held in uint8
        raise ValueError(f"n_tiles: expected at most 255 tiles, got {n_tiles}")
    if n_tiles <= _EXHAUSTIVE_TILES and count > math.factorial(n_tiles):
        raise ValueError(
            f"count: {n_tiles} tiles have only {math.factorial(n_tiles)} permutations, "
            f"asked for {count}"
        )
    return torch.from_numpy(_hamming_permutations(n_tiles, count, seed).copy())


class Jigsaw(PretextTask):
    """Solve a jigsaw puzzle: name the permutation that shuffled an image's g×g tiles.

    Noroozi & Favaro, "Unsupervised Learning of Visual Representations by Solving Jigsaw
    Puzzles", ECCV 2016 (arXiv:1603.09246). Each tile goes through the same encoder on its own
    (the paper's context-free network), the tile features are concatenated in the shuffled
    order, and an MLP names the permutation among P chosen by :func:`hamming_permutations`.

    z ∈ {0, …, P−1} is the index of the permutation: shuffled position k holds the image's
    tile ``permutations[z][k]`` (tiles numbered in raster order, top-left = 0).

    Tiles follow ``sslcore.pretext._grid``: cells of ``(H // g, W // g)`` pixels, tiles of
    ``cell − gap − jitter`` with at least `gap` pixels between neighbours and a random offset
    of up to `jitter` in the cell (the paper: 64-pixel tiles in 75-pixel cells). For 32×32
    images and g = 3 the defaults give 8×8 tiles in 10×10 cells (gap 1, jitter 1).

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        grid: g, tiles per side.
        permutations: P, the number of puzzles (classes); the paper found 1000 best on ImageNet.
        gap: least pixels between neighbouring tiles; default ``cell // 10``.
        jitter: most pixels a tile moves in its cell; default ``cell // 10``.
        hidden: width of the MLP head.
        seed: seed of :func:`hamming_permutations` (fixed per task, not per batch).
    """

    name = "jigsaw"
    modalities = ("image",)
    paper = (
        "Noroozi & Favaro, Unsupervised Learning of Visual Representations by Solving Jigsaw "
        "Puzzles, ECCV 2016"
    )

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        *,
        grid: int = 3,
        permutations: int = 24,
        gap: int | None = None,
        jitter: int | None = None,
        hidden: int = 256,
        seed: int = 0,
    ) -> None:
        super().__init__(sample_shape)
        _, height, width = self.sample_shape
        self.grid = TileGrid.for_images(height, width, grid, gap, jitter)
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden: expected an int >= 1, got {hidden!r}")
        self.hidden = hidden
        self.permutations = hamming_permutations(self.grid.num_tiles, permutations, seed)  # (P, T)
        self.num_classes = int(self.permutations.shape[0])

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ ``(T·B, C, th, tw)`` float32 tiles; z ``(B,)`` permutation indices.

        Tiles are stacked position-major: rows ``[k·B, (k+1)·B)`` are every puzzle's tile at
        shuffled position k. ``extras["origins"]`` ``(B, T, 2)`` holds each image tile's top-left
        ``(row, col)`` in x, in raster order, so the crops can be replayed.
        """
        self.check_batch(x)
        check_generator(generator)
        batch, channels = x.shape[:2]
        tiles_n = self.grid.num_tiles
        origins = self.grid.sample_origins(batch, generator, x.device)  # (B, T, 2)
        tiles = crop_tiles(x, origins, self.grid.tile)  # (B, T, C, th, tw) uint8
        z = randint(self.num_classes, (batch,), generator, x.device)  # (B,)
        order = self.permutations.to(x.device)[z]  # (B, T): shuffled position k ← tile order[k]
        shuffled = tiles[torch.arange(batch, device=x.device)[:, None], order]  # (B, T, C, th, tw)
        stacked = shuffled.transpose(0, 1).reshape(tiles_n * batch, channels, *self.grid.tile)
        return PretextBatch(
            inputs=to_model_input(stacked), pseudolabels=z, extras={"origins": origins}
        )

    def pretext_head(self, dim: int) -> nn.Module:
        """k_γ: the T concatenated tile features ``(B, T·dim)`` → P permutation logits."""
        return mlp_head(self.grid.num_tiles * dim, self.hidden, self.num_classes)

    def forward(self, encoder: nn.Module, head: nn.Module, batch: PretextBatch) -> torch.Tensor:
        """Logits ``(B, P)``: every tile through the shared encoder, features joined per puzzle."""
        batch_size = batch.pseudolabels.shape[0]
        features = encoder(batch.inputs)  # (T·B, D)
        per_puzzle = features.view(self.grid.num_tiles, batch_size, -1).transpose(0, 1)
        return head(per_puzzle.reshape(batch_size, -1))  # (B, T·D) → (B, P)

    def loss(self, outputs: torch.Tensor, batch: PretextBatch) -> PretextLoss:
        """Cross-entropy of the ``(B, P)`` logits against z, with accuracy."""
        return classification_loss(outputs, batch.pseudolabels)

    def describe(self, z: torch.Tensor) -> str:
        """``"perm 7: 2 0 1 …"``: the index and the tile order it stands for."""
        index = int(z)
        if not 0 <= index < self.num_classes:
            raise ValueError(
                f"z: expected a permutation index in [0, {self.num_classes}), got {index}"
            )
        return f"perm {index}: " + " ".join(str(t) for t in self.permutations[index].tolist())
