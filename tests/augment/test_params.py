"""Sampling ViewParams from a ViewSpec: ranges, probabilities, layout, seeding; ViewAugment."""

import math

import pytest
import torch

from sslcore.augment import JITTER_OPS, ViewAugment, ViewSpec, sample_view_params
from sslcore.augment.spec import default_blur_kernel_size

N, H, W = 2000, 48, 64


@pytest.fixture(scope="module")
def params():
    spec = ViewSpec.simclr(32)
    return sample_view_params(
        spec, (N, 3, H, W), views=2, generator=torch.Generator().manual_seed(0)
    )


def test_layout_row_j_n_plus_i_is_view_j_of_image_i(params):
    assert len(params) == 2 * N
    assert torch.equal(params.source, torch.arange(N).repeat(2))


def test_crops_follow_random_resized_crop(params):
    top, left, h, w = params.crop.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= H).all() and (left + w <= W).all()
    area = (h * w).double() / (H * W)
    ratio = w.double() / h.double()
    # Rounding to whole pixels moves area and ratio a little outside the sampled ranges.
    assert area.min() >= 0.08 * 0.85 and area.max() <= 1.0
    assert ratio.min() >= 0.75 * 0.85 and ratio.max() <= (4 / 3) / 0.85
    assert area.std() > 0.2 and len(set(top.tolist())) > 10  # spread, not a constant box


def test_probabilities_and_factor_ranges(params):
    v = len(params)
    tol = 4 * math.sqrt(0.25 / v)  # 4 standard deviations of a frequency
    assert abs(params.flip.float().mean() - 0.5) < tol
    assert abs(params.jitter.float().mean() - 0.8) < tol
    assert abs(params.grayscale.float().mean() - 0.2) < tol
    assert abs((params.blur_sigma > 0).float().mean() - 0.5) < tol
    assert not params.solarize.any()
    b, c, s, h = params.factors.unbind(1)
    for f in (b, c, s):
        assert f.min() >= 0.2 and f.max() <= 1.8 and f.std() > 0.3
    assert h.min() >= -0.2 and h.max() <= 0.2
    sigma = params.blur_sigma[params.blur_sigma > 0]
    assert sigma.min() >= 0.1 and sigma.max() <= 2.0


def test_orders_are_uniform_permutations(params):
    assert torch.equal(params.order.sort(1).values, torch.arange(4).expand(len(params), 4))
    first = torch.bincount(params.order[:, 0], minlength=4).float() / len(params)
    assert (first - 0.25).abs().max() < 0.05


def test_seeded_sampling_replays_and_differs_across_seeds():
    spec = ViewSpec.byol(16, view=2)
    a = sample_view_params(spec, (5, 3, 20, 20), generator=torch.Generator().manual_seed(3))
    b = sample_view_params(spec, (5, 3, 20, 20), generator=torch.Generator().manual_seed(3))
    c = sample_view_params(spec, (5, 3, 20, 20), generator=torch.Generator().manual_seed(4))
    assert a.equal(b) and not a.equal(c)


def test_byol_two_specs_one_per_view():
    specs = [ViewSpec.byol(32, view=1), ViewSpec.byol(32, view=2)]
    p = sample_view_params(
        specs, (1000, 3, 32, 32), views=2, generator=torch.Generator().manual_seed(1)
    )
    first, second = p.select(slice(0, 1000)), p.select(slice(1000, 2000))
    assert (first.blur_sigma > 0).all() and not first.solarize.any()
    assert 0.05 < (second.blur_sigma > 0).float().mean() < 0.15
    assert 0.15 < second.solarize.float().mean() < 0.25


def test_rows_and_str_are_readable():
    p = sample_view_params(
        ViewSpec.simclr(24), (2, 3, 30, 30), generator=torch.Generator().manual_seed(0)
    )
    rows = p.rows()
    assert len(rows) == 4 and set(rows[0]["order"]) == set(JITTER_OPS)
    assert rows[0]["crop"]["height"] == int(p.crop[0, 2])
    text = str(p)
    assert text.startswith("ViewParams: 4 views → 24×24") and text.count("\n") == 4


def test_spec_validation_names_the_field():
    with pytest.raises(ValueError, match="scale"):
        ViewSpec(size=32, scale=(0.9, 0.1))
    with pytest.raises(ValueError, match="flip_p"):
        ViewSpec(size=32, flip_p=1.5)
    with pytest.raises(ValueError, match="hue"):
        ViewSpec(size=32, hue=0.7)
    with pytest.raises(ValueError, match="blur_kernel_size"):
        ViewSpec(size=32, blur_kernel_size=4)
    with pytest.raises(ValueError, match="blur_kernel_size"):
        ViewSpec(size=8, blur_kernel_size=17)
    with pytest.raises(ValueError, match="size"):
        ViewSpec(size=0)
    with pytest.raises(ValueError, match="mean and std"):
        ViewSpec(size=32, mean=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="std"):
        ViewSpec(size=32, mean=(0.5,), std=(0.0,))
    with pytest.raises(ValueError, match=r"std: .* would overflow float32"):
        ViewSpec(size=32, mean=(0.5,), std=(1e-45,))
    with pytest.raises(ValueError, match="mean and std: expected as many"):
        ViewSpec(size=32, mean=(0.5,), std=(0.2, 0.2, 0.2))
    with pytest.raises(ValueError, match="size"):
        ViewSpec(size=(2**31, 32))
    with pytest.raises(ValueError, match="view"):
        ViewSpec.byol(32, view=3)


def test_presets_carry_the_papers_values():
    s = ViewSpec.simclr(224)
    assert (s.brightness, s.contrast, s.saturation, s.hue) == pytest.approx((0.8, 0.8, 0.8, 0.2))
    assert (s.jitter_p, s.grayscale_p, s.blur_p, s.blur_kernel_size) == (0.8, 0.2, 0.5, 23)
    cifar = ViewSpec.simclr(32, strength=0.5, blur=False)
    assert cifar.brightness == pytest.approx(0.4) and cifar.blur_p == 0.0
    b1, b2 = ViewSpec.byol(224, view=1), ViewSpec.byol(224, view=2)
    assert (b1.blur_p, b1.solarize_p, b2.blur_p, b2.solarize_p) == (1.0, 0.0, 0.1, 0.2)
    assert (b1.saturation, b1.hue) == (0.2, 0.1)
    assert [default_blur_kernel_size((s, s)) for s in (16, 32, 96, 224)] == [1, 3, 9, 23]


def test_sampling_rejects_bad_shapes_and_mixed_settings():
    with pytest.raises(ValueError, match="image_shape"):
        sample_view_params(ViewSpec.simclr(8), (3, 8, 8))
    with pytest.raises(ValueError, match="one spec per view"):
        sample_view_params([ViewSpec.simclr(8)], (1, 3, 8, 8), views=2)
    with pytest.raises(ValueError, match="share size"):
        sample_view_params([ViewSpec.simclr(8), ViewSpec.simclr(9)], (1, 3, 8, 8), views=2)


def test_view_augment_module_is_seeded_and_shaped():
    x = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
    views, params = ViewAugment(ViewSpec.simclr(32), views=2, seed=0)(x)
    again, params2 = ViewAugment(ViewSpec.simclr(32), views=2, seed=0)(x)
    assert views.shape == (8, 3, 32, 32) and torch.equal(views, again) and params.equal(params2)
    module = ViewAugment(ViewSpec.simclr(32), views=2, seed=0)
    first, _ = module(x)
    second, _ = module(x)  # the generator advances: new views each call
    assert not torch.equal(first, second)
    with pytest.raises(TypeError, match="ViewSpec"):
        ViewAugment([1, 2])
