"""The tile grid shared by Jigsaw and RelativePosition: g×g equal tiles with a gap and a jitter.

Each image is split into g×g cells of ``(H // g, W // g)`` pixels (the ``H mod g`` leftover rows
and columns form a margin; the grid's origin is drawn uniformly inside it). A tile is
``cell − gap − jitter`` pixels on a side and sits in its cell at a random offset in
``[0, jitter]``, so neighbouring tiles are always at least `gap` pixels apart (at most
``gap + 2 · jitter``): edges never continue from one tile into the next, which would let the
network solve the task from low-level cues (Doersch et al. 2015, sec. 3; Noroozi & Favaro 2016,
sec. 3.2). Offsets are sampled in one place (:meth:`TileGrid.sample_origins`) and applied in
another (:func:`crop_tiles`), so a batch's tiles can be replayed from its origins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sslcore.pretext._sampling import randint

__all__ = ["TileGrid", "crop_tiles"]


@dataclass(frozen=True)
class TileGrid:
    """Geometry of a g×g tile grid in ``(H, W)`` images; build it with :meth:`for_images`.

    Attributes:
        grid: g, tiles per side (``g · g`` tiles in raster order, top-left first).
        cell: ``(H // g, W // g)``, the pixels each tile's cell spans.
        tile: ``(cell_h − gap − jitter, cell_w − gap − jitter)``, the tile size.
        gap: least pixels between neighbouring tiles.
        jitter: most pixels a tile moves inside its cell.
        margin: ``(H − g · cell_h, W − g · cell_w)``, the room to shift the whole grid.
    """

    grid: int
    cell: tuple[int, int]
    tile: tuple[int, int]
    gap: int
    jitter: int
    margin: tuple[int, int]

    @classmethod
    def for_images(
        cls, height: int, width: int, grid: int, gap: int | None = None, jitter: int | None = None
    ) -> TileGrid:
        """The grid for `height` × `width` images; `gap` and `jitter` default to ``cell // 10``.

        Raises:
            ValueError: `grid` < 2, a negative `gap` or `jitter`, or tiles of less than 1 pixel.
        """
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 2:
            raise ValueError(f"grid: expected an int >= 2, got {grid!r}")
        cell = (height // grid, width // grid)
        auto = min(cell) // 10  # 1 px for 32-px images (cells of 10), 0 for 8-px digits
        gap = auto if gap is None else gap
        jitter = auto if jitter is None else jitter
        for name, value in (("gap", gap), ("jitter", jitter)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
        tile = (cell[0] - gap - jitter, cell[1] - gap - jitter)
        if min(tile) < 1:
            raise ValueError(
                f"a {grid}x{grid} grid of {height}x{width} images has cells of {cell[0]}x{cell[1]} "
                f"px, too small for gap={gap} and jitter={jitter} (tile = cell - gap - jitter "
                f"must be >= 1); lower them or the grid size, or resize the images"
            )
        margin = (height - grid * cell[0], width - grid * cell[1])
        return cls(grid=grid, cell=cell, tile=tile, gap=gap, jitter=jitter, margin=margin)

    @property
    def num_tiles(self) -> int:
        """The number of tiles, g · g."""
        return self.grid * self.grid

    def sample_origins(
        self, batch: int, generator: torch.Generator, device: torch.device
    ) -> torch.Tensor:
        """Top-left pixel ``(row, col)`` of every tile: ``(B, g·g, 2)`` int64, raster order."""
        g, (ch, cw) = self.grid, self.cell
        steps = torch.arange(g, device=device)
        base = torch.stack(
            [(steps * ch).repeat_interleave(g), (steps * cw).repeat(g)], dim=1
        )  # (g·g, 2)
        shift = torch.stack(
            [
                randint(self.margin[0] + 1, (batch,), generator, device),
                randint(self.margin[1] + 1, (batch,), generator, device),
            ],
            dim=1,
        )  # (B, 2): the whole grid's place inside the margin
        jitter = randint(self.jitter + 1, (batch, g * g, 2), generator, device)  # (B, g·g, 2)
        return base + shift[:, None, :] + jitter


def crop_tiles(x: torch.Tensor, origins: torch.Tensor, tile: tuple[int, int]) -> torch.Tensor:
    """The tiles of `x` ``(B, C, H, W)`` at `origins` ``(B, T, 2)``: ``(B, T, C, th, tw)``.

    A gather, so it works on the raw uint8 images and keeps their dtype.
    """
    th, tw = tile
    b = torch.arange(x.shape[0], device=x.device)[:, None, None, None]  # (B, 1, 1, 1)
    rows = origins[..., 0, None] + torch.arange(th, device=x.device)  # (B, T, th)
    cols = origins[..., 1, None] + torch.arange(tw, device=x.device)  # (B, T, tw)
    # Advanced indices split by the channel slice put their broadcast shape first.
    tiles = x[b, :, rows[..., :, None], cols[..., None, :]]  # (B, T, th, tw, C)
    return tiles.permute(0, 1, 4, 2, 3).contiguous()
