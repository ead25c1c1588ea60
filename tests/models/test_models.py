"""Encoders and heads: shapes and out_dim; transfer copies, freeze stops learning."""

import pytest
import torch

from sslcore.models import (
    ConvEncoder,
    ImageDecoder,
    MLPEncoder,
    ResNetEncoder,
    freeze,
    make_encoder,
    parameter_count,
    projection_head,
    task_head,
    transfer,
    unfreeze,
)


@pytest.mark.parametrize(
    ("shape", "size"), [((3, 32, 32), (5, 3, 32, 32)), ((1, 8, 8), (2, 1, 8, 8))]
)
def test_conv_encoder_features(shape, size):
    encoder = make_encoder(shape, width=4, name="tiny")
    assert isinstance(encoder, ConvEncoder) and encoder.out_dim == 16
    assert encoder(torch.randn(size)).shape == (size[0], 16)
    assert encoder(torch.randn(2, shape[0], 5, 7)).shape == (2, 16)  # any spatial size


def test_mlp_encoder_features():
    encoder = make_encoder((13,), width=32)
    assert isinstance(encoder, MLPEncoder) and encoder.out_dim == 32
    assert encoder(torch.randn(4, 13)).shape == (4, 32)


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_encoder((3, 4)),
        lambda: ConvEncoder(0, 4),
        lambda: MLPEncoder(0),
        lambda: MLPEncoder(4, ()),
        lambda: task_head(8, 3, kind="deep"),
    ],
)
def test_bad_settings(build):
    with pytest.raises(ValueError):
        build()


def test_heads():
    assert task_head(8, 3)(torch.randn(2, 8)).shape == (2, 3)
    assert task_head(8, 3, kind="mlp")(torch.randn(2, 8)).shape == (2, 3)
    assert projection_head(8, 16, 4)(torch.randn(2, 8)).shape == (2, 4)
    decoder = ImageDecoder(8, (3, 10, 9))
    assert decoder(torch.randn(2, 8)).shape == (2, 3, 10, 9)


def test_transfer_copies_and_freeze_stops_learning():
    encoder = make_encoder((5,), width=8)
    copy = transfer(encoder)
    assert copy is not encoder
    assert all(
        torch.equal(a, b)
        for a, b in zip(copy.state_dict().values(), encoder.state_dict().values(), strict=True)
    )
    with torch.no_grad():
        next(copy.parameters()).add_(1.0)
    assert not torch.equal(next(copy.parameters()), next(encoder.parameters()))
    freeze(copy)
    assert not copy.training and not any(p.requires_grad for p in copy.parameters())
    before = {k: v.clone() for k, v in copy.state_dict().items()}
    copy(torch.randn(16, 5))  # eval mode: BatchNorm statistics stay
    assert all(torch.equal(before[k], v) for k, v in copy.state_dict().items())
    unfreeze(copy)
    assert copy.training and all(p.requires_grad for p in copy.parameters())


@pytest.mark.parametrize(
    ("name", "shape", "params", "out_dim"),
    [
        ("resnet", (1, 8, 8), (1.1e6, 1.3e6), 256),  # the image default: about 1 M parameters
        ("resnet", (3, 32, 32), (1.1e6, 1.3e6), 256),
        ("resnet18", (3, 32, 32), (11.0e6, 11.3e6), 512),  # He et al.'s CIFAR ResNet-18
        ("tiny", (3, 32, 32), (7e4, 8e4), 64),
    ],
)
def test_named_image_encoders(name, shape, params, out_dim):
    encoder = make_encoder(shape, name=name)
    assert params[0] <= parameter_count(encoder) <= params[1]
    assert encoder.out_dim == out_dim
    assert encoder(torch.randn(2, *shape)).shape == (2, out_dim)


def test_auto_is_resnet_for_images_and_mlp_for_vectors():
    assert isinstance(make_encoder((1, 8, 8)), ResNetEncoder)
    assert isinstance(make_encoder((13,)), MLPEncoder)
    assert isinstance(make_encoder((13,), name="tiny"), MLPEncoder)  # runs made before names


def test_resnet_stem_keeps_small_images_and_halves_large_ones():
    small, large = make_encoder((1, 8, 8), width=8), make_encoder((3, 32, 32), width=8)
    assert small.stem[0].stride == (1, 1) and large.stem[0].stride == (2, 2)


@pytest.mark.parametrize(("name", "shape"), [("mlp", (3, 8, 8)), ("resnet", (13,)), ("x", (13,))])
def test_encoder_names_that_do_not_fit_are_refused(name, shape):
    with pytest.raises(ValueError, match="encoder: expected one of"):
        make_encoder(shape, name=name)


def test_channels_last_only_for_widths_that_are_multiples_of_8():
    """torch 2.13's CPU backward of a strided 1×1 conv in channels-last corrupts the heap at 4."""
    assert make_encoder((3, 16, 16), width=8).channels_last
    narrow = make_encoder((3, 16, 16), width=4)
    assert not narrow.channels_last
    assert all(p.is_contiguous() for p in narrow.parameters())
    for _ in range(3):  # trains (and would abort with channels-last)
        narrow(torch.randn(8, 3, 16, 16)).sum().backward()
