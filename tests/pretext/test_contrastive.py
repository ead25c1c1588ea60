"""Contrastive (SimCLR): kernel views and pairing, replay, bad input, NT-Xent, training."""

import math

import pytest
import torch

from sslcore import ops
from sslcore.augment import ViewSpec
from sslcore.data import make_shapes
from sslcore.errors import DataError
from sslcore.models import ConvEncoder
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD, PretextBatch, to_model_input
from sslcore.pretext.contrastive import Contrastive
from tests.conftest import tolerance
from tests.pretext.joint_embedding import assert_views_replay, images, train


def test_views_are_the_kernels_and_replay(device):
    x = images(5, device=device)
    task = Contrastive(x.shape[1:])
    assert task.spec.size == (32, 32)
    assert task.spec.mean == (IMAGE_MEAN,) * 3 and task.spec.std == (IMAGE_STD,) * 3
    assert_views_replay(task, x)


def test_views_come_from_the_op(monkeypatch):
    calls = []
    real = ops.augment_views

    def spy(images, params, **kwargs):
        calls.append(len(params))
        return real(images, params, **kwargs)

    monkeypatch.setattr(ops, "augment_views", spy)
    batch = Contrastive((3, 32, 32)).make_batch(images(4), torch.Generator().manual_seed(0))
    assert calls == [8] and batch.inputs.shape == (8, 3, 32, 32)


def test_identity_recipe_gives_the_encoders_input():
    # Whole-image crops and no colour change: both views are to_model_input(x), so the views'
    # normalisation is the one downstream tasks use.
    spec = ViewSpec(32, scale=(1, 1), ratio=(1, 1), flip_p=0, jitter_p=0, grayscale_p=0, blur_p=0)
    x = images(3)
    batch = Contrastive(x.shape[1:], spec=spec).make_batch(x, torch.Generator().manual_seed(0))
    expected = to_model_input(x).repeat(2, 1, 1, 1)
    torch.testing.assert_close(batch.inputs, expected, **tolerance("augment_views"))


def test_pairing_describe_and_view_size():
    x = make_shapes(n=3, size=16).x
    spec = ViewSpec.simclr(8, scale=(0.4, 1.0), flip_p=0.0)
    task = Contrastive(x.shape[1:], spec=spec)
    batch = task.make_batch(x, torch.Generator().manual_seed(1))
    assert batch.inputs.shape == (6, 3, 8, 8)
    assert batch.pseudolabels.tolist() == [3, 4, 5, 0, 1, 2]
    assert task.describe(batch.pseudolabels[4]) == "pairs with view 1"


def test_a_stored_recipe_may_make_views_smaller_than_the_images():
    x = make_shapes(n=3, size=16).x
    task = Contrastive(x.shape[1:], spec={"size": 12, "scale": [0.5, 1.0]})
    assert task.spec.size == (12, 12) and task.spec.scale == (0.5, 1.0)
    assert task.make_batch(x, torch.Generator().manual_seed(1)).inputs.shape == (6, 3, 12, 12)
    assert Contrastive(x.shape[1:], spec={"size": [10, 12]}).spec.size == (10, 12)
    assert Contrastive(x.shape[1:], spec={"size": 0.75}).spec.size == (12, 12)  # a share
    assert Contrastive((3, 32, 32), spec={"size": 0.75}).spec.size == (24, 24)
    for bad in (0, True, 17, [16, 10**9], 2.5, 0.0, float("nan"), 1.5):
        with pytest.raises(ValueError, match=r"size|spec"):
            Contrastive(x.shape[1:], spec={"size": bad})


def test_deterministic_per_seed():
    x, task = images(4), Contrastive((3, 32, 32))
    a = task.make_batch(x, torch.Generator().manual_seed(7))
    b = task.make_batch(x, torch.Generator().manual_seed(7))
    c = task.make_batch(x, torch.Generator().manual_seed(8))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


def test_digits_work_with_a_small_crop_recipe():
    x = images(4, shape=(1, 8, 8))
    task = Contrastive(x.shape[1:], spec=ViewSpec.simclr(8, scale=(0.4, 1.0), flip_p=0.0))
    assert task.spec.mean == (IMAGE_MEAN,)
    assert_views_replay(task, x)


def test_wrong_modality_is_a_data_error():
    with pytest.raises(DataError, match="image"):
        Contrastive((13,))


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (torch.zeros(4, 3, 16, 16, dtype=torch.uint8), ValueError, "shape"),
        (torch.zeros(4, 3, 32, 32), TypeError, "uint8"),
        (torch.zeros(0, 3, 32, 32, dtype=torch.uint8), ValueError, "non-empty"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), ValueError, "at least 2"),
        ([[0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_batches(x, error, match):
    with pytest.raises(error, match=match):
        Contrastive((3, 32, 32)).make_batch(x, torch.Generator().manual_seed(0))


def test_bad_options_and_generator():
    with pytest.raises(TypeError, match="generator"):
        Contrastive((3, 32, 32)).make_batch(images(2), None)
    with pytest.raises(TypeError, match="spec"):
        Contrastive((3, 32, 32), spec="simclr")
    with pytest.raises(ValueError, match="normalisation"):
        Contrastive((3, 32, 32), spec=ViewSpec.simclr(32, mean=(0.4,) * 3, std=(0.2,) * 3))
    with pytest.raises(ValueError, match="temperature"):
        Contrastive((3, 32, 32), temperature=0.0)


def test_loss_closed_form_and_shape_check():
    # Both views of image i embed to e_i: positive cosine 1, every negative 0, so each of the
    # 2B rows loses −log(e^{1/τ} / (e^{1/τ} + (2B − 2))) and the positive is always top-1.
    b, tau = 4, 0.5
    task = Contrastive((3, 32, 32), temperature=tau)
    batch = PretextBatch(torch.zeros(2 * b, 3, 32, 32), torch.arange(2 * b).add(b) % (2 * b))
    outputs = torch.eye(b, 6).repeat(2, 1) * 3.0  # (2B, 6), scale removed by normalisation
    result = task.loss(outputs, batch)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * b - 2))
    assert result.loss.item() == pytest.approx(expected, rel=1e-5)
    assert result.metrics == {"accuracy": 1.0}
    with pytest.raises(ValueError, match="2B"):
        task.loss(outputs[:-1], batch)


def test_loss_falls_and_accuracy_rises_on_shapes():
    x = make_shapes(n=128).x[:16]
    task = Contrastive(x.shape[1:], spec=ViewSpec.simclr(16, strength=0.5, blur=False))
    first, last = train(task, ConvEncoder(3, width=8), x, steps=30)
    assert last.loss.item() < 0.8 * first.loss.item()
    assert first.metrics["accuracy"] < 0.5 and last.metrics["accuracy"] > 0.8


@pytest.mark.parametrize("width", [0, -3, 2.5, True])
def test_bad_head_widths(width):
    with pytest.raises(ValueError, match="hidden"):
        Contrastive((3, 32, 32), hidden=width)


def test_small_images_get_a_gentler_default_recipe():
    tasks = [Contrastive(s) for s in ((1, 8, 8), (3, 32, 32), (3, 64, 64))]
    small, cifar, large = (task.spec for task in tasks)
    assert small.scale == (0.3, 1.0) and small.flip_p == 0.0
    assert small.brightness == pytest.approx(0.3)
    geometry = tasks[0].geometry
    assert (geometry.rotation, geometry.noise) == (15.0, 0.08)
    assert not tasks[1].geometry.active and not tasks[2].geometry.active
    assert Contrastive((1, 8, 8), rotation=0.0, noise=0.0).geometry.active is False
    assert cifar.scale == (0.3, 1.0) and cifar.flip_p == 0.5
    assert cifar.grayscale_p == 0.5 and cifar.blur_p == 0.0 and cifar.hue == 0.1  # strength 0.5
    assert large == Contrastive((3, 64, 64), spec=ViewSpec.simclr(64)).spec  # the paper's
    assert Contrastive((3, 32, 32)).criterion.temperature == 0.2
