"""ViewGeometry: tilts and noise after the view kernel, checked against exact cases."""

import math

import pytest
import torch

from sslcore.augment import ViewGeometry, rotate_and_noise

MEAN, STD = (0.5,), (0.25,)


def _normalised(raw: torch.Tensor) -> torch.Tensor:
    return (raw - MEAN[0]) / STD[0]


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_nothing_asked_changes_nothing():
    views = torch.randn(4, 1, 8, 8)
    assert not ViewGeometry().active
    out = rotate_and_noise(views, 0.0, 0.0, _generator(), MEAN, STD)
    assert torch.equal(out, views)


def test_a_quarter_turn_moves_pixel_centres_onto_pixel_centres(monkeypatch):
    raw = torch.rand(1, 1, 6, 6)
    # Force the drawn angle to +90°: rand() = 1 gives angle = +rotation.
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.ones(a[0], dtype=k.get("dtype")))
    out = rotate_and_noise(_normalised(raw), 90.0, 0.0, _generator(), MEAN, STD)
    turned = [torch.rot90(_normalised(raw), k, dims=(2, 3)) for k in (1, -1)]
    assert any(torch.allclose(out, t, atol=1e-5) for t in turned)


def test_what_enters_from_outside_is_raw_black():
    white = _normalised(torch.ones(1, 1, 9, 9))
    generator = _generator()
    out = rotate_and_noise(white, 45.0, 0.0, generator, MEAN, STD)
    black = -MEAN[0] / STD[0]
    assert out[0, 0, 4, 4] == pytest.approx(white[0, 0, 4, 4].item(), abs=1e-5)  # the centre
    corner = out[0, 0, 0, 0].item()
    if abs(corner - white[0, 0, 0, 0].item()) > 1e-3:  # a turn by a non-trivial angle
        assert black - 1e-5 <= corner < white[0, 0, 0, 0].item()


def test_noise_is_at_most_the_ceiling_in_raw_units():
    views = torch.zeros(64, 1, 16, 16)
    out = rotate_and_noise(views, 0.0, 0.08, _generator(), MEAN, STD)
    per_view = (out * STD[0]).flatten(1).std(dim=1)  # back to raw units
    assert per_view.max() <= 0.08 * 1.25 and per_view.mean() == pytest.approx(0.04, rel=0.3)


def test_the_same_generator_state_replays_the_same_views():
    views = torch.randn(8, 3, 8, 8)
    geometry = ViewGeometry(rotation=15.0, noise=0.05)
    a = geometry(views, _generator(7), (0.5,) * 3, (0.25,) * 3)
    b = geometry(views, _generator(7), (0.5,) * 3, (0.25,) * 3)
    assert torch.equal(a, b) and not torch.equal(a, views)


@pytest.mark.parametrize(
    ("rotation", "noise"), [(-1.0, 0.0), (181.0, 0.0), (0.0, 1.5), (math.nan, 0.0), ("5", 0.0)]
)
def test_out_of_range_amounts_are_refused(rotation, noise):
    with pytest.raises(ValueError, match=r"(rotation|noise): expected a number"):
        ViewGeometry(rotation, noise)
