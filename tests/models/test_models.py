"""Encoders and heads: shapes and out_dim; transfer copies, freeze stops learning."""

import pytest
import torch

from sslcore.models import (
    ConvEncoder,
    ImageDecoder,
    MLPEncoder,
    freeze,
    make_encoder,
    projection_head,
    task_head,
    transfer,
    unfreeze,
)


@pytest.mark.parametrize(
    ("shape", "size"), [((3, 32, 32), (5, 3, 32, 32)), ((1, 8, 8), (2, 1, 8, 8))]
)
def test_conv_encoder_features(shape, size):
    encoder = make_encoder(shape, width=4)
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
