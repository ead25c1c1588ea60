"""MaskedReconstruction: the mask and x̃ against their definition, the masked-only loss, training."""

import math

import pytest
import torch

from sslcore.data import load_digits, make_shapes
from sslcore.errors import DataError
from sslcore.models import ConvEncoder, ImageDecoder
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD
from sslcore.pretext.masked import MaskedReconstruction


@pytest.fixture
def one_thread():
    # The CI machine's 2 cores are shared: one thread per test is several times faster there.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_images(shape, seed=0):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed)).to(
        torch.uint8
    )


def normalised(x):
    return (x.double() / 255 - IMAGE_MEAN) / IMAGE_STD


@pytest.mark.parametrize(
    ("shape", "patch", "ratio", "grid", "masked"),
    [
        ((3, 32, 32), 4, 0.5, (8, 8), 32),
        ((3, 32, 32), 8, 0.75, (4, 4), 12),
        ((1, 8, 8), 4, 0.5, (2, 2), 2),  # digits
        ((3, 10, 7), 4, 0.5, (3, 2), 3),  # edge patches of 2×4 and 2×3 pixels
    ],
)
def test_mask_and_inputs_follow_the_definition(shape, patch, ratio, grid, masked):
    task = MaskedReconstruction(shape, patch_size=patch, mask_ratio=ratio)
    assert (task.grid, task.num_masked) == (grid, masked)
    x = random_images((5, *shape))
    batch = task.make_batch(x, torch.Generator().manual_seed(1))
    c, h, w = shape
    mask = batch.extras["mask"]
    assert mask.dtype == torch.bool and mask.shape == (5, 1, h, w)
    torch.testing.assert_close(batch.pseudolabels.double(), normalised(x), atol=1e-5, rtol=0)
    # x̃ is exactly 0 on masked pixels (every channel) and exactly z elsewhere.
    full = mask.expand(-1, c, -1, -1)
    assert batch.inputs.dtype == torch.float32 and batch.inputs.shape == x.shape
    assert torch.all(batch.inputs[full] == 0)
    assert torch.equal(batch.inputs[~full], batch.pseudolabels[~full])
    # The mask is constant on each patch, with exactly `masked` patches per image (naive loop).
    for b in range(5):
        count = 0
        for i in range(grid[0]):
            for j in range(grid[1]):
                cell = mask[b, 0, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch]
                assert cell.all() or not cell.any()
                count += int(cell.all())
        assert count == masked


def test_masked_fraction_matches_the_ratio_and_patches_are_uniform():
    task = MaskedReconstruction((3, 32, 32), patch_size=4, mask_ratio=0.5)
    mask = task.make_batch(random_images((400, 3, 32, 32)), torch.Generator().manual_seed(0))
    mask = mask.extras["mask"]
    assert mask.float().mean().item() == pytest.approx(0.5, abs=1e-9)
    per_patch = mask[:, 0, ::4, ::4].float().mean(0)  # (8, 8): how often each patch is masked
    assert per_patch.min() > 0.4 and per_patch.max() < 0.6
    # Masks differ between images.
    assert not torch.equal(mask[0], mask[1])


def test_seeded_generator_replays_the_batch():
    task = MaskedReconstruction((1, 8, 8))
    x = load_digits().x[:16]
    a = task.make_batch(x, torch.Generator().manual_seed(7))
    b = task.make_batch(x, torch.Generator().manual_seed(7))
    c = task.make_batch(x, torch.Generator().manual_seed(8))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.extras["mask"], b.extras["mask"])
    assert not torch.equal(a.extras["mask"], c.extras["mask"])


def test_bad_configuration_and_input():
    with pytest.raises(DataError, match="image"):
        MaskedReconstruction((13,))
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedReconstruction((3, 32, 32), mask_ratio=1.0)
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedReconstruction((3, 32, 32), mask_ratio=0.0)
    with pytest.raises(ValueError, match="patch_size"):
        MaskedReconstruction((3, 32, 32), patch_size=0)
    with pytest.raises(ValueError, match="at least one masked and one visible"):
        MaskedReconstruction((1, 4, 4), patch_size=4)  # a single patch
    task = MaskedReconstruction((3, 16, 16))
    g = torch.Generator()
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 16, 16), g)
    with pytest.raises(ValueError, match="shape"):
        task.make_batch(torch.zeros(2, 1, 16, 16, dtype=torch.uint8), g)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 16, 16, dtype=torch.uint8), g)
    with pytest.raises(TypeError, match="generator"):
        task.make_batch(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), 0)
    batch = task.make_batch(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), g)
    with pytest.raises(ValueError, match="outputs"):
        task.loss(torch.zeros(2, 3, 8, 8), batch)


def test_loss_is_the_mse_on_masked_pixels_only():
    task = MaskedReconstruction((3, 8, 8), patch_size=2, mask_ratio=0.25)
    batch = task.make_batch(random_images((3, 3, 8, 8)), torch.Generator().manual_seed(0))
    outputs = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    result = task.loss(outputs, batch)
    total, count = 0.0, 0
    for b in range(3):
        for c in range(3):
            for i in range(8):
                for j in range(8):
                    if batch.extras["mask"][b, 0, i, j]:
                        target = batch.pseudolabels[b, c, i, j].item()
                        total += (outputs[b, c, i, j].item() - target) ** 2
                        count += 1
    assert count == 3 * 3 * 16
    assert result.loss.item() == pytest.approx(total / count, rel=1e-5)
    assert result.metrics["mse"] == pytest.approx(total / count, rel=1e-5)
    assert result.metrics["psnr"] == pytest.approx(-10 * math.log10(total / count / 16), rel=1e-5)
    # Changing the prediction on visible pixels changes nothing.
    visible = ~batch.extras["mask"].expand(-1, 3, -1, -1)
    assert task.loss(outputs + 5.0 * visible, batch).loss.item() == result.loss.item()
    # A perfect prediction of the masked pixels scores 0.
    assert task.loss(batch.pseudolabels.clone(), batch).loss.item() == 0.0


def test_head_and_describe():
    task = MaskedReconstruction((3, 32, 32))
    head = task.pretext_head(32)
    assert isinstance(head, ImageDecoder) and head(torch.zeros(2, 32)).shape == (2, 3, 32, 32)
    assert task.describe(torch.zeros(3, 32, 32)) == "32 of 64 patches masked (50%)"
    assert task.describe(torch.tensor([True, False, False, False])) == "25% of pixels masked"


def test_loss_falls_on_a_tiny_problem(one_thread):
    torch.manual_seed(0)
    x = make_shapes(n=32, size=16).x
    task = MaskedReconstruction((3, 16, 16))
    encoder = ConvEncoder(3, width=8)
    head = task.pretext_head(encoder.out_dim)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-2)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    losses = []
    for _ in range(40):
        result = task.loss(task.forward(encoder, head, batch), batch)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
        losses.append(result.loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
