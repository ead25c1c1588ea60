"""The benchmark's contenders: torch_batched_views against a plain per-view loop, kornia's build.

The oracle below applies torchvision's functional definitions one view at a time, written for
clarity (2-D blur kernel, six-sector HSV), independently of the batched tricks in the contender
(separable blur, closed-form HSV, masked affine jitter, folded 1/255).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from benchmarks.augment_contenders import kornia_pipeline, torch_batched_views

# Max abs error against the oracle, the worst over seeds 0-49 in brackets. Crops (upscaled, <= 24
# px): grid_sample unnormalises its coordinate ((g + 1)·W − 1)/2 in float32, ~1.3e-7 × the side
# (1e-5 at 96 px, 3e-5 at 224) [9e-7]; with every op and strong jitter on top [5e-6]. Colour ops:
# rounding order and closed-form HSV [jitter 4e-6, others <= 1.6e-6]; blur [3e-7].
ATOL = {"crop": 2e-5, "color": 1e-5}

N, H, W = 4, 12, 16
KERNEL = 5


# --- the oracle: one view at a time, torchvision's functional definitions ------------------------


def gray(img):
    r, g, b = img
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(0)


def brightness(img, f):
    return (f * img).clamp(0, 1)


def contrast(img, f):
    return (f * img + (1 - f) * gray(img).mean()).clamp(0, 1)


def saturation(img, f):
    return (f * img + (1 - f) * gray(img)).clamp(0, 1)


def hue(img, shift):
    r, g, b = img
    maxc, minc = img.max(0).values, img.min(0).values
    cr = maxc - minc
    eq = maxc == minc
    s = cr / torch.where(eq, torch.ones_like(maxc), maxc)
    crd = torch.where(eq, torch.ones_like(cr), cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    h = (maxc == r) * (bc - gc)
    h = h + ((maxc == g) & (maxc != r)) * (2 + rc - bc)
    h = h + ((maxc != g) & (maxc != r)) * (4 + gc - rc)
    h = torch.fmod(h / 6 + 1, 1)
    h = (h + shift) % 1
    v = maxc
    i = torch.floor(h * 6)
    f = h * 6 - i
    i = i.int() % 6
    p = (v * (1 - s)).clamp(0, 1)
    q = (v * (1 - s * f)).clamp(0, 1)
    t = (v * (1 - s * (1 - f))).clamp(0, 1)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = torch.empty_like(img)
    for sector, rgb in enumerate(table):
        for c in range(3):
            out[c] = torch.where(i == sector, rgb[c], out[c])
    return out


def blur(img, sigma, k):
    x = torch.linspace(-(k - 1) / 2, (k - 1) / 2, k)
    k1 = torch.exp(-0.5 * (x / sigma) ** 2)
    k1 = k1 / k1.sum()
    k2 = torch.outer(k1, k1).expand(3, 1, k, k)
    padded = F.pad(img[None], [k // 2] * 4, mode="reflect")
    return F.conv2d(padded, k2, groups=3)[0]


def oracle(images, params):
    """The views one at a time: crop, resize (antialiased), flip, jitter, gray, blur, solarize."""
    out = []
    jitter_ops = (brightness, contrast, saturation, hue)
    for v in range(len(params.source)):
        img = images[params.source[v]].float() / 255
        top, left, h, w = params.crop[v].tolist()
        x = img[:, top : top + h, left : left + w][None]
        x = F.interpolate(x, size=params.size, mode="bilinear", align_corners=False, antialias=True)
        x = x[0]
        if params.flip[v]:
            x = x.flip(-1)
        if params.jitter[v]:
            for op in params.order[v].tolist():
                x = jitter_ops[op](x, float(params.factors[v, op]))
        if params.grayscale[v]:
            x = gray(x).expand(3, -1, -1)
        if params.blur_sigma[v] > 0:
            x = blur(x, float(params.blur_sigma[v]), params.blur_kernel_size)
        if params.solarize[v]:
            x = torch.where(x >= params.solarize_threshold, 1 - x, x)
        out.append(x)
    return torch.stack(out)


# --- params: a stand-in with ViewParams' attributes, only the op under test switched on ----------


def make_params(op, seed=0, views=2, size=(H, W)):
    g = torch.Generator().manual_seed(seed)
    v = N * views

    def coin():
        return torch.rand(v, generator=g) < 0.5

    crop = torch.tensor([[0, 0, H, W]] * v)
    if op == "crop":  # upscaling crops only (see ATOL): at most the output in each direction
        ch = torch.randint(1, H + 1, (v,), generator=g)
        cw = torch.randint(1, W + 1, (v,), generator=g)
        top = (torch.rand(v, generator=g) * (H - ch + 1)).long()
        left = (torch.rand(v, generator=g) * (W - cw + 1)).long()
        crop = torch.stack([top, left, ch, cw], dim=1)
    factors = torch.tensor([[1.0, 1.0, 1.0, 0.0]]).repeat(v, 1)
    jitter_index = {"brightness": 0, "contrast": 1, "saturation": 2, "hue": 3}
    if op in jitter_index:
        i = jitter_index[op]
        factors[:, i] = (
            (torch.rand(v, generator=g) - 0.5) if i == 3 else torch.rand(v, generator=g) * 2
        )
    if op == "jitter":  # all four, each view in its own order
        factors = torch.cat([torch.rand(v, 3, generator=g) * 1.6 + 0.2,
                             torch.rand(v, 1, generator=g) - 0.5], dim=1)  # fmt: skip
    return SimpleNamespace(
        source=torch.arange(N).repeat(views),
        crop=crop,
        flip=coin() if op == "crop" else torch.zeros(v, dtype=torch.bool),
        jitter=coin() if op in (*jitter_index, "jitter") else torch.zeros(v, dtype=torch.bool),
        factors=factors,
        order=torch.argsort(torch.rand(v, 4, generator=g), dim=1),
        grayscale=coin() if op == "grayscale" else torch.zeros(v, dtype=torch.bool),
        blur_sigma=torch.where(coin(), torch.rand(v, generator=g) * 1.9 + 0.1, 0.0)
        if op == "blur"
        else torch.zeros(v),
        solarize=coin() if op == "solarize" else torch.zeros(v, dtype=torch.bool),
        size=size,
        blur_kernel_size=KERNEL,
        solarize_threshold=0.5,
        mean=None,
        std=None,
    )


def random_images(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (N, 3, H, W), dtype=torch.uint8, generator=g)


OPS = ["crop", "brightness", "contrast", "saturation", "hue", "jitter", "grayscale", "blur",
       "solarize"]  # fmt: skip


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_views_match_the_per_view_loop(op, seed):
    images, params = random_images(seed), make_params(op, seed)
    got = torch_batched_views(images, params)
    assert got.shape == (2 * N, 3, H, W) and got.dtype == torch.float32
    want = oracle(images, params)
    atol = ATOL["crop"] if op == "crop" else ATOL["color"]
    torch.testing.assert_close(got, want, atol=atol, rtol=0)
    # The op must have done something on the views it touched (the test can fail).
    untouched = oracle(images, make_params("none", seed))
    assert (want - untouched).abs().amax() > 0.05


@pytest.mark.parametrize("method", ["matmul", "conv"])
@pytest.mark.parametrize("kernel_size", [3, 9, 23])  # 23 taps reflect across all 12 rows
def test_both_blurs_match_the_loop(method, kernel_size):
    images, params = random_images(5), make_params("blur", 5)
    params.blur_kernel_size = kernel_size
    got = torch_batched_views(images, params, blur=method)
    torch.testing.assert_close(got, oracle(images, params), atol=ATOL["color"], rtol=0)


def test_all_ops_together_on_upscaling_crops():
    images, params = random_images(3), make_params("crop", 3, size=(17, 21))
    every = make_params("jitter", 3, size=(17, 21))
    for name in ("jitter", "factors", "order"):
        setattr(params, name, getattr(every, name))
    params.grayscale = make_params("grayscale", 3).grayscale
    params.blur_sigma = make_params("blur", 3).blur_sigma
    params.solarize = make_params("solarize", 3).solarize
    torch.testing.assert_close(
        torch_batched_views(images, params), oracle(images, params), atol=ATOL["crop"], rtol=0
    )


def single_view(height, width, **fields):
    """Params of one identity view of image 0 (nothing drawn); `fields` overrides rows."""
    no = torch.zeros(1, dtype=torch.bool)
    params = SimpleNamespace(
        source=torch.zeros(1, dtype=torch.long), crop=torch.tensor([[0, 0, height, width]]),
        flip=no, jitter=no, factors=torch.tensor([[1.0, 1.0, 1.0, 0.0]]),
        order=torch.arange(4).view(1, 4), grayscale=no, blur_sigma=torch.zeros(1), solarize=no,
        size=(height, width), blur_kernel_size=1, solarize_threshold=0.5, mean=None, std=None,
    )  # fmt: skip
    vars(params).update(fields)
    return params


def test_hue_keeps_gray_pixels_and_turns_primaries():
    rgb = torch.tensor([[255, 0, 0, 128], [0, 255, 0, 128], [0, 0, 255, 128]], dtype=torch.uint8)
    images = rgb.view(1, 3, 1, 4).repeat(1, 1, 2, 1)  # red, green, blue, gray; two rows
    params = single_view(
        2, 4, jitter=torch.ones(1, dtype=torch.bool), order=torch.tensor([[3, 0, 1, 2]]),
        factors=torch.tensor([[1.0, 1.0, 1.0, 1 / 3]]),  # a third of a turn: r → g → b → r
    )  # fmt: skip
    out = torch_batched_views(images, params)[0, :, 0]  # (3, 4): channels × pixels of row 0
    gray = 128 / 255
    want = torch.tensor([[0, 0, 1, gray], [1, 0, 0, gray], [0, 1, 0, gray]])
    torch.testing.assert_close(out, want, atol=1e-6, rtol=0)


def test_normalisation_is_applied_last():
    images, params = random_images(), make_params("none")
    params.mean, params.std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    got = torch_batched_views(images, params)
    mean = torch.tensor(params.mean).view(1, 3, 1, 1)
    want = (oracle(images, params) - mean) / torch.tensor(params.std).view(1, 3, 1, 1)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_sampled_params_match_the_loop():
    augment = pytest.importorskip("sslcore.augment", reason="sslcore.augment not written yet")
    if not hasattr(augment, "sample_view_params"):
        pytest.skip("sslcore.augment has no sample_view_params yet")
    # Crops of at most 0.5 of a 12×16 image into 20×24 are always upscaled (see ATOL).
    spec = augment.ViewSpec.simclr((20, 24), strength=1.0, scale=(0.08, 0.5), solarize_p=0.3)
    images = random_images(4)
    g = torch.Generator().manual_seed(4)
    params = augment.sample_view_params(spec, images.shape, views=2, generator=g)
    got = torch_batched_views(images, params)
    torch.testing.assert_close(got, oracle(images, params), atol=ATOL["crop"], rtol=0)


def test_no_views_give_an_empty_batch():
    params = single_view(H, W, **{k: v[:0] for k, v in vars(make_params("none")).items()
                                   if isinstance(v, torch.Tensor)})  # fmt: skip
    assert torch_batched_views(random_images(), params).shape == (0, 3, H, W)


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="images"):
        torch_batched_views(random_images().float(), make_params("none"))


def test_kornia_pipeline_builds_and_is_identity_when_nothing_is_drawn():
    pytest.importorskip("kornia")
    spec = SimpleNamespace(
        scale=(0.08, 1.0), ratio=(0.75, 4 / 3), flip_p=0.5, brightness=0.4, contrast=0.4,
        saturation=0.4, hue=0.1, jitter_p=0.8, grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0),
        blur_kernel_size=3, solarize_p=0.2, solarize_threshold=0.5, mean=None, std=None,
    )  # fmt: skip
    x = random_images().float() / 255
    out = kornia_pipeline((8, 10), spec)(x.repeat(2, 1, 1, 1))
    assert out.shape == (2 * N, 3, 8, 10) and out.dtype == torch.float32
    assert out.isfinite().all() and 0 <= out.min() and out.max() <= 1
    assert not torch.allclose(out[:N], out[N:])  # the two views of an image differ
    # Nothing drawn: the full crop resized to its own size, no colour op: the input itself.
    square = x[..., :H, :H]
    idle = SimpleNamespace(**{**vars(spec), "scale": (1.0, 1.0), "ratio": (1.0, 1.0)})
    for name in ("flip_p", "jitter_p", "grayscale_p", "blur_p", "solarize_p"):
        setattr(idle, name, 0.0)
    torch.testing.assert_close(kornia_pipeline((H, H), idle)(square), square)
