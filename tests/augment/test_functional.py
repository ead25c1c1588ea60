"""The reference ops' definitions against closed forms (the oracle must itself be right)."""

import math

import pytest
import torch

from sslcore.augment import functional as TF


def rgb(r, g, b):
    return torch.tensor([r, g, b], dtype=torch.float32).view(3, 1, 1)


def test_brightness_and_contrast_limits():
    img = torch.rand(3, 5, 6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(TF.adjust_brightness(img, 0.0), torch.zeros_like(img))
    assert torch.equal(TF.adjust_brightness(img, 1.0), img)
    assert TF.adjust_brightness(img, 10.0).max() == 1.0  # clamped
    flat = TF.adjust_contrast(img, 0.0)
    torch.testing.assert_close(flat, torch.full_like(img, float(TF.rgb_to_grayscale(img).mean())))


def test_saturation_zero_is_grayscale_and_luma_weights():
    img = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(1))
    gray = TF.rgb_to_grayscale(img)
    torch.testing.assert_close(TF.adjust_saturation(img, 0.0), gray.expand(3, -1, -1))
    torch.testing.assert_close(TF.rgb_to_grayscale(rgb(1.0, 0.0, 0.0)), torch.tensor([[[0.2989]]]))


@pytest.mark.parametrize(
    ("pixel", "shift", "expected"),
    [
        (rgb(1.0, 0.0, 0.0), 1 / 3, rgb(0.0, 1.0, 0.0)),  # red + 120° = green
        (rgb(0.0, 1.0, 0.0), 1 / 3, rgb(0.0, 0.0, 1.0)),  # green + 120° = blue
        (rgb(0.0, 0.0, 1.0), -1 / 3, rgb(0.0, 1.0, 0.0)),
        (rgb(1.0, 0.5, 0.0), 0.5, rgb(0.0, 0.5, 1.0)),  # orange + 180° = azure
        (rgb(0.3, 0.3, 0.3), 0.25, rgb(0.3, 0.3, 0.3)),  # gray has no hue
    ],
)
def test_hue_rotations_closed_form(pixel, shift, expected):
    torch.testing.assert_close(TF.adjust_hue(pixel, shift), expected, atol=1e-6, rtol=0)


def test_hue_round_trip():
    img = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(2))
    back = TF.adjust_hue(TF.adjust_hue(img, 0.3), -0.3)
    torch.testing.assert_close(back, img, atol=1e-5, rtol=0)


def test_gaussian_kernel_and_blur_of_a_constant():
    k = TF.gaussian_kernel1d(5, 1.0)
    x = torch.arange(5, dtype=torch.float64) - 2
    want = torch.exp(-0.5 * x**2)
    torch.testing.assert_close(k.double(), want / want.sum())
    const = torch.full((3, 7, 9), 0.25)
    torch.testing.assert_close(TF.gaussian_blur(const, 5, 1.3), const)


def test_blur_impulse_is_outer_product_of_taps():
    img = torch.zeros(1, 9, 9)
    img[0, 4, 4] = 1.0
    k = TF.gaussian_kernel1d(5, 0.8)
    out = TF.gaussian_blur(img, 5, 0.8)
    torch.testing.assert_close(out[0, 2:7, 2:7], torch.outer(k, k))


def test_solarize_threshold_is_inclusive():
    img = torch.tensor([0.2, 0.5, 0.9]).view(1, 1, 3)
    torch.testing.assert_close(TF.solarize(img, 0.5), torch.tensor([0.2, 0.5, 0.1]).view(1, 1, 3))


def test_resized_crop_identity_and_box():
    img = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(TF.resized_crop(img, 0, 0, 6, 8, (6, 8)), img)
    torch.testing.assert_close(TF.resized_crop(img, 1, 2, 3, 4, (3, 4)), img[:, 1:4, 2:6])
    assert math.isclose(
        float(TF.resized_crop(img, 0, 0, 6, 8, (1, 1)).mean()), float(img.mean()), rel_tol=0.1
    )
