"""Colorization: x̃ is the luma of a naive float64 oracle, z the colour image, the chroma loss."""

import pytest
import torch

from sslcore.data import make_shapes
from sslcore.errors import DataError
from sslcore.models import ConvEncoder, ImageDecoder
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD
from sslcore.pretext.colorization import Colorization


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


def naive_luma(x):
    """Normalised luma (B, H, W) in float64, one pixel at a time (torchvision's weights)."""
    out = torch.empty(x.shape[0], x.shape[2], x.shape[3], dtype=torch.float64)
    for b in range(x.shape[0]):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                r, g, bl = (int(v) / 255 for v in x[b, :, i, j])
                out[b, i, j] = (0.2989 * r + 0.587 * g + 0.114 * bl - IMAGE_MEAN) / IMAGE_STD
    return out


class ZeroChroma(torch.nn.Module):
    """A head that predicts no colour: the output is the gray input itself."""

    def forward(self, features):
        return torch.zeros(features.shape[0], 3, 6, 5)


def test_inputs_are_the_luma_and_pseudolabels_the_colour_image():
    x = random_images((3, 3, 6, 5))
    batch = Colorization((3, 6, 5)).make_batch(x, torch.Generator().manual_seed(0))
    assert batch.inputs.dtype == torch.float32 and batch.inputs.shape == (3, 3, 6, 5)
    assert torch.equal(batch.inputs[:, 0], batch.inputs[:, 1])
    assert torch.equal(batch.inputs[:, 0], batch.inputs[:, 2])
    torch.testing.assert_close(batch.inputs[:, 0].double(), naive_luma(x), atol=1e-5, rtol=0)
    expected = (x.double() / 255 - IMAGE_MEAN) / IMAGE_STD
    torch.testing.assert_close(batch.pseudolabels.double(), expected, atol=1e-5, rtol=0)


def test_gray_images_have_nothing_to_predict():
    gray = random_images((4, 1, 6, 5)).expand(-1, 3, -1, -1).contiguous()
    task = Colorization((3, 6, 5))
    batch = task.make_batch(gray, torch.Generator())
    # The weights sum to 0.9999, so luma(gray) is the gray level up to 1e-4 of it.
    torch.testing.assert_close(batch.inputs, batch.pseudolabels, atol=1e-3, rtol=0)
    outputs = task.forward(torch.nn.Flatten(), ZeroChroma(), batch)
    assert task.loss(outputs, batch).loss.item() < 1e-6


def test_loss_is_the_mse_on_chroma():
    x = random_images((3, 3, 6, 5), seed=1)
    task = Colorization((3, 6, 5))
    batch = task.make_batch(x, torch.Generator())
    outputs = task.forward(torch.nn.Flatten(), ZeroChroma(), batch)
    assert torch.equal(outputs, batch.inputs)  # forward adds the head's chroma to the luma
    chroma = (x.double() / 255 - IMAGE_MEAN) / IMAGE_STD - naive_luma(x).unsqueeze(1)
    result = task.loss(outputs, batch)
    expected = chroma.square().mean().item()
    assert result.loss.item() == pytest.approx(expected, rel=1e-4)
    assert result.metrics["mse"] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="outputs"):
        task.loss(outputs[:, :1], batch)


def test_no_randomness():
    x = random_images((4, 3, 8, 8))
    task = Colorization((3, 8, 8))
    a = task.make_batch(x, torch.Generator().manual_seed(0))
    b = task.make_batch(x, torch.Generator().manual_seed(1))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.pseudolabels, b.pseudolabels)


def test_bad_configuration_and_input():
    with pytest.raises(DataError, match="no colour"):
        Colorization((1, 8, 8))  # digits
    with pytest.raises(DataError, match="image"):
        Colorization((13,))
    task = Colorization((3, 8, 8))
    g = torch.Generator()
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 8, 8), g)
    with pytest.raises(ValueError, match="shape"):
        task.make_batch(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), g)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 8, 8, dtype=torch.uint8), g)


def test_head_and_describe():
    task = Colorization((3, 32, 32))
    head = task.pretext_head(16)
    assert isinstance(head, ImageDecoder) and head(torch.zeros(2, 16)).shape == (2, 3, 32, 32)
    z = torch.stack([torch.full((4, 4), v) for v in (-2.0, 0.0, 2.0)])  # normalised 0, 0.5, 1
    assert task.describe(z) == "mean RGB 0.00, 0.50, 1.00"


def test_loss_falls_on_a_tiny_problem(one_thread):
    torch.manual_seed(0)
    x = make_shapes(n=32, size=16).x
    task = Colorization((3, 16, 16))
    encoder = ConvEncoder(3, width=8)
    head = task.pretext_head(encoder.out_dim)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-2)
    batch = task.make_batch(x, torch.Generator())
    losses = []
    for _ in range(40):
        result = task.loss(task.forward(encoder, head, batch), batch)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
        losses.append(result.loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
