"""augment_views: the kernel against its reference, op by op and all together; replay; bad input."""

import dataclasses

import pytest
import torch

from sslcore import ops
from sslcore._ext import extension_available
from sslcore.augment import ViewSpec, sample_view_params
from tests.augment.helpers import identity_params, jitter_only
from tests.conftest import tolerance

pytestmark = pytest.mark.skipif(not extension_available(), reason="extension not built")


def images(shape, dtype=torch.uint8, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)
    return (x if dtype == torch.uint8 else x.float() / 255.0).to(device)


def assert_matches_reference(x, params):
    got = ops.augment_views(x, params)
    want = ops.reference_augment_views(x, params)
    assert got.shape == (len(params), x.shape[1], *params.size) and got.dtype == torch.float32
    torch.testing.assert_close(got, want, **tolerance("augment_views"))
    return got


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    ("n", "hw", "size"),
    [
        (1, (32, 32), (32, 32)),
        (5, (33, 17), (9, 13)),
        (3, (64, 64), (16, 16)),
        (2, (20, 30), (47, 41)),
        (1, (1, 1), (1, 1)),
        (4, (8, 8), (3, 3)),
    ],
)
def test_full_recipe_matches_reference(device, dtype, channels, n, hw, size):
    x = images((n, channels, *hw), dtype, device=device)
    k = 3 if min(size) >= 2 else 1
    spec = ViewSpec.simclr(size, blur_kernel_size=k, hue=0.5, solarize_p=0.5)
    params = sample_view_params(
        spec, x.shape, views=2, generator=torch.Generator().manual_seed(n), device=device
    )
    assert_matches_reference(x, params)


@pytest.mark.parametrize(
    "spec",
    [
        ViewSpec.simclr(224),
        ViewSpec.byol(96, view=2),
        ViewSpec.simclr(40, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.25)),
    ],
    ids=["simclr224", "byol96", "normalised"],
)
def test_paper_presets_match_reference(spec):
    x = images((3, 3, 100, 120))
    params = sample_view_params(spec, x.shape, generator=torch.Generator().manual_seed(7))
    assert_matches_reference(x, params)


def test_zero_views_and_empty_batch():
    x = images((0, 3, 8, 8))
    params = sample_view_params(ViewSpec.simclr(8), x.shape)
    assert len(params) == 0
    assert ops.augment_views(x, params).shape == (0, 3, 8, 8)


@pytest.mark.parametrize("layout", ["channels_last", "sliced", "transposed"])
def test_non_contiguous_input(layout):
    base = images((4, 3, 40, 36), seed=1)
    x = {
        "channels_last": base.contiguous(memory_format=torch.channels_last),
        "sliced": base[::2, :, 3:37:2, 1:],
        "transposed": base.transpose(2, 3),
    }[layout]
    params = sample_view_params(
        ViewSpec.simclr(24), x.shape, views=3, generator=torch.Generator().manual_seed(2)
    )
    got = assert_matches_reference(x, params)
    torch.testing.assert_close(got, ops.augment_views(x.contiguous(), params))


# Each op alone, with the factor at interesting values.
@pytest.mark.parametrize(
    ("op", "factor"),
    [
        (0, 0.0),
        (0, 0.6),
        (0, 1.7),
        (1, 0.0),
        (1, 0.4),
        (1, 1.9),
        (2, 0.0),
        (2, 0.3),
        (2, 1.8),
        (3, -0.5),
        (3, -0.2),
        (3, 0.05),
        (3, 0.5),
    ],
)
def test_each_jitter_op_alone(op, factor):
    x = images((3, 3, 11, 13), seed=op)
    assert_matches_reference(x, jitter_only(3, 11, 13, op, factor))


def test_crop_flip_gray_blur_solarize_alone():
    x = images((2, 3, 21, 19), seed=4)
    cases = {
        "crop": dict(crop=torch.tensor([[2, 3, 10, 7], [0, 0, 21, 19]]), size=(17, 9)),
        "flip": dict(flip=torch.tensor([True, False])),
        "gray": dict(grayscale=torch.tensor([True, True])),
        "blur": dict(blur_sigma=torch.tensor([0.4, 2.0]), blur_kernel_size=9),
        "solarize": dict(solarize=torch.tensor([True, False])),
    }
    for name, fields in cases.items():
        params = identity_params(2, 21, 19, **fields)
        got = assert_matches_reference(x, params)
        if name == "flip":
            torch.testing.assert_close(got[0], (x[0].float() / 255).flip(-1))
        if name == "gray":
            assert torch.equal(got[:, 0], got[:, 1]) and torch.equal(got[:, 1], got[:, 2])


def test_identity_params_give_the_image():
    x = images((3, 3, 9, 10))
    torch.testing.assert_close(
        ops.augment_views(x, identity_params(3, 9, 10)), x.float() / 255, atol=1e-6, rtol=0
    )


def test_jitter_order_matters_and_is_followed():
    x = images((1, 3, 16, 16), seed=9)
    base = identity_params(
        1, 16, 16, jitter=torch.tensor([True]), factors=torch.tensor([[1.8, 0.3, 1.0, 0.0]])
    )
    a = ops.augment_views(x, dataclasses.replace(base, order=torch.tensor([[0, 1, 2, 3]])))
    b = ops.augment_views(x, dataclasses.replace(base, order=torch.tensor([[1, 0, 2, 3]])))
    assert (a - b).abs().max() > 1e-2  # brightness clamps before vs after contrast
    assert_matches_reference(x, dataclasses.replace(base, order=torch.tensor([[1, 0, 2, 3]])))


def test_replay_and_determinism():
    x = images((6, 3, 32, 32))
    spec = ViewSpec.simclr(32)
    p1 = sample_view_params(spec, x.shape, generator=torch.Generator().manual_seed(5))
    p2 = sample_view_params(spec, x.shape, generator=torch.Generator().manual_seed(5))
    p3 = sample_view_params(spec, x.shape, generator=torch.Generator().manual_seed(6))
    assert p1.equal(p2) and not p1.equal(p3)
    v1 = ops.augment_views(x, p1)
    assert torch.equal(v1, ops.augment_views(x, p2))  # same params → bit-identical views
    assert torch.equal(v1, ops.augment_views(x, p1))
    assert not torch.equal(v1, ops.augment_views(x, p3))
    # A subset of the rows replays those views exactly.
    assert torch.equal(ops.augment_views(x, p1.select([3, 0])), v1[[3, 0]])


def test_thread_count_does_not_change_results():
    x = images((8, 3, 24, 24))
    params = sample_view_params(
        ViewSpec.simclr(24), x.shape, views=2, generator=torch.Generator().manual_seed(1)
    )
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = ops.augment_views(x, params)
        torch.set_num_threads(max(2, threads))
        many = ops.augment_views(x, params)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)


def test_opcheck():
    x = images((2, 3, 12, 10))
    p = sample_view_params(
        ViewSpec.simclr(8, blur_p=1.0), x.shape, generator=torch.Generator().manual_seed(0)
    )
    args = ops._augment_args(x, p)
    torch.library.opcheck(torch.ops.sslcore.augment_views.default, args)


def bad(**fields):
    return identity_params(2, 8, 8, **fields)


@pytest.mark.parametrize(
    ("x", "params", "error", "match"),
    [
        (images((2, 3, 8)), bad(), ValueError, "images: expected a 4-D"),
        (images((2, 4, 8, 8)), bad(), ValueError, "1 or 3 channels"),
        (images((2, 3, 8, 8)).double(), bad(), TypeError, "uint8 or torch.float32"),
        (images((2, 3, 8, 8), torch.float32) * float("nan"), bad(), ValueError, "finite"),
        (images((2, 3, 8, 8)), "params", TypeError, "ViewParams"),
        (
            images((2, 3, 8, 8)),
            bad(source=torch.tensor([0, 2])),
            ValueError,
            r"params.source: view 1",
        ),
        (
            images((2, 3, 8, 8)),
            bad(source=torch.tensor([0, 1, 1])),
            ValueError,
            r"params.crop: expected 3 rows \(one per view\), got 2",
        ),
        (
            images((2, 3, 8, 8)),
            bad(crop=torch.tensor([[0, 0, 8, 8], [1, 0, 8, 8]])),
            ValueError,
            "params.crop: view 1 has a box outside",
        ),
        (
            images((2, 3, 8, 8)),
            bad(crop=torch.tensor([[0, 0, 0, 8], [0, 0, 8, 8]])),
            ValueError,
            "params.crop: view 0",
        ),
        (
            images((2, 3, 8, 8)),
            bad(factors=torch.tensor([[1.0, float("nan"), 1.0, 0.0]] * 2)),
            ValueError,
            "NaN",
        ),
        (
            images((2, 3, 8, 8)),
            bad(factors=torch.tensor([[1.0, 1.0, 1.0, 0.7]] * 2)),
            ValueError,
            "hue in",
        ),
        (
            images((2, 3, 8, 8)),
            bad(order=torch.tensor([[0, 0, 2, 3]] * 2)),
            ValueError,
            "permutation",
        ),
        (
            images((2, 3, 8, 8)),
            bad(blur_sigma=torch.tensor([0.0, -1.0])),
            ValueError,
            "params.blur_sigma: view 1",
        ),
        (images((2, 3, 8, 8)), bad(size=(0, 4)), ValueError, "output size"),
        (images((2, 3, 8, 8)), bad().to("meta"), ValueError, "expected a tensor on cpu"),
        (images((2, 3, 8, 8)), bad(mean=(0.5,), std=(0.2,)), ValueError, "params.mean"),
        # Hostile integers (issue 14): top + height wraps around int64 and passed the check.
        (
            images((2, 3, 8, 8)),
            bad(crop=torch.tensor([[0, 0, 8, 8], [2**63 - 9, 0, 8, 8]])),
            ValueError,
            "params.crop: view 1 has a box outside",
        ),
        (
            images((2, 3, 8, 8)),
            bad(crop=torch.tensor([[0, 2**63 - 1, 8, 2**63 - 1]] * 2)),
            ValueError,
            "params.crop: view 0",
        ),
        (
            images((2, 3, 8, 8)),
            bad(crop=torch.tensor([[0.0, 0.0, 8.0, 8.0]] * 2)),
            TypeError,
            "params.crop: expected dtype torch.int64",
        ),
        (images((2, 3, 8, 8)), bad(size=(2**31, 4)), ValueError, "params.size"),
        (images((2, 3, 8, 8)), bad(size=(4, 2.5)), TypeError, "params.size: expected an int"),
        (
            images((2, 3, 8, 8)),
            bad(blur_kernel_size=2**63 - 1),
            ValueError,
            "params.blur_kernel_size: expected an odd int",
        ),
        (
            images((2, 3, 8, 8)),
            bad(blur_kernel_size=17),
            ValueError,
            "params.blur_kernel_size: 17 taps need",
        ),
        (
            images((2, 3, 8, 8)),
            bad(mean=(0.0,) * 3, std=(1e-45,) * 3),
            ValueError,
            "params.std: .* would overflow float32",
        ),
    ],
)
def test_bad_input_is_named(x, params, error, match):
    with pytest.raises(error, match=match):
        ops.augment_views(x, params)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"source": torch.tensor([0, 5])}, "source: view 1 refers to image 5"),
        ({"crop": torch.tensor([[0, 0, 9, 8], [0, 0, 8, 8]])}, "crop: view 0 has box"),
        ({"factors": torch.tensor([[1.0, 1.0, float("inf"), 0.0]] * 2)}, "non-finite"),
        ({"order": torch.tensor([[0, 1, 2, 2]] * 2)}, "order: view 0"),
        ({"flip": torch.zeros(2, dtype=torch.int64)}, "flip: expected dtype"),
        ({"crop": torch.zeros(2, 3, dtype=torch.int64)}, r"crop: expected shape \(2, 4\)"),
        ({"crop": torch.tensor([[0, 0, 8, 8], [2**63 - 9, 0, 8, 8]])}, "crop: view 1 has box"),
        ({"size": (2**31, 4)}, "size: expected"),
        ({"blur_kernel_size": 2**63 - 1}, "blur_kernel_size: expected an odd int"),
        ({"mean": (0.0,) * 3, "std": (1e-45,) * 3}, "std: .* would overflow float32"),
    ],
)
def test_kernel_checks_values_itself(override, match):
    """Direct torch.ops callers skip the Python checks; the kernel must still refuse."""
    p = dataclasses.replace(bad(), **override)
    with pytest.raises(Exception, match=match):
        torch.ops.sslcore.augment_views(*ops._augment_args(images((2, 3, 8, 8)), p))


def test_out_buffer_is_filled_and_returned(device):
    x = images((3, 3, 20, 20), device=device)
    params = sample_view_params(
        ViewSpec.simclr(16),
        x.shape,
        views=2,
        generator=torch.Generator().manual_seed(4),
        device=device,
    )
    out = torch.full((6, 3, 16, 16), float("nan"), device=device)
    ptr = out.data_ptr()
    got = ops.augment_views(x, params, out=out)
    assert got is out and out.data_ptr() == ptr
    torch.testing.assert_close(out, ops.augment_views(x, params), rtol=0, atol=0)


def test_into_opcheck():
    x = images((2, 3, 12, 10))
    p = sample_view_params(
        ViewSpec.simclr(8, blur_p=1.0), x.shape, generator=torch.Generator().manual_seed(0)
    )
    args = (*ops._augment_args(x, p), torch.empty(4, 3, 8, 8))
    torch.library.opcheck(torch.ops.sslcore.augment_views_into.default, args)


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (torch.empty(4, 3, 8, 8, dtype=torch.float64), TypeError, "out: expected dtype"),
        (torch.empty(4, 3, 8, 9), ValueError, r"out: expected shape \(4, 3, 8, 8\)"),
        (torch.empty(4, 3, 8, 16)[..., ::2], ValueError, "contiguous"),
        (torch.empty(4, 3, 8, 8, device="meta"), ValueError, "out: expected a tensor on cpu"),
    ],
)
def test_out_buffer_bad(out, error, match):
    x = images((2, 3, 8, 8))
    params = identity_params(2, 8, 8, views=2)
    with pytest.raises(error, match=match):
        ops.augment_views(x, params, out=out)
    if out.device.type == "meta":
        return  # the dispatcher sends a meta argument to the fake kernel, not to the CPU one
    p = params
    kernel_match = match.split(r" \(")[0]  # the C++ message prints shapes as [4, 3, 8, 8]
    with pytest.raises(Exception, match=kernel_match):
        torch.ops.sslcore.augment_views_into(*ops._augment_args(x, p), out)
