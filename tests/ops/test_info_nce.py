"""info_nce: the tiled kernel against the usual formulation, a naive float64 loop, closed forms,
gradcheck, opcheck, memory that never grows as N², and bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sslcore import ops
from sslcore._ext import extension_available
from tests.conftest import tolerance

pytestmark = pytest.mark.skipif(not extension_available(), reason="extension not built")

FORMS = ops.INFO_NCE_FORMS


def embeddings(n, d, seed=0, dtype=torch.float32, device="cpu", normalize=True):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g)
    b = b.to(torch.float64)
    if normalize:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    return a.to(device, dtype), b.to(device, dtype)


def loss_and_grads(fn, a, b, **kw):
    a, b = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    out = fn(a, b, details=True, **kw)
    ga, gb = torch.autograd.grad(out.loss, [a, b])
    return out, ga, gb


def naive(a: np.ndarray, b: np.ndarray, tau: float, form: str):
    """Deliberately plain float64 loops: the loss and its gradient from the textbook formulas."""
    n = a.shape[0]
    if form == "ntxent":
        z = np.concatenate([a, b])
        m = 2 * n
        rows = [(i, [j for j in range(m) if j != i], (i + n) % m) for i in range(m)]
        cols = z
    else:
        m = 2 * n
        z = np.concatenate([a, b])
        # row i < n: a_i against every b_j; row n + i: b_i against every a_j.
        rows = [(i, [n + j for j in range(n)], n + i) for i in range(n)]
        rows += [(n + i, list(range(n)), i) for i in range(n)]
        cols = z
    loss, grad = 0.0, np.zeros_like(z)
    for i, others, p in rows:
        logits = {j: float(z[i] @ cols[j]) / tau for j in others}
        top = max(logits.values())
        lse = top + math.log(sum(math.exp(v - top) for v in logits.values()))
        loss += lse - logits[p]
        for j, v in logits.items():
            w = math.exp(v - lse) - (1.0 if j == p else 0.0)
            grad[i] += w * cols[j] / tau
            grad[j] += w * z[i] / tau
    return loss / m, grad[:n] / m, grad[n:] / m


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("n", "d"), [(1, 1), (2, 3), (5, 4)])
def test_naive_loop(form, n, d):
    a, b = embeddings(n, d, seed=n + d, dtype=torch.float64)
    out, ga, gb = loss_and_grads(ops.info_nce, a, b, temperature=0.3, form=form)
    loss, na, nb = naive(a.numpy(), b.numpy(), 0.3, form)
    assert out.loss.item() == pytest.approx(loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(ga.numpy(), na, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), nb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("n", "d"), [(1, 8), (7, 3), (64, 33), (300, 16), (513, 5)])
def test_matches_reference(device, form, dtype, n, d):
    a, b = embeddings(n, d, seed=n, dtype=dtype, device=device)
    out, ga, gb = loss_and_grads(ops.info_nce, a, b, temperature=0.2, form=form)
    ref, ra, rb = loss_and_grads(ops.reference_info_nce, a, b, temperature=0.2, form=form)
    tol = tolerance("info_nce", dtype)
    torch.testing.assert_close(out.loss, ref.loss, **tol)
    torch.testing.assert_close(out.row_losses, ref.row_losses, **tol)
    torch.testing.assert_close(ga, ra, **tol)
    torch.testing.assert_close(gb, rb, **tol)
    assert out.accuracy.item() == pytest.approx(ref.accuracy.item())
    assert out.loss.dtype == dtype and ga.dtype == dtype


@pytest.mark.parametrize("form", FORMS)
def test_gradcheck(form):
    a, b = embeddings(5, 3, dtype=torch.float64, normalize=False)
    a.requires_grad_(), b.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, y: ops.info_nce(x, y, 0.5, form=form), (a, b))
    assert torch.autograd.gradcheck(
        lambda x, y: ops.info_nce(x, y, 0.7, form=form, normalize=True), (a, b)
    )
    # Gradients through the per-row losses (weights other than the mean's).
    assert torch.autograd.gradcheck(
        lambda x, y: ops.info_nce(x, y, 0.5, form=form, details=True).row_losses, (a, b)
    )


@pytest.mark.parametrize("n", [1, 2, 9, 300])
def test_closed_forms(n):
    z = F.normalize(torch.ones(n, 6, dtype=torch.float64), dim=1)
    # All embeddings equal: every logit is 1/τ, so each row is log of its number of logits.
    assert ops.info_nce(z, z, 0.1).item() == pytest.approx(math.log(2 * n - 1), abs=1e-12)
    assert ops.info_nce(z, z, 0.1, form="clip").item() == pytest.approx(math.log(n), abs=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_symmetric_in_the_views(form):
    a, b = embeddings(50, 8)
    torch.testing.assert_close(
        ops.info_nce(a, b, 0.1, form=form), ops.info_nce(b, a, 0.1, form=form)
    )


def test_aligned_pairs_give_full_accuracy_and_a_small_loss():
    a, _ = embeddings(40, 64)
    out = ops.info_nce(a, a.clone(), 0.05, details=True)
    assert out.accuracy.item() == 1.0
    assert out.loss.item() < ops.info_nce(*embeddings(40, 64), 0.05).item()


@pytest.mark.parametrize("temperature", [0.01, 0.07, 1.0, 10.0])
@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_temperatures_and_large_logits_stay_finite(temperature, scale):
    a, b = embeddings(100, 16, seed=3)
    a, b = a * scale, b * scale  # logits up to 1600 / 0.01 = 160,000
    out, ga, gb = loss_and_grads(ops.info_nce, a, b, temperature=temperature)
    ref, ra, _ = loss_and_grads(
        ops.reference_info_nce, a.double(), b.double(), temperature=temperature
    )
    assert torch.isfinite(out.loss) and torch.isfinite(ga).all() and torch.isfinite(gb).all()
    rel = 1e-5 * max(1.0, ref.loss.abs().item())
    assert abs(out.loss.item() - ref.loss.item()) <= rel
    if scale == 1.0:  # at logits ~1e5 float32 itself resolves the softmax only to ~1e-2
        torch.testing.assert_close(ga.double(), ra, atol=1e-4 * ra.abs().max().item(), rtol=1e-3)


def test_non_contiguous_input():
    a, b = embeddings(30, 12)
    at, bt = a.t().contiguous().t(), b[:, ::1].t().contiguous().t()
    wide = torch.cat([a, b], 1)[:, ::2]  # strided view
    assert not at.is_contiguous() and not wide.is_contiguous()
    torch.testing.assert_close(ops.info_nce(at, bt, 0.1), ops.info_nce(a, b, 0.1))
    torch.testing.assert_close(
        ops.info_nce(wide, b[:, :12], 0.1), ops.info_nce(wide.contiguous(), b, 0.1)
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_compute_in_float32(dtype):
    a, b = embeddings(20, 8, dtype=dtype)
    out, ga, _ = loss_and_grads(ops.info_nce, a, b, temperature=0.1)
    ref = ops.reference_info_nce(a.float(), b.float(), 0.1)
    assert out.loss.dtype == torch.float32 and ga.dtype == dtype
    torch.testing.assert_close(out.loss, ref, **tolerance("info_nce"))


def test_deterministic():
    a, b = embeddings(700, 32)
    first, ga, _ = loss_and_grads(ops.info_nce, a, b, temperature=0.1)
    again, ga2, _ = loss_and_grads(ops.info_nce, a, b, temperature=0.1)
    assert torch.equal(first.row_losses, again.row_losses) and torch.equal(ga, ga2)


def test_opcheck():
    a, b = embeddings(6, 4)
    z = torch.cat([a, b]).requires_grad_()
    pairs = (torch.arange(12) + 6) % 12
    torch.library.opcheck(torch.ops.sslcore.info_nce_self.default, (z, pairs, 0.1))
    rows, cols = a.clone().requires_grad_(), b.clone().requires_grad_()
    none = torch.full((6,), -1)
    for col_stats in (True, False):
        torch.library.opcheck(
            torch.ops.sslcore.info_nce_cross.default,
            (rows, cols, torch.arange(6), none, 0.1, col_stats),
        )
    torch.library.opcheck(
        torch.ops.sslcore.info_nce_cross.default,
        (rows, torch.cat([cols, cols]), torch.arange(6), torch.arange(6) + 6, 0.1, False),
    )


def test_torch_compile():
    a, b = embeddings(16, 8)
    compiled = torch.compile(lambda x, y: ops.info_nce(x, y, 0.1), backend="aot_eager")
    torch.testing.assert_close(compiled(a, b), ops.info_nce(a, b, 0.1))


_MEMORY_PROBE = """
import json, resource, sys, torch
from sslcore import ops
torch.set_num_threads(2)
n, d = int(sys.argv[1]), int(sys.argv[2])
a = torch.nn.functional.normalize(torch.randn(n, d), dim=1).requires_grad_()
b = torch.nn.functional.normalize(torch.randn(n, d), dim=1).requires_grad_()
ops.info_nce(a, b, 0.1).backward()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
a.grad = b.grad = None
ops.info_nce(a, b, 0.1).backward()
n, d = n * 4, d
a = torch.nn.functional.normalize(torch.randn(n, d), dim=1).requires_grad_()
b = torch.nn.functional.normalize(torch.randn(n, d), dim=1).requires_grad_()
ops.info_nce(a, b, 0.1).backward()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (after - before) / 1024}))
"""


@pytest.mark.timeout(120)
def test_memory_never_grows_as_n_squared():
    # 2N = 4,096 then 16,384 rows: the dense logits alone would grow by 1 GiB; the kernel's
    # memory grows by O(N·D) (a few MiB at D = 8).
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, "2048", "8"],
        capture_output=True,
        text=True,
        check=True,
        timeout=110,
    )
    grew = json.loads(out.stdout.strip().splitlines()[-1])["grew_mb"]
    assert grew < 100, f"peak memory grew by {grew:.0f} MiB"


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "match"),
    [
        (torch.zeros(4, 3), torch.zeros(5, 3), {}, ValueError, "z_b: expected the shape"),
        (torch.zeros(0, 3), torch.zeros(0, 3), {}, ValueError, "N = 0"),
        (torch.zeros(4, 0), torch.zeros(4, 0), {}, ValueError, "D = 0"),
        (torch.zeros(4), torch.zeros(4), {}, ValueError, "z_a: expected a 2-D"),
        (torch.zeros(2, 4, 3), torch.zeros(2, 4, 3), {}, ValueError, "2-D"),
        (torch.zeros(4, 3), torch.zeros(4, 3), {"temperature": 0.0}, ValueError, "temperature"),
        (torch.zeros(4, 3), torch.zeros(4, 3), {"temperature": -1.0}, ValueError, "temperature"),
        (
            torch.zeros(4, 3),
            torch.zeros(4, 3),
            {"temperature": math.nan},
            ValueError,
            "temperature",
        ),
        (torch.zeros(4, 3), torch.zeros(4, 3), {"temperature": "hot"}, TypeError, "temperature"),
        (torch.zeros(4, 3), torch.zeros(4, 3), {"form": "triplet"}, ValueError, "form"),
        (torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, 3), {}, TypeError, "z_a: expected"),
        (torch.zeros(4, 3), torch.zeros(4, 3, dtype=torch.float64), {}, TypeError, "z_b: expected"),
        (torch.full((4, 3), math.nan), torch.zeros(4, 3), {}, ValueError, "z_a: expected finite"),
        (torch.zeros(4, 3), torch.full((4, 3), math.inf), {}, ValueError, "z_b: expected finite"),
    ],
)
def test_bad_input(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.info_nce(a, b, **{"temperature": 0.1, **kwargs})
    with pytest.raises(error, match=match):
        ops.reference_info_nce(a, b, **{"temperature": 0.1, **kwargs})


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_mixed_devices():
    with pytest.raises(ValueError, match="z_b: expected a tensor on"):
        ops.info_nce(torch.zeros(4, 3), torch.zeros(4, 3, device="cuda"), 0.1)


def test_logit_overflow_is_an_error_not_a_nan():
    a = torch.full((4, 3), 1e19)
    with pytest.raises(ValueError, match="logits would overflow"):
        ops.info_nce(a, a, 0.1)


@pytest.mark.parametrize(
    ("positive", "match"),
    [
        (torch.tensor([1, 0, 3, 3]), "expected pairs"),
        (torch.tensor([1, 0, 3, 9]), r"expected a column in \[0, 4\)"),
        (torch.tensor([1, 0, 2]), "expected 4 entries"),
        (torch.tensor([1.0, 0, 3, 2]), "positive: expected dtype"),
    ],
)
def test_op_rejects_bad_positives(positive, match):
    with pytest.raises((ValueError, TypeError), match=match):
        torch.ops.sslcore.info_nce_self(torch.randn(4, 3), positive, 0.1)


def test_cross_op_rejects_bad_indices():
    rows, cols = torch.randn(3, 2), torch.randn(3, 2)
    none = torch.full((3,), -1)
    with pytest.raises(ValueError, match="named twice"):
        torch.ops.sslcore.info_nce_cross(rows, cols, torch.tensor([0, 0, 1]), none, 0.1, True)
    with pytest.raises(ValueError, match="own positive"):
        torch.ops.sslcore.info_nce_cross(rows, cols, torch.arange(3), torch.arange(3), 0.1, False)
    with pytest.raises(ValueError, match="exclude: entry 1"):
        torch.ops.sslcore.info_nce_cross(
            rows, cols, torch.arange(3), torch.tensor([-1, 7, -1]), 0.1, False
        )
    with pytest.raises(ValueError, match="cols: expected 2 features"):
        torch.ops.sslcore.info_nce_cross(rows, torch.randn(3, 5), torch.arange(3), none, 0.1, False)
    with pytest.raises(ValueError, match="temperature"):
        torch.ops.sslcore.info_nce_cross(rows, cols, torch.arange(3), none, -0.1, False)
