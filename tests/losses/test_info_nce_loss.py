"""InfoNCELoss: the module over ops.info_nce, its validation, and that it trains an encoder."""

import math

import pytest
import torch
import torch.nn.functional as F

from sslcore import ops
from sslcore.losses import InfoNCELoss


def test_matches_the_op_on_normalised_embeddings():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(12, 5, generator=g) * 3, torch.randn(12, 5, generator=g)
    loss = InfoNCELoss(0.2)(a, b)
    expected = ops.reference_info_nce(F.normalize(a, dim=1), F.normalize(b, dim=1), 0.2)
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=1e-5)
    clip = InfoNCELoss(0.2, form="clip", normalize=False)(a, b, details=True)
    torch.testing.assert_close(clip.loss, ops.reference_info_nce(a, b, 0.2, form="clip"))
    assert clip.row_losses.shape == (24,)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": -0.5}, ValueError, "temperature"),
        ({"temperature": math.inf}, ValueError, "temperature"),
        ({"temperature": "0.1"}, TypeError, "temperature"),
        ({"temperature": True}, TypeError, "temperature"),
        ({"form": "nce"}, ValueError, "form"),
    ],
)
def test_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        InfoNCELoss(**kwargs)


def test_repr_names_the_settings():
    assert "temperature=0.1" in repr(InfoNCELoss(0.1))


def test_trains_an_encoder_to_match_views():
    # Two noisy views of 8-D points through one linear encoder: the loss must fall and the
    # positives become the nearest embeddings.
    torch.manual_seed(0)
    x = torch.randn(64, 8)
    encoder = torch.nn.Linear(8, 16)
    criterion = InfoNCELoss(0.2)
    optimiser = torch.optim.SGD(encoder.parameters(), lr=0.5)

    def step():
        views = x + 0.3 * torch.randn_like(x), x + 0.3 * torch.randn_like(x)
        return criterion(encoder(views[0]), encoder(views[1]), details=True)

    first = step()
    for _ in range(60):
        out = step()
        optimiser.zero_grad()
        out.loss.backward()
        optimiser.step()
    last = step()
    assert last.loss.item() < first.loss.item() - 0.3
    assert last.accuracy.item() > first.accuracy.item()
