"""time_contenders: the three contenders' structure, fallbacks and kornia's recipe (never speed)."""

import math

import pytest
import torch

from sslcore import ops
from sslcore.augment import ViewSpec, sample_view_params, timing
from sslcore.augment.timing import CONTENDERS, kornia_views, time_contenders


def images(n=4, c=3, h=20, w=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=g)


def check(results, views, n):
    assert [r["contender"] for r in results] == list(CONTENDERS)
    for r in results:
        assert set(r) == {"contender", "views_per_s", "ms", "note"}
        assert math.isfinite(r["views_per_s"]) and r["views_per_s"] > 0
        assert math.isfinite(r["ms"]) and r["ms"] > 0
        # ms is per batch of views·n views, views_per_s per view: the two must agree.
        assert r["ms"] == pytest.approx(1e3 * views * n / r["views_per_s"], rel=1e-9)
        assert isinstance(r["note"], str) and r["note"]


@pytest.mark.parametrize("views", [2, 3])
def test_rgb_contenders(views):
    results = time_contenders(images(), ViewSpec.simclr(16), views=views, repeats=2)
    check(results, views, 4)
    assert f"{views * 4} views" in results[0]["note"]


def test_byol_pair_of_specs():
    specs = [ViewSpec.byol(16, view=1), ViewSpec.byol(16, view=2)]
    check(time_contenders(images(), specs, views=2, repeats=1), 2, 4)


def test_gray_images_use_reference_and_rgb_free_kornia():
    results = time_contenders(images(n=3, c=1), ViewSpec.simclr(16), views=2, repeats=1)
    check(results, 2, 3)
    torch_note, kornia_note = results[1]["note"], results[2]["note"]
    assert "reference_augment_views" in torch_note and "extrapolated" in torch_note
    assert "RGB" in kornia_note


def test_without_benchmarks_module(monkeypatch):
    monkeypatch.setattr(timing, "_batched_torch", lambda: None)
    n = timing.REFERENCE_VIEWS  # 2·n views: the reference is timed on only n of them
    results = time_contenders(images(n=n), ViewSpec.simclr(16), views=2, repeats=1)
    check(results, 2, n)
    assert f"timed on {n} views, extrapolated per view to {2 * n}" in results[1]["note"]


@pytest.mark.parametrize("external", [True, False])
def test_kornia_pipeline_is_the_same_recipe(monkeypatch, external):
    """A recipe with no randomness left: kornia's views equal sslcore's (oracle: the kernel)."""
    if not external:
        monkeypatch.setattr(timing, "_batched_torch", lambda: None)
    x = images(n=3)
    spec = ViewSpec(
        size=20,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_p=1.0,
        jitter_p=0.0,
        grayscale_p=1.0,
        blur_p=1.0,
        blur_sigma=(1.2, 1.2),
        blur_kernel_size=5,
        solarize_p=1.0,
        solarize_threshold=0.6,
    )
    ours = ops.augment_views(x, sample_view_params(spec, x.shape, views=2))
    theirs = kornia_views([spec, spec], channels=3)(x)
    assert theirs.shape == ours.shape == (6, 3, 20, 20)
    # kornia's luma weights are 0.299/0.587/0.114, torchvision's 0.2989/0.587/0.114.
    torch.testing.assert_close(theirs, ours, atol=1e-3, rtol=0)


def test_kornia_views_shape_gray():
    out = kornia_views([ViewSpec.simclr(12)] * 3, channels=1)(images(n=2, c=1))
    assert out.shape == (6, 1, 12, 12) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    ("bad", "kwargs", "match"),
    [
        (images().float(), {}, "images"),
        (images()[0], {}, "images"),
        (images(n=0), {}, "images"),
        (images(c=4), {}, "images"),
        (images(), {"repeats": 0}, "repeats"),
    ],
)
def test_bad_input(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        time_contenders(bad, ViewSpec.simclr(16), **kwargs)
