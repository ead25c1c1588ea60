"""The generated shapes dataset: determinism, balance, replay, and that only shape tells classes."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sslcore.data import SHAPE_NAMES, make_shapes, render_shapes, sample_shape_params
from sslcore.data.shapes import DEFAULT_TEXTURES, TEXTURES, shape_coverage


def params(n, seed=0):
    return sample_shape_params(n, torch.Generator().manual_seed(seed))


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = make_shapes(64, seed=3), make_shapes(64, seed=3), make_shapes(64, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert (a.x.float() - c.x.float()).abs().mean() > 20
    assert not torch.equal(a.y, c.y)


def test_make_shapes_replays_from_params():
    gen = torch.Generator().manual_seed(7)
    p = sample_shape_params(50, gen)
    assert torch.equal(render_shapes(p, 24, 0.05, gen), make_shapes(50, 24, seed=7).x)


@pytest.mark.parametrize("n", [0, 1, 803])
def test_balanced_shuffled_classes(n):
    data = make_shapes(n, size=16)
    counts = torch.bincount(data.y, minlength=len(SHAPE_NAMES))
    assert counts.sum() == n and counts.max() - counts.min() <= (1 if n else 0)
    assert data.class_names == list(SHAPE_NAMES) and len(SHAPE_NAMES) >= 6
    if n > 100:  # shuffled, not in blocks or cycles
        assert not torch.equal(data.y, torch.arange(n) % len(SHAPE_NAMES))
        assert (data.y[1:] == data.y[:-1]).float().mean() < 0.3


@pytest.mark.parametrize("size", [8, 17, 32, 64])
def test_dtype_shape_range(size):
    data = make_shapes(40, size=size)
    assert data.x.dtype == torch.uint8 and data.x.shape == (40, 3, size, size)
    assert data.modality == "image" and data.y.dtype == torch.int64
    assert data.x.min() < 30 and data.x.max() > 225
    assert data.x.float().std(dim=(1, 2, 3)).min() > 5  # no blank images


def test_empty_dataset_has_the_right_shapes():
    data = make_shapes(0, size=12)
    assert data.x.shape == (0, 3, 12, 12) and data.y.shape == (0,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 7}, "size"),
        ({"size": 32.0}, "size"),
        ({"size": True}, "size"),
        ({"n": -1}, "n must"),
        ({"n": 2.5}, "n must"),
        ({"seed": -1}, "seed"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"max_angle": -1}, "max_angle"),
        ({"max_angle": 181}, "max_angle"),
        ({"max_angle": "15"}, "max_angle"),
        ({"textures": []}, "textures"),
        ({"textures": "plain"}, "textures"),
        ({"textures": ["plain", "marble"]}, "marble"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_shapes(**{"n": 4, **kwargs})


def test_clean_render_shows_the_foreground_colour_where_covered():
    p = params(200)
    x = render_shapes(p, 32, noise=0.0).float() / 255  # (N, 3, H, W)
    cov = shape_coverage(p, 32)
    inside = (cov == 1).unsqueeze(1).expand_as(x)
    fg = p.foreground.view(-1, 3, 1, 1).expand_as(x)
    assert inside.any(dim=(1, 2, 3)).all()  # every shape is visible
    torch.testing.assert_close(x[inside], fg[inside], atol=0.5 / 255 + 1e-6, rtol=0)


def test_foreground_keeps_its_distance_from_the_background():
    p = params(3000)
    fg, bg = p.foreground, p.background
    for t in torch.linspace(0, 1, 11):  # every blend the texture can show
        assert ((torch.lerp(bg[:, 0], bg[:, 1], t) - fg).norm(dim=1) >= 0.3 - 1e-6).all()


def test_nuisances_do_not_depend_on_the_class():
    p = params(8000)
    overall = {
        "foreground": p.foreground.mean(0),
        "background": p.background.mean((0, 1)),
        "scale": p.scale.mean(),
        "center": p.center.abs().mean(0),
    }
    for k in range(len(SHAPE_NAMES)):
        rows = p.labels == k
        torch.testing.assert_close(
            p.foreground[rows].mean(0), overall["foreground"], atol=0.03, rtol=0
        )
        torch.testing.assert_close(
            p.background[rows].mean((0, 1)), overall["background"], atol=0.03, rtol=0
        )
        torch.testing.assert_close(p.scale[rows].mean(), overall["scale"], atol=0.01, rtol=0)
        torch.testing.assert_close(
            p.center[rows].abs().mean(0), overall["center"], atol=0.02, rtol=0
        )
        kinds = [TEXTURES.index(t) for t in DEFAULT_TEXTURES]
        counts = torch.bincount(p.texture[rows], minlength=len(TEXTURES)).float() / rows.sum()
        assert (counts[kinds] - 1 / len(kinds)).abs().max() < 0.05
        assert counts.sum() - counts[kinds].sum() == 0  # no other kind drawn
        torch.testing.assert_close(p.angle[rows].mean(), p.angle.mean(), atol=0.02, rtol=0)


@pytest.mark.parametrize("max_angle", [0.0, 15.0, 180.0])
def test_tilt_is_uniform_within_max_angle(max_angle):
    p = sample_shape_params(4000, torch.Generator().manual_seed(0), max_angle=max_angle)
    degrees = p.angle.rad2deg()
    assert degrees.abs().max() <= max_angle + 1e-4
    # Uniform on [-a, a]: mean |angle| is a / 2.
    torch.testing.assert_close(
        degrees.abs().mean(), torch.tensor(max_angle / 2), atol=max(0.02 * max_angle, 1e-6), rtol=0
    )


def test_upright_default_and_any_orientation_option_differ():
    upright, tilted = make_shapes(64, seed=1), make_shapes(64, seed=1, max_angle=180.0)
    assert torch.equal(upright.y, tilted.y) and not torch.equal(upright.x, tilted.x)


@pytest.mark.parametrize("texture", TEXTURES)
def test_each_texture_can_be_chosen_alone(texture):
    data = make_shapes(16, seed=0, noise=0.0, textures=[texture])
    p = sample_shape_params(16, torch.Generator().manual_seed(0), textures=[texture])
    assert (p.texture == TEXTURES.index(texture)).all()
    bg = data.x.float()[:, :, :3, :3].flatten(2).std(2).mean()  # a corner patch
    if texture == "plain":
        assert bg < 1.0  # one colour, no pattern
    else:
        assert data.x.float().std(dim=(1, 2, 3)).min() > 5


def _radial_profile(cov, p, size):
    """Rotation- and scale-free shape descriptor: coverage by distance from the centre / scale."""
    c = (torch.arange(size) + 0.5) / size * 2 - 1
    dist = (
        torch.hypot(
            c.view(1, 1, -1) - p.center[:, 0, None, None],
            -c.view(1, -1, 1) - p.center[:, 1, None, None],
        )
        / p.scale[:, None, None]
    )
    bins = (dist * 5).long().clamp(max=6)  # 7 rings of width 0.2 circumradii
    prof = torch.zeros(len(p), 7).scatter_add_(1, bins.flatten(1), cov.flatten(1))
    area = torch.zeros(len(p), 7).scatter_add_(1, bins.flatten(1), torch.ones_like(cov).flatten(1))
    return prof / area.clamp(min=1)


def test_colour_is_near_chance_while_shape_is_informative():
    n, size = 2400, 32
    gen = torch.Generator().manual_seed(1)
    p = sample_shape_params(n, gen)
    x = render_shapes(p, size, 0.05, gen).float() / 255
    cov = shape_coverage(p, size).unsqueeze(1)
    fg = (x * (cov > 0.99)).sum((2, 3)) / (cov > 0.99).sum((2, 3)).clamp(min=1)
    bg = (x * (cov < 0.01)).sum((2, 3)) / (cov < 0.01).sum((2, 3)).clamp(min=1)
    colour = torch.cat([fg, bg, x.mean((2, 3)), x.std((2, 3))], 1).numpy()
    shape = _radial_profile(cov[:, 0], p, size).numpy()
    y = p.labels.numpy()
    chance = 1 / len(SHAPE_NAMES)

    def accuracy(features):
        clf = LogisticRegression(max_iter=500)
        return float(np.mean(cross_val_score(clf, features, y, cv=3)))

    assert accuracy(colour) < chance + 0.05
    assert accuracy(shape) > 0.6
