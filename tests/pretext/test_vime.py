"""VIMEMasking: corrupted entries come from other rows of the same column; the loss; training."""

import pytest
import torch

from sslcore.data import load_wine
from sslcore.errors import DataError
from sslcore.models import MLPEncoder
from sslcore.pretext.vime import VIMEHead, VIMEMasking


@pytest.fixture
def one_thread():
    # The CI machine's 2 cores are shared: one thread per test is several times faster there.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def coded_table(rows, cols):
    """x[i, j] = 1000 j + i: every value names its row and column."""
    i = torch.arange(rows, dtype=torch.float32).view(-1, 1)
    j = torch.arange(cols, dtype=torch.float32).view(1, -1)
    return 1000 * j + i


def test_masked_entries_come_from_other_rows_of_the_same_column():
    x = coded_table(50, 7)
    batch = VIMEMasking((7,), p_m=0.3).make_batch(x, torch.Generator().manual_seed(0))
    mask = batch.pseudolabels
    assert mask.dtype == torch.float32 and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(batch.extras["target"], x)
    keep = mask == 0
    assert torch.equal(batch.inputs[keep], x[keep])
    for j in range(7):
        rows = mask[:, j].nonzero().flatten()
        source = batch.inputs[rows, j] - 1000 * j  # the row each value was taken from
        assert torch.all((source >= 0) & (source < 50) & (source == source.round()))
        assert torch.all(source != rows.float())
        # One permutation per column: no row gives its value to two others.
        assert source.unique().numel() == source.numel()


def test_draws_permute_each_column_without_fixed_points():
    # The marginal of every column is kept exactly, and no entry keeps its own value.
    x = coded_table(9, 5)
    task = VIMEMasking((5,))
    for seed in range(5):
        drawn = task.draw_from_marginals(x, torch.Generator().manual_seed(seed))
        for j in range(5):
            assert torch.equal(drawn[:, j].sort().values, x[:, j])
            assert torch.all(drawn[:, j] != x[:, j])


def test_masked_fraction_is_p_m():
    x = torch.randn(600, 30, generator=torch.Generator().manual_seed(0))
    for p_m in (0.1, 0.3, 0.6):
        mask = VIMEMasking((30,), p_m=p_m).make_batch(x, torch.Generator().manual_seed(1))
        assert mask.pseudolabels.mean().item() == pytest.approx(p_m, abs=0.015)


def test_unchanged_values_are_not_masked():
    # A constant column can be selected but never changes, so its label is 0 (the paper's code).
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    x[:, 1] = 2.5
    batch = VIMEMasking((3,), p_m=0.9).make_batch(x, torch.Generator().manual_seed(0))
    assert torch.all(batch.pseudolabels[:, 1] == 0)
    assert batch.pseudolabels[:, [0, 2]].mean() > 0.8
    assert torch.equal(batch.pseudolabels, (batch.inputs != x).float())


def test_two_rows_swap():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    batch = VIMEMasking((2,), p_m=0.99).make_batch(x, torch.Generator().manual_seed(0))
    swapped = x.flip(0)
    assert torch.equal(batch.inputs, torch.where(batch.pseudolabels.bool(), swapped, x))


def test_seeded_generator_replays_the_batch():
    x = load_wine().x[:32]
    task = VIMEMasking((13,))
    a = task.make_batch(x, torch.Generator().manual_seed(3))
    b = task.make_batch(x, torch.Generator().manual_seed(3))
    c = task.make_batch(x, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.pseudolabels, b.pseudolabels)
    assert not torch.equal(a.pseudolabels, c.pseudolabels)


def test_bad_configuration_and_input():
    with pytest.raises(DataError, match="vector"):
        VIMEMasking((3, 8, 8))
    for p_m in (0.0, 1.0, -0.1, True):
        with pytest.raises(ValueError, match="p_m"):
            VIMEMasking((5,), p_m=p_m)
    with pytest.raises(ValueError, match="alpha"):
        VIMEMasking((5,), alpha=-1.0)
    task = VIMEMasking((5,))
    g = torch.Generator()
    with pytest.raises(TypeError, match="float32"):
        task.make_batch(torch.zeros(4, 5, dtype=torch.float64), g)
    with pytest.raises(ValueError, match="shape"):
        task.make_batch(torch.zeros(4, 6), g)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 5), g)
    with pytest.raises(ValueError, match="at least 2 rows"):
        task.make_batch(torch.zeros(1, 5), g)
    with pytest.raises(ValueError, match="finite"):
        task.make_batch(torch.tensor([[0.0] * 5, [float("nan")] * 5]), g)
    batch = task.make_batch(torch.randn(4, 5, generator=g), g)
    with pytest.raises(ValueError, match="outputs"):
        task.loss(torch.zeros(4, 5), batch)


def test_loss_is_bce_plus_alpha_mse():
    g = torch.Generator().manual_seed(0)
    task = VIMEMasking((6,), alpha=2.0)
    batch = task.make_batch(torch.randn(8, 6, generator=g), g)
    logits, features = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    result = task.loss((logits, features), batch)
    m, x = batch.pseudolabels.double(), batch.extras["target"].double()
    p = torch.sigmoid(logits.double())
    bce = -(m * p.log() + (1 - m) * (1 - p).log()).mean()
    mse = (features.double() - x).square().mean()
    assert result.loss.item() == pytest.approx((bce + 2.0 * mse).item(), rel=1e-5)
    assert result.metrics["mse"] == pytest.approx(mse.item(), rel=1e-5)
    assert result.metrics["mask_bce"] == pytest.approx(bce.item(), rel=1e-5)
    accuracy = ((p > 0.5).double() == m).double().mean().item()
    assert result.metrics["mask_accuracy"] == pytest.approx(accuracy)
    # Perfect answers: only the BCE of the (finite) logits remains.
    perfect = task.loss((batch.pseudolabels * 40 - 20, batch.extras["target"]), batch)
    assert perfect.metrics["mask_accuracy"] == 1.0 and perfect.loss.item() < 1e-6


def test_head_and_describe():
    task = VIMEMasking((13,))
    head = task.pretext_head(64)
    assert isinstance(head, VIMEHead)
    logits, features = head(torch.zeros(3, 64))
    assert logits.shape == features.shape == (3, 13)
    assert task.describe(torch.tensor([1.0, 0.0, 1.0, 0.0])) == "2 of 4 features masked"


def test_loss_falls_on_a_tiny_problem(one_thread):
    torch.manual_seed(0)
    x = load_wine().x
    task = VIMEMasking((13,))
    encoder = MLPEncoder(13, (64, 64))
    head = task.pretext_head(encoder.out_dim)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-2)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    losses = []
    for _ in range(60):
        result = task.loss(task.forward(encoder, head, batch), batch)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
        losses.append(result.loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    assert result.metrics["mask_accuracy"] > 0.75
