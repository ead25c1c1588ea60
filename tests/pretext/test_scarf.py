"""SCARF: the corruption (anchor kept, marginal draws from other rows), pairing, loss, training."""

import pytest
import torch

from sslcore import ops
from sslcore.data import load_wine
from sslcore.errors import DataError
from sslcore.models import MLPEncoder
from sslcore.pretext.scarf import Scarf
from tests.pretext.joint_embedding import train


def distinct_rows(b: int, d: int) -> torch.Tensor:
    """x[i, j] = 100 i + j: every value names its row and column."""
    return (100 * torch.arange(b)[:, None] + torch.arange(d)).float()


def test_corruption_keeps_the_anchor_and_draws_from_other_rows_of_the_column():
    b, d = 9, 20
    x = distinct_rows(b, d)
    task = Scarf((d,), corruption=0.6)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == (2 * b, d) and batch.inputs.dtype == torch.float32
    assert torch.equal(batch.inputs[:b], x)  # the anchors are the original rows
    view = batch.inputs[b:]
    row, col = view.long() // 100, view.long() % 100
    assert torch.equal(col, torch.arange(d).expand(b, d))  # always the same column
    changed = row != torch.arange(b)[:, None]
    assert changed.sum(1).tolist() == [round(0.6 * d)] * b  # exactly c·D features per row
    assert batch.pseudolabels.tolist() == [(i + b) % (2 * b) for i in range(2 * b)]
    assert batch.extras == {}


def test_corruption_replays_from_the_generator():
    b, d = 6, 13
    x = distinct_rows(b, d)
    task = Scarf((d,))
    batch = task.make_batch(x, torch.Generator().manual_seed(5))
    mask, source = task.sample_corruption(b, torch.Generator().manual_seed(5))
    view = batch.inputs[b:]
    assert torch.equal(view[~mask], x[~mask])
    assert torch.equal(view[mask], x[source, torch.arange(d).expand(b, d)][mask])
    assert not (source == torch.arange(b)[:, None]).any()


def test_corruption_fraction_and_subsets_vary():
    b, d = 200, 10
    x = distinct_rows(b, d)
    for c in (0.0, 0.3, 0.6, 1.0):
        view = Scarf((d,), corruption=c).make_batch(x, torch.Generator().manual_seed(1)).inputs[b:]
        assert (view != x).float().mean().item() == pytest.approx(c, abs=0.5 / d)
    # Every feature is picked about c of the time, and the subsets differ from row to row.
    mask, _ = Scarf((d,), corruption=0.5).sample_corruption(b, torch.Generator().manual_seed(2))
    assert torch.allclose(mask.float().mean(0), torch.full((d,), 0.5), atol=0.12)
    assert len({tuple(r) for r in mask.tolist()}) > 50


def test_deterministic_per_seed():
    x, task = load_wine().x[:32], Scarf((13,))
    a = task.make_batch(x, torch.Generator().manual_seed(3))
    b = task.make_batch(x, torch.Generator().manual_seed(3))
    c = task.make_batch(x, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)
    assert task.describe(a.pseudolabels[0]) == "pairs with view 32"


def test_loss_is_infonce_of_anchors_against_views():
    g = torch.Generator().manual_seed(0)
    task = Scarf((5,))
    batch = task.make_batch(torch.randn(6, 5, generator=g), g)
    out = torch.randn(12, 7, generator=g)
    result = task.loss(out, batch)
    want = ops.reference_info_nce(
        torch.nn.functional.normalize(out[:6], dim=1),
        torch.nn.functional.normalize(out[6:], dim=1),
        1.0,
        form="clip",
        details=True,
    )
    torch.testing.assert_close(result.loss, want.loss, atol=1e-5, rtol=1e-5)
    assert result.metrics["accuracy"] == pytest.approx(want.accuracy.item())
    ntxent = Scarf((5,), form="ntxent", temperature=0.5).loss(out, batch)
    assert ntxent.loss.item() != pytest.approx(result.loss.item())


def test_bad_input():
    with pytest.raises(DataError, match="vector"):
        Scarf((3, 8, 8))
    with pytest.raises(ValueError, match="corruption"):
        Scarf((13,), corruption=1.5)
    with pytest.raises(ValueError, match="form"):
        Scarf((13,), form="triplet")
    task, gen = Scarf((13,)), torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="at least 2"):
        task.make_batch(torch.zeros(1, 13), gen)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 13), gen)
    with pytest.raises(ValueError, match="shape"):
        task.make_batch(torch.zeros(4, 12), gen)
    with pytest.raises(TypeError, match="float32"):
        task.make_batch(torch.zeros(4, 13, dtype=torch.float64), gen)
    with pytest.raises(ValueError, match="finite"):
        task.make_batch(torch.full((4, 13), float("nan")), gen)
    with pytest.raises(TypeError, match="generator"):
        task.make_batch(torch.zeros(4, 13), 0)


def test_loss_falls_and_accuracy_rises_on_wine():
    x = load_wine().x[:64]
    first, last = train(Scarf((13,)), MLPEncoder(13, (64, 64)), x, steps=40)
    assert last.loss.item() < first.loss.item() - 0.5
    assert first.metrics["accuracy"] < 0.3 and last.metrics["accuracy"] > 0.9
