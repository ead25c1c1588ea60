"""VICReg: kernel views, the three terms against a naive loop and closed forms, training."""

import math

import numpy as np
import pytest
import torch

from sslcore.augment import ViewSpec
from sslcore.data import make_shapes
from sslcore.errors import DataError
from sslcore.models import ConvEncoder
from sslcore.pretext.base import PretextBatch
from sslcore.pretext.vicreg import VICReg, vicreg_terms
from tests.pretext.joint_embedding import assert_views_replay, images, train


def pair_batch(b: int) -> PretextBatch:
    return PretextBatch(torch.zeros(2 * b, 3, 8, 8), torch.arange(2 * b).add(b) % (2 * b))


def naive_terms(a: np.ndarray, b: np.ndarray, gamma=1.0, eps=1e-4) -> dict[str, float]:
    """The paper's eq. 1–6 as plain loops over dimensions and pairs of dimensions."""
    n, d = a.shape
    invariance = sum((a[i, j] - b[i, j]) ** 2 for i in range(n) for j in range(d)) / (n * d)

    def v(z):
        total = 0.0
        for j in range(d):
            mean = sum(z[:, j]) / n
            var = sum((z[i, j] - mean) ** 2 for i in range(n)) / (n - 1)
            total += max(0.0, gamma - math.sqrt(var + eps))
        return total / d

    def c(z):
        means = [sum(z[:, j]) / n for j in range(d)]
        total = 0.0
        for j in range(d):
            for k in range(d):
                if j != k:
                    cov = sum((z[i, j] - means[j]) * (z[i, k] - means[k]) for i in range(n))
                    total += (cov / (n - 1)) ** 2
        return total / d

    return {"invariance": invariance, "variance": v(a) + v(b), "covariance": c(a) + c(b)}


def test_views_are_the_kernels_and_replay(device):
    x = images(3, device=device)
    task = VICReg(x.shape[1:])
    assert_views_replay(task, x)
    assert task.describe(torch.tensor(0)) == "pairs with view 0"


def test_terms_match_a_naive_loop():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(7, 5, generator=g, dtype=torch.float64) * 0.7
    b = a + 0.3 * torch.randn(7, 5, generator=g, dtype=torch.float64)
    got = vicreg_terms(a, b)
    want = naive_terms(a.numpy(), b.numpy())
    for key, value in want.items():
        assert got[key].item() == pytest.approx(value, rel=1e-10), key
    assert want["variance"] > 0 and want["covariance"] > 0


def test_loss_weights_the_terms_25_25_1():
    g = torch.Generator().manual_seed(1)
    out = torch.randn(12, 6, generator=g) * 0.5
    result = VICReg((3, 8, 8)).loss(out, pair_batch(6))
    m = result.metrics
    expected = 25 * m["invariance"] + 25 * m["variance"] + 1 * m["covariance"]
    assert result.loss.item() == pytest.approx(expected, rel=1e-5)
    custom = VICReg((3, 8, 8), invariance=1.0, variance=0.0, covariance=0.0).loss(
        out, pair_batch(6)
    )
    assert custom.loss.item() == pytest.approx(m["invariance"], rel=1e-6)


def test_closed_forms():
    # Columns of ±2 from a Hadamard design: zero mean, variance 16/3 (> γ²), uncorrelated.
    h = 2.0 * torch.tensor([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=torch.float64)
    terms = vicreg_terms(h, h)
    assert terms["invariance"].item() == 0.0
    assert terms["variance"].item() == 0.0
    assert terms["covariance"].item() == pytest.approx(0.0, abs=1e-12)
    # Collapse: every row the same; each dimension pays γ − sqrt(ε) in both branches.
    same = torch.ones(4, 3, dtype=torch.float64)
    collapsed = vicreg_terms(same, same)
    assert collapsed["variance"].item() == pytest.approx(2 * (1 - math.sqrt(1e-4)))
    # Perfectly correlated dimensions: C = [[v, v], [v, v]], c = 2 v² / 2 per branch.
    col = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)[:, None].repeat(1, 2)
    assert vicreg_terms(col, col)["covariance"].item() == pytest.approx(2 * 1.0**2)


def test_bad_input():
    with pytest.raises(DataError, match="image"):
        VICReg((13,))
    with pytest.raises(ValueError, match="variance"):
        VICReg((3, 32, 32), variance=-1.0)
    task, gen = VICReg((3, 32, 32)), torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="at least 2"):
        task.make_batch(images(1), gen)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 32, 32, dtype=torch.uint8), gen)
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 32, 32, dtype=torch.float64), gen)
    with pytest.raises(ValueError, match="2 pairs"):
        task.loss(torch.zeros(2, 8), pair_batch(1))
    with pytest.raises(ValueError, match="2B"):
        task.loss(torch.zeros(5, 8), pair_batch(3))


def test_deterministic_per_seed():
    x, task = images(3), VICReg((3, 32, 32))
    a = task.make_batch(x, torch.Generator().manual_seed(2))
    b = task.make_batch(x, torch.Generator().manual_seed(2))
    assert torch.equal(a.inputs, b.inputs)


def test_loss_falls_on_shapes():
    x = make_shapes(n=128).x[:16]
    task = VICReg(x.shape[1:], spec=ViewSpec.simclr(16, strength=0.5, blur=False))
    first, last = train(task, ConvEncoder(3, width=8), x, steps=30)
    assert last.loss.item() < 0.75 * first.loss.item()
    assert last.metrics["invariance"] < first.metrics["invariance"]
