"""SimSiam: kernel views, stop-gradient, the negative-cosine loss, collapse monitor, training."""

import math

import pytest
import torch
import torch.nn.functional as F

from sslcore.augment import ViewSpec
from sslcore.data import make_shapes
from sslcore.errors import DataError
from sslcore.models import ConvEncoder
from sslcore.pretext.base import PretextBatch
from sslcore.pretext.simsiam import SimSiam, SimSiamHead, negative_cosine
from tests.pretext.joint_embedding import assert_views_replay, images, train


def pair_batch(b: int) -> PretextBatch:
    return PretextBatch(torch.zeros(2 * b, 3, 8, 8), torch.arange(2 * b).add(b) % (2 * b))


def test_views_are_the_kernels_and_replay(device):
    x = images(4, device=device)
    task = SimSiam(x.shape[1:])
    assert_views_replay(task, x)
    assert task.describe(torch.tensor(5)) == "pairs with view 5"


def test_head_is_one_module_with_projector_and_predictor():
    head = SimSiam((3, 32, 32), hidden=32, out=16).pretext_head(24)
    assert isinstance(head, SimSiamHead)
    p, z = head(torch.randn(6, 24))
    assert p.shape == z.shape == (6, 16)
    assert {"projector", "predictor"} <= {name for name, _ in head.named_children()}


def test_loss_is_the_symmetric_negative_cosine():
    g = torch.Generator().manual_seed(0)
    p, z = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    result = SimSiam((3, 8, 8)).loss((p, z), pair_batch(4))
    manual = -0.5 * (
        F.cosine_similarity(p[:4], z[4:]).mean() + F.cosine_similarity(p[4:], z[:4]).mean()
    )
    torch.testing.assert_close(result.loss, manual)
    assert result.metrics["cosine"] == pytest.approx(-manual.item())


def test_perfect_predictions_give_minus_one():
    z = torch.randn(6, 4)
    p = z.roll(3, dims=0) * 2.0  # each prediction points at the other view's projection
    assert SimSiam((3, 8, 8)).loss((p, z), pair_batch(3)).loss.item() == pytest.approx(-1.0)


def test_no_gradient_reaches_the_target_outputs():
    g = torch.Generator().manual_seed(1)
    p = torch.randn(8, 5, generator=g, requires_grad=True)
    z = torch.randn(8, 5, generator=g, requires_grad=True)
    SimSiam((3, 8, 8)).loss((p, z), pair_batch(4)).loss.backward()
    assert z.grad is None  # the projections enter the loss only as detached targets
    assert p.grad is not None and p.grad.abs().sum() > 0


def test_stop_gradient_through_the_head():
    # Gradients of the projector equal those of a manual loss with detached targets, and differ
    # from the same loss without stop-gradient (where targets would pull the projector too).
    torch.manual_seed(0)
    task, head = SimSiam((3, 8, 8), hidden=16, out=8), SimSiamHead(12, 16, 8)
    features, batch = torch.randn(10, 12), pair_batch(5)

    def projector_grads(loss_fn):
        head.zero_grad()
        loss_fn(*head(features)).backward()
        return [q.grad.clone() for q in head.projector.parameters()]

    def manual(stop):
        def loss(p, z):
            t = z.detach() if stop else z
            cos = (
                F.cosine_similarity(p[:5], t[5:]).mean() + F.cosine_similarity(p[5:], t[:5]).mean()
            )
            return -0.5 * cos

        return loss

    ours = projector_grads(lambda p, z: task.loss((p, z), batch).loss)
    for got, want in zip(ours, projector_grads(manual(stop=True)), strict=True):
        torch.testing.assert_close(got, want)
    without = projector_grads(manual(stop=False))
    assert any(not torch.allclose(a, b) for a, b in zip(ours, without, strict=True))


def test_negative_cosine_detaches_its_target():
    p = torch.randn(3, 4, requires_grad=True)
    z = torch.randn(3, 4, requires_grad=True)
    negative_cosine(p, z).backward()
    assert z.grad is None and p.grad is not None


def test_collapse_std_is_zero_for_collapse_and_about_inverse_sqrt_dim_when_spread():
    task, d = SimSiam((3, 8, 8)), 64
    same = torch.ones(200, d)
    assert task.loss((same, same), pair_batch(100)).metrics["collapse_std"] == pytest.approx(0.0)
    spread = torch.randn(200, d, generator=torch.Generator().manual_seed(0))
    std = task.loss((spread, spread), pair_batch(100)).metrics["collapse_std"]
    assert std == pytest.approx(1 / math.sqrt(d), rel=0.1)


def test_batch_of_one_works():
    x = images(1)
    task = SimSiam(x.shape[1:], spec=ViewSpec.simclr(16), hidden=16, out=8)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    assert batch.pseudolabels.tolist() == [1, 0]
    encoder, head = ConvEncoder(3, 4), task.pretext_head(16)
    result = task.loss(task.forward(encoder, head, batch), batch)
    result.loss.backward()
    assert math.isfinite(result.loss.item()) and -1 <= result.loss.item() <= 1


def test_deterministic_per_seed():
    x, task = images(3), SimSiam((3, 32, 32))
    a = task.make_batch(x, torch.Generator().manual_seed(4))
    b = task.make_batch(x, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs)


def test_bad_input():
    with pytest.raises(DataError, match="image"):
        SimSiam((30,))
    task = SimSiam((3, 32, 32))
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 32, 32, dtype=torch.uint8), gen)
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 32, 32), gen)
    with pytest.raises(ValueError, match="shape"):
        task.make_batch(torch.zeros(2, 1, 32, 32, dtype=torch.uint8), gen)
    with pytest.raises(TypeError, match="predictions, projections"):
        task.loss(torch.zeros(4, 8), pair_batch(2))
    with pytest.raises(ValueError, match="projections"):
        task.loss((torch.zeros(4, 8), torch.zeros(3, 8)), pair_batch(2))


def test_loss_falls_on_shapes():
    x = make_shapes(n=128).x[:16]
    task = SimSiam(x.shape[1:], spec=ViewSpec.simclr(16, strength=0.5, blur=False))
    first, last = train(task, ConvEncoder(3, width=8), x, steps=30)
    assert last.loss.item() < first.loss.item() - 0.5
    assert last.metrics["cosine"] > 0.5
    assert last.metrics["collapse_std"] > 0.5 / math.sqrt(task.out)  # not collapsed
