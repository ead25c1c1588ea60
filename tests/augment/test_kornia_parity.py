"""Our views against kornia's functional ops on the same params: an independent implementation.

kornia's definitions differ in two documented places: its luma weights (0.299 vs torchvision's
0.2989) touch grayscale, contrast and saturation (bound: tolerance "augment_views_kornia_luma");
its hue works in radians through its own HSV conversion (shift · 2π; same bound). Crop + resize
is compared on upscaling crops, where antialiasing does nothing and kornia's bilinear resize is
the plain one.
"""

import math

import pytest
import torch

kornia = pytest.importorskip("kornia")

from sslcore import ops  # noqa: E402
from sslcore._ext import extension_available  # noqa: E402
from tests.augment.helpers import identity_params, jitter_only  # noqa: E402
from tests.conftest import tolerance  # noqa: E402

pytestmark = pytest.mark.skipif(not extension_available(), reason="extension not built")

N, H, W = 4, 24, 20


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(11)
    return torch.randint(0, 256, (N, 3, H, W), dtype=torch.uint8, generator=g)


def as_float(x):
    return x.float() / 255.0


def test_crop_resize_and_flip(x):
    boxes = torch.tensor([[2, 3, 10, 8], [0, 0, 24, 20], [5, 1, 13, 17], [7, 9, 6, 5]])
    flip = torch.tensor([False, True, False, True])
    params = identity_params(N, H, W, crop=boxes, flip=flip, size=(28, 22))
    got = ops.augment_views(x, params)
    for v in range(N):
        top, left, h, w = boxes[v].tolist()
        crop = as_float(x[v : v + 1, :, top : top + h, left : left + w])
        want = kornia.geometry.transform.resize(
            crop, (28, 22), interpolation="bilinear", align_corners=False
        )
        if flip[v]:
            want = kornia.geometry.transform.hflip(want)
        torch.testing.assert_close(got[v : v + 1], want, **tolerance("augment_views_kornia"))


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.6])
def test_brightness(x, factor):
    got = ops.augment_views(x, jitter_only(N, H, W, 0, factor))
    want = kornia.enhance.adjust_brightness_accumulative(as_float(x), factor).clamp(0, 1)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia"))


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.6])
def test_contrast(x, factor):
    got = ops.augment_views(x, jitter_only(N, H, W, 1, factor))
    want = kornia.enhance.adjust_contrast_with_mean_subtraction(as_float(x), factor)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia_luma"))


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.6])
def test_saturation(x, factor):
    got = ops.augment_views(x, jitter_only(N, H, W, 2, factor))
    want = kornia.enhance.adjust_saturation_with_gray_subtraction(as_float(x), factor)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia_luma"))


@pytest.mark.parametrize("shift", [-0.4, 0.1, 0.5])
def test_hue_through_radians(x, shift):
    got = ops.augment_views(x, jitter_only(N, H, W, 3, shift))
    want = kornia.enhance.adjust_hue(as_float(x), shift * 2 * math.pi)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia_luma"))


def test_grayscale(x):
    got = ops.augment_views(x, identity_params(N, H, W, grayscale=torch.ones(N, dtype=torch.bool)))
    weights = torch.tensor([0.2989, 0.587, 0.114])
    want = kornia.color.rgb_to_grayscale(as_float(x), rgb_weights=weights).expand(-1, 3, -1, -1)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia"))


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.0])
def test_blur(x, sigma):
    params = identity_params(N, H, W, blur_sigma=torch.full((N,), sigma), blur_kernel_size=7)
    got = ops.augment_views(x, params)
    want = kornia.filters.gaussian_blur2d(
        as_float(x), (7, 7), (sigma, sigma), border_type="reflect"
    )
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia"))


def test_solarize(x):
    got = ops.augment_views(x, identity_params(N, H, W, solarize=torch.ones(N, dtype=torch.bool)))
    want = kornia.enhance.solarize(as_float(x), 0.5)
    torch.testing.assert_close(got, want, **tolerance("augment_views_kornia"))
