"""images_to_float: the kernel against its reference and a naive NumPy loop; opcheck; bad input."""

import numpy as np
import pytest
import torch

from sslcore import ops
from sslcore._ext import extension_available
from tests.conftest import tolerance

pytestmark = pytest.mark.skipif(not extension_available(), reason="extension not built")

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def naive(images: np.ndarray, mean, std) -> np.ndarray:
    """A deliberately plain float64 loop over every pixel: the independent oracle."""
    out = np.empty(images.shape, dtype=np.float64)
    n, c, h, w = images.shape
    for i in range(n):
        for k in range(c):
            for y in range(h):
                for x in range(w):
                    out[i, k, y, x] = (images[i, k, y, x] / 255.0 - mean[k]) / std[k]
    return out


def random_images(shape, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g).to(device)


@pytest.mark.parametrize(
    "shape",
    [
        (0, 3, 4, 4),
        (1, 1, 1, 1),
        (1, 3, 5, 7),
        (3, 3, 33, 17),
        (2, 1, 8, 8),
        (4, 4, 3, 3),
        (2, 3, 0, 5),
        (9, 3, 64, 65),
    ],
)
def test_matches_reference(device, shape):
    x = random_images(shape, device=device)
    c = shape[1]
    mean, std = (MEAN + [0.5])[:c], (STD + [0.25])[:c]
    got = ops.images_to_float(x, mean, std)
    assert got.dtype == torch.float32 and got.shape == x.shape and got.device == x.device
    assert got.is_contiguous()
    torch.testing.assert_close(
        got, ops.reference_images_to_float(x, mean, std), **tolerance("images_to_float")
    )


def test_matches_naive_loop():
    x = random_images((2, 3, 5, 6), seed=3)
    got = ops.images_to_float(x, MEAN, STD).double().numpy()
    np.testing.assert_allclose(got, naive(x.numpy(), MEAN, STD), atol=2e-6, rtol=2e-6)


def test_closed_form_values():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3)
    torch.testing.assert_close(ops.images_to_float(x), torch.tensor([[[[0.0, 0.2, 1.0]]]]))
    torch.testing.assert_close(
        ops.images_to_float(x, 0.5, 0.5), torch.tensor([[[[-1.0, -0.6, 1.0]]]])
    )


@pytest.mark.parametrize("layout", ["channels_last", "sliced", "flipped_view", "expanded"])
def test_non_contiguous_input(device, layout):
    base = random_images((4, 3, 10, 12), seed=1, device=device)
    x = {
        "channels_last": base.contiguous(memory_format=torch.channels_last),
        "sliced": base[::2, :, 1:9:2, ::3],
        "flipped_view": base.permute(0, 1, 3, 2),
        "expanded": base[:1].expand(5, -1, -1, -1),
    }[layout]
    if layout == "channels_last":
        assert not x.is_contiguous()
    got = ops.images_to_float(x, MEAN, STD)
    want = ops.reference_images_to_float(x.contiguous(), MEAN, STD)
    torch.testing.assert_close(got, want, **tolerance("images_to_float"))


def test_scalar_and_tensor_mean_std_broadcast():
    x = random_images((2, 3, 4, 4))
    a = ops.images_to_float(x, 0.5, 0.25)
    b = ops.images_to_float(x, [0.5] * 3, torch.tensor([0.25, 0.25, 0.25]))
    torch.testing.assert_close(a, b)


def test_large_batch_uses_threads_and_stays_exact():
    # Large enough to take the OpenMP path (>= 2^16 pixels).
    x = random_images((64, 3, 32, 32), seed=5)
    torch.testing.assert_close(
        ops.images_to_float(x, MEAN, STD),
        ops.reference_images_to_float(x, MEAN, STD),
        **tolerance("images_to_float"),
    )


def test_opcheck():
    x = random_images((2, 3, 5, 4))
    torch.library.opcheck(torch.ops.sslcore.images_to_float.default, (x, MEAN, STD))
    torch.library.opcheck(torch.ops.sslcore.images_to_float.default, (x[:, :1], [0.0], [1.0]))


def test_torch_compile_into_buffer():
    def step(t, buf):
        ops.images_to_float(t, MEAN, STD, out=buf)
        return buf.sum()

    x = random_images((2, 3, 6, 6))
    buf = torch.empty(x.shape)
    got = torch.compile(step, fullgraph=True, backend="aot_eager")(x, buf)
    want = ops.reference_images_to_float(x, MEAN, STD)
    torch.testing.assert_close(buf, want, **tolerance("images_to_float"))
    torch.testing.assert_close(got, want.sum(), rtol=1e-5, atol=1e-3)


def test_torch_compile_fullgraph():
    fn = torch.compile(
        lambda t: ops.images_to_float(t, MEAN, STD) * 2.0, fullgraph=True, backend="eager"
    )
    x = random_images((2, 3, 6, 6))
    torch.testing.assert_close(
        fn(x), ops.reference_images_to_float(x, MEAN, STD) * 2.0, **tolerance("images_to_float")
    )


@pytest.mark.parametrize(
    ("images", "mean", "std", "error", "match"),
    [
        (torch.zeros(2, 3, 4, 4), None, None, TypeError, "images: expected dtype torch.uint8"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), None, None, ValueError, r"4-D tensor"),
        (torch.zeros(1, 5, 4, 4, dtype=torch.uint8), None, None, ValueError, "channels"),
        (np.zeros((1, 3, 2, 2), np.uint8), None, None, TypeError, "torch.Tensor"),
        (
            torch.zeros(1, 3, 2, 2, dtype=torch.uint8),
            [0.1, 0.2],
            None,
            ValueError,
            "mean: expected",
        ),
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), None, [1.0, 0.0, 1.0], ValueError, "std"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), float("nan"), None, ValueError, "finite"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), None, float("inf"), ValueError, "finite"),
    ],
)
def test_bad_input_is_named(images, mean, std, error, match):
    with pytest.raises(error, match=match):
        ops.images_to_float(images, mean, std)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.zeros(1, 3, 2, 2), [0.0] * 3, [1.0] * 3), "images: expected dtype"),
        ((torch.zeros(3, 2, 2, dtype=torch.uint8), [0.0] * 3, [1.0] * 3), "images: expected a 4-D"),
        ((torch.zeros(1, 3, 2, 2, dtype=torch.uint8), [0.0] * 2, [1.0] * 3), "mean: expected 3"),
        (
            (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), [0.0] * 3, [1.0, -1.0, 1.0]),
            "std: expected",
        ),
    ],
)
def test_kernel_checks_its_own_arguments(args, match):
    """Direct torch.ops callers skip the Python checks: the C++ ones must catch the same errors."""
    with pytest.raises(Exception, match=match):
        torch.ops.sslcore.images_to_float(*args)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_out_variant_writes_into_the_given_buffer(device, layout):
    x = random_images((3, 3, 9, 11), seed=7, device=device)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    out = torch.full(x.shape, float("nan"), device=device)
    ptr = out.data_ptr()
    got = ops.images_to_float(x, MEAN, STD, out=out)
    assert got is out and out.data_ptr() == ptr
    torch.testing.assert_close(
        out, ops.reference_images_to_float(x, MEAN, STD), **tolerance("images_to_float")
    )


def test_out_variant_opcheck():
    x = random_images((2, 3, 5, 4))
    out = torch.empty(x.shape)
    torch.library.opcheck(torch.ops.sslcore.images_to_float_into.default, (x, MEAN, STD, out))


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (torch.empty(2, 3, 4, 4, dtype=torch.float64), TypeError, "out: expected dtype"),
        (torch.empty(2, 3, 4, 5), ValueError, r"out: expected shape \(2, 3, 4, 4\)"),
        (torch.empty(2, 3, 4, 8)[..., ::2], ValueError, "out: expected a contiguous"),
        ([0.0], TypeError, "out: expected a torch.Tensor"),
    ],
)
def test_out_variant_bad_buffers(out, error, match):
    with pytest.raises(error, match=match):
        ops.images_to_float(random_images((2, 3, 4, 4)), out=out)


def test_out_variant_kernel_checks():
    x = random_images((2, 3, 4, 4))
    with pytest.raises(Exception, match="out: expected shape"):
        torch.ops.sslcore.images_to_float_into(x, [0.0] * 3, [1.0] * 3, torch.empty(2, 3, 4, 3))


# std that passes "finite and positive" but whose normalisation overflows float32 (issue 14): the
# result was inf and NaN without a word. Each face refuses it, naming std.
OVERFLOWING_STD = [
    (0.0, 1e-45),  # 1 / std is inf in float32
    (0.0, 1e-39),  # 1 / std ~ 1e39: finite in float64, inf in float32
    (-1e30, 1e-9),  # |mean| / std ~ 1e39
    (0.5, 1.5e-39),  # (x - mean) / std reaches 3.3e38, within float32 but without rounding room
]


@pytest.mark.parametrize(("mean", "std"), OVERFLOWING_STD)
def test_std_that_overflows_float32_is_refused(mean, std):
    x = random_images((1, 3, 2, 2))
    for convert in (ops.images_to_float, ops.reference_images_to_float):
        with pytest.raises(ValueError, match=r"^std: .* would overflow float32") as info:
            convert(x, mean, std)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"^std: .* would overflow float32"):
        torch.ops.sslcore.images_to_float(x, [mean] * 3, [std] * 3)
    with pytest.raises(ValueError, match=r"^std: .* would overflow float32"):
        torch.ops.sslcore.images_to_float_into(x, [mean] * 3, [std] * 3, torch.empty(x.shape))


def test_smallest_accepted_std_stays_finite():
    """Just inside the limit every value, 0 and 255 included, is finite: the bound is not loose."""
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    std = 2.0 / torch.finfo(torch.float32).max * 1.0001  # reach 1 (mean 0): just under FLT_MAX/2
    got = ops.images_to_float(x, 0.0, std)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, ops.reference_images_to_float(x, 0.0, std), rtol=1e-6, atol=0)
