"""Sharding a pretext batch over ranks: every block keeps the rank's samples, pairs stay paired."""

import pytest
import torch

from sslcore.data import make_shapes
from sslcore.pretext import PRETEXT_TASKS, make_task, task_class
from sslcore.pretext._two_views import pair_index

B, WORLD = 8, 2


def raw(task_name):
    if "image" in task_class(task_name).modalities:
        return make_shapes(B, size=32).x, (3, 32, 32)
    return torch.randn(B, 6, generator=torch.Generator().manual_seed(0)), (6,)


@pytest.mark.parametrize("name", list(PRETEXT_TASKS))
def test_the_shards_together_are_the_batch(name):
    x, shape = raw(name)
    task = make_task(name, shape)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    shards = [task.shard(batch, B, r, WORLD) for r in range(WORLD)]
    blocks = batch.inputs.shape[0] // B
    for field in ("inputs", *batch.extras):
        whole = batch.inputs if field == "inputs" else batch.extras[field]
        parts = [s.inputs if field == "inputs" else s.extras[field] for s in shards]
        n = whole.shape[0] // B  # blocks of this tensor (views, tiles; 1 for per-sample extras)
        regrouped = torch.cat(
            [p.reshape(n, B // WORLD, *p.shape[1:]) for p in parts], dim=1
        ).reshape(whole.shape)
        assert torch.equal(regrouped, whole), field
    for r, s in enumerate(shards):
        assert s.inputs.shape[0] == blocks * B // WORLD
        if torch.equal(batch.pseudolabels, pair_index(B)):  # pairing tasks renumber locally
            assert torch.equal(s.pseudolabels, pair_index(B // WORLD))
        elif batch.pseudolabels.dtype == torch.int64:
            whole = batch.pseudolabels.reshape(-1, B)
            assert torch.equal(s.pseudolabels, whole[:, r * 4 : (r + 1) * 4].reshape(-1))


def test_a_batch_that_does_not_split_is_named():
    task = make_task("rotation", (3, 32, 32))
    batch = task.make_batch(make_shapes(6, size=32).x, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="does not split over 4 ranks"):
        task.shard(batch, 6, 0, 4)
