"""Jigsaw (Noroozi & Favaro 2016): the Hamming permutations, tiles against known regions and
replayed crops, the forward layout, determinism, checks, and a tiny training run."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from sslcore.data import make_shapes
from sslcore.errors import DataError
from sslcore.pretext.base import to_model_input
from sslcore.pretext.jigsaw import Jigsaw, hamming_permutations
from tests.pretext.classification import raw, region_image, relative_drop, train


def pairwise_hamming(perms: torch.Tensor) -> torch.Tensor:
    """``(P, P)`` Hamming distances, the diagonal set to n + 1 so a min skips it."""
    d = (perms[:, None, :] != perms[None, :, :]).sum(-1)
    return d + torch.eye(len(perms), dtype=d.dtype) * (perms.shape[1] + 1)


def test_hamming_permutations_are_distinct_and_far_apart():
    perms = hamming_permutations(9, 24, seed=0)
    assert perms.shape == (24, 9) and perms.dtype == torch.int64
    assert all(sorted(p) == list(range(9)) for p in perms.tolist())
    assert len({tuple(p) for p in perms.tolist()}) == 24
    # Max–min greedy over all 9! candidates reaches 7 for every seed tried (the best 24-code
    # has distance >= 8; a random set of 24 typically has pairs at distance 2 to 4).
    for seed in range(3):
        assert int(pairwise_hamming(hamming_permutations(9, 24, seed)).min()) >= 7
    assert int(pairwise_hamming(hamming_permutations(9, 9, seed=0)).min()) == 9  # a Latin square
    assert int(pairwise_hamming(hamming_permutations(9, 100, seed=0)).min()) >= 6


def test_hamming_permutations_replay_for_a_seed():
    a = hamming_permutations(9, 24, seed=3)
    assert torch.equal(a, hamming_permutations(9, 24, seed=3))
    assert not torch.equal(a, hamming_permutations(9, 24, seed=4))
    a[0, 0] = 99  # the caller's copy: the cached result stays intact
    assert int(hamming_permutations(9, 24, seed=3)[0, 0]) != 99


def test_hamming_permutations_follow_the_greedy_rule():
    # Naive oracle over all 5! permutations: every pick after the first is at the largest
    # possible minimum distance from the picks before it.
    perms = [tuple(p) for p in hamming_permutations(5, 12, seed=1).tolist()]
    everything = list(itertools.permutations(range(5)))

    def distance_to(chosen, p):
        return min(sum(a != b for a, b in zip(p, q, strict=True)) for q in chosen)

    for k in range(1, len(perms)):
        best = max(distance_to(perms[:k], p) for p in everything)
        assert distance_to(perms[:k], perms[k]) == best


def test_hamming_permutations_for_big_grids_and_bad_arguments():
    perms = hamming_permutations(16, 10, seed=0)  # 16! candidates: a seeded random pool
    assert perms.shape == (10, 16) and all(sorted(p) == list(range(16)) for p in perms.tolist())
    assert int(pairwise_hamming(perms).min()) >= 14
    assert hamming_permutations(3, 6).shape == (6, 3)  # all of 3!
    with pytest.raises(ValueError, match="only 6"):
        hamming_permutations(3, 7)
    for bad in (
        {"n_tiles": 1, "count": 1},
        {"n_tiles": 9, "count": 0},
        {"n_tiles": 9, "count": 2, "seed": -1},
    ):
        with pytest.raises(ValueError):
            hamming_permutations(**bad)


def test_tiles_follow_the_permutation_on_constant_regions():
    # 30×30 image, 3×3 regions of 10×10 pixels each holding 20·(k + 1); with gap = jitter = 1
    # every 8×8 tile stays inside its region, so tile values name the tiles.
    x = torch.cat([region_image(30, 10, 3), 255 - region_image(30, 10, 3)])  # (2, 3, 30, 30)
    task = Jigsaw((3, 30, 30), permutations=30)
    assert task.grid.tile == (8, 8)
    values = [20 * (k + 1) for k in range(9)]
    for seed in range(4):
        batch = task.make_batch(x, torch.Generator().manual_seed(seed))
        assert batch.inputs.shape == (18, 3, 8, 8) and batch.pseudolabels.shape == (2,)
        tiles = raw(batch.inputs).view(9, 2, 3, 8, 8)  # position-major
        for b, z in enumerate(batch.pseudolabels.tolist()):
            order = task.permutations[z].tolist()
            for position in range(9):
                tile = tiles[position, b]
                want = values[order[position]] if b == 0 else 255 - values[order[position]]
                assert bool((tile == want).all()), (seed, b, position)


def test_tiles_replay_from_the_origins_and_respect_the_gap():
    x = make_shapes(n=4, size=32, seed=0).x
    task = Jigsaw((3, 32, 32))  # cells 10, gap 1, jitter 1: 8×8 tiles, 2 px of margin
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    origins = batch.extras["origins"]  # (B, 9, 2) raster order
    assert origins.shape == (4, 9, 2) and origins.dtype == torch.int64
    th, tw = task.grid.tile
    assert int(origins.min()) >= 0 and int(origins.max()) + th <= 32
    grid = origins.view(4, 3, 3, 2)
    assert int((grid[:, 1:, :, 0] - grid[:, :-1, :, 0]).min()) >= th + task.grid.gap  # rows
    assert int((grid[:, :, 1:, 1] - grid[:, :, :-1, 1]).min()) >= tw + task.grid.gap  # columns
    for b, z in enumerate(batch.pseudolabels.tolist()):
        for position, tile in enumerate(task.permutations[z].tolist()):
            r, c = origins[b, tile].tolist()
            expected = to_model_input(x[b : b + 1, :, r : r + th, c : c + tw])[0]
            assert torch.equal(batch.inputs[position * 4 + b], expected)


class TileMean(nn.Module):
    """A stand-in encoder: each tile's mean pixel, ``(N, C, h, w)`` → ``(N, 1)``."""

    out_dim = 1

    def forward(self, x):
        return x.mean(dim=(1, 2, 3))[:, None]


def test_forward_concatenates_tile_features_per_puzzle_in_shuffled_order():
    x = torch.cat([region_image(30, 10), 255 - region_image(30, 10)])
    task = Jigsaw((1, 30, 30))
    batch = task.make_batch(x, torch.Generator().manual_seed(2))
    features = task.forward(TileMean(), nn.Identity(), batch)  # (B, 9 · 1)
    assert features.shape == (2, 9)
    for b, z in enumerate(batch.pseudolabels.tolist()):
        raw_values = [20 * (t + 1) for t in task.permutations[z].tolist()]
        raw_values = raw_values if b == 0 else [255 - v for v in raw_values]
        expected = to_model_input(torch.tensor(raw_values, dtype=torch.uint8).view(1, 1, 1, 9))
        torch.testing.assert_close(features[b], expected.flatten())
    head = task.pretext_head(5)
    assert head(torch.zeros(2, 9 * 5)).shape == (2, task.num_classes) == (2, 24)


def test_make_batch_replays_for_a_seed():
    x = make_shapes(n=8, size=32, seed=1).x
    task = Jigsaw((3, 32, 32))
    a, b = (task.make_batch(x, torch.Generator().manual_seed(5)) for _ in range(2))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.pseudolabels, b.pseudolabels)
    assert torch.equal(a.extras["origins"], b.extras["origins"])
    c = task.make_batch(x, torch.Generator().manual_seed(6))
    assert not torch.equal(a.extras["origins"], c.extras["origins"])


def test_rejects_bad_input():
    with pytest.raises(DataError, match="jigsaw"):
        Jigsaw((13,))
    with pytest.raises(ValueError, match="too small"):
        Jigsaw((3, 8, 8), gap=1, jitter=1)  # cells of 2 px
    with pytest.raises(ValueError, match="grid"):
        Jigsaw((3, 32, 32), grid=1)
    with pytest.raises(ValueError, match="count"):
        Jigsaw((3, 32, 32), grid=2, permutations=25)  # 4! = 24
    assert Jigsaw((1, 8, 8)).grid.tile == (2, 2)  # digits: gap and jitter default to 0
    task = Jigsaw((3, 32, 32))
    gen = torch.Generator()
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"):
        task.make_batch(torch.zeros(2, 1, 32, 32, dtype=torch.uint8), gen)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 32, 32, dtype=torch.uint8), gen)
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 32, 32, dtype=torch.int32), gen)
    with pytest.raises(TypeError, match="generator"):
        task.make_batch(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), None)


def test_loss_and_describe():
    task = Jigsaw((3, 32, 32), permutations=10)
    assert task.name == "jigsaw" and task.modalities == ("image",) and "Noroozi" in task.paper
    batch = task.make_batch(make_shapes(n=4, size=32).x, torch.Generator())
    uniform = task.loss(torch.zeros(4, 10), batch)
    assert math.isclose(uniform.loss.item(), math.log(10), rel_tol=1e-6)
    hits = task.loss(10 * nn.functional.one_hot(batch.pseudolabels, 10).float(), batch)
    assert hits.metrics["accuracy"] == 1.0
    order = " ".join(map(str, task.permutations[7].tolist()))
    assert task.describe(torch.tensor(7)) == f"perm 7: {order}"
    with pytest.raises(ValueError, match="permutation index"):
        task.describe(torch.tensor(10))


def test_loss_falls_and_beats_chance_on_shapes():
    shapes = make_shapes(n=256, size=32, seed=0).x
    task = Jigsaw((3, 32, 32), permutations=8)
    result = train(task, shapes[:128], shapes[128:], steps=50, batch=64)
    assert relative_drop(result.losses) > 0.3
    assert result.eval_accuracy > 2 / 8  # held-out images; chance is 1/8
