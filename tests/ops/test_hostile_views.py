"""Hostile integer arguments: no crash, no read outside a tensor, one-line errors naming the field.

Every call runs in a child process (``python -c``), so a SIGSEGV or SIGABRT fails a test instead
of killing pytest. Cases are batched: one child runs a whole list of them and prints one JSON line
per call, which the parent checks against an independent oracle of what is valid.

The batch is a slice ``big[1:]`` of a larger tensor, so a crop that wrapped around int64 and read
``big[0]`` (memory outside the input) gives pixels that differ from the reference.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sslcore._ext import extension_available
from tests.conftest import tolerance

pytestmark = pytest.mark.skipif(not extension_available(), reason="extension not built")

ROOT = Path(__file__).resolve().parents[2]
H = W = 8  # the batch's image side
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_SIDE = 2**31 - 1
SMALL_SIDE = 12  # output sides are drawn small (valid) or extreme (refused)

# The child: reads {"cases": [...], "tol": {...}} on stdin, runs each case through the Python face
# ("ops") and straight into the kernel ("direct"), prints one JSON line per call.
CHILD = r"""
import json, sys
import torch
from sslcore import ops
from sslcore.augment import ViewParams

job = json.load(sys.stdin)
tol = job["tol"]


def batch(case):
    if case.get("image") == "expanded":  # a huge image that costs no memory (stride 0)
        side = case["side"]
        return torch.zeros(1, 3, 1, 1, dtype=torch.uint8).expand(case.get("n", 1), 3, side, side)
    g = torch.Generator().manual_seed(0)
    big = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=g)
    if case["dtype"] == "float32":
        big = big.float() / 255.0
    return big[1:]  # a slice: big[0] lies just before it in memory


def params(case):
    v = len(case["crop"])
    return ViewParams(
        source=torch.tensor(case["source"], dtype=torch.int64),
        crop=torch.tensor(case["crop"], dtype=torch.int64),
        flip=torch.zeros(v, dtype=torch.bool),
        jitter=torch.ones(v, dtype=torch.bool),
        factors=torch.tensor([[1.2, 0.8, 1.3, 0.1]] * v),
        order=torch.tensor(case["order"], dtype=torch.int64),
        grayscale=torch.zeros(v, dtype=torch.bool),
        blur_sigma=torch.ones(v),
        solarize=torch.zeros(v, dtype=torch.bool),
        size=tuple(case["size"]),
        blur_kernel_size=case["k"],
    )


def run_info_nce(case):
    g = torch.Generator().manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(4, 8, generator=g), dim=1)
    positive = torch.tensor(case["positive"], dtype=torch.int64)
    try:
        if case["op"] == "info_nce_self":
            torch.ops.sslcore.info_nce_self(z, positive, 0.5)
        else:
            exclude = torch.tensor(case["exclude"], dtype=torch.int64)
            torch.ops.sslcore.info_nce_cross(z, z, positive, exclude, 0.5, case["col_stats"])
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e)}
    return {"ok": True}


def run(case, call):
    if case.get("op", "augment_views") != "augment_views":
        return run_info_nce(case)
    x, p = batch(case), params(case)
    try:
        if call == "ops":
            got = ops.augment_views(x, p)
        else:
            got = torch.ops.sslcore.augment_views(*ops._augment_args(x, p))
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e)}
    try:
        want = ops.reference_augment_views(x, p)
    except Exception as e:
        return {"ok": True, "reference_error": f"{type(e).__name__}: {e}"}
    close = got.shape == want.shape and torch.allclose(got, want, **tol)
    return {"ok": True, "close": bool(close)}


for i, case in enumerate(job["cases"]):
    for call in case.get("calls", ["ops", "direct"]):
        print(f"case {i} {call}: {json.dumps(case)}", file=sys.stderr, flush=True)
        print(json.dumps({"case": i, "call": call, **run(case, call)}), flush=True)
"""


def run_child(cases: list[dict], script: str = CHILD, timeout: float = 120) -> list[dict]:
    """Runs `cases` in one child; fails (with the case that was running) if it crashes."""
    job = json.dumps({"cases": cases, "tol": tolerance("augment_views")})
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=job,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert proc.returncode == 0, (
        f"child died with return code {proc.returncode} (negative: killed by a signal); "
        f"last lines of its stderr:\n{proc.stderr[-2000:]}"
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def names(message: str, fields: set[str]) -> bool:
    """Whether `message` names one of `fields` as a word ("size" is not in "blur_kernel_size")."""
    return any(re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", message) for f in fields)


def bad_fields(case: dict) -> set[str]:
    """The oracle: which integer fields of a one-view case are invalid, in Python's exact ints."""
    bad = set()
    if not 0 <= case["source"][0] < 1:
        bad.add("source")
    top, left, height, width = case["crop"][0]
    if not (0 <= top and 0 <= left and 1 <= height and 1 <= width):
        bad.add("crop")
    elif top + height > H or left + width > W:
        bad.add("crop")
    if sorted(case["order"][0]) != [0, 1, 2, 3]:
        bad.add("order")
    h, w = case["size"]
    # Sides are small or extreme; an extreme side within the int32 range is refused by the cap
    # on a view's working memory (its message names size), beyond it by the range check.
    if not (1 <= h <= SMALL_SIDE and 1 <= w <= SMALL_SIDE):
        bad.add("size")
    k = case["k"]
    if not (1 <= k <= MAX_SIDE and k % 2 == 1) or k // 2 >= min(h, w):
        bad.add("blur_kernel_size")
    return bad


def check_results(cases: list[dict], results: list[dict]) -> None:
    """Each call succeeded with the reference's values when the case is valid, else refused it
    with a one-line ValueError/RuntimeError naming an invalid field."""
    problems = []
    for r in results:
        case = cases[r["case"]]
        bad = bad_fields(case)
        where = f"{r['call']} {case}"
        if not bad:
            if not r.get("ok"):
                problems.append(f"valid case refused: {where}: {r.get('message')}")
            elif not r.get("close"):
                problems.append(f"differs from the reference: {where}: {r}")
        elif r.get("ok"):
            problems.append(f"invalid ({sorted(bad)}) but accepted: {where}: {r}")
        elif r["error"] not in ("ValueError", "RuntimeError") or "\n" in r["message"]:
            problems.append(f"not a one-line ValueError/RuntimeError: {where}: {r}")
        elif not names(r["message"], bad):
            problems.append(f"message does not name {sorted(bad)}: {where}: {r['message']}")
    assert not problems, "\n".join(problems[:10])


# Bounds, near-bounds and sums that overflow int64 (2^63 - 10 + 10), for every integer field.
EXTREMES = [
    INT64_MIN,
    INT64_MIN + 1,
    -(2**62),
    -(2**31),
    -1,
    0,
    1,
    H - 1,
    H,
    H + 1,
    MAX_SIDE,
    MAX_SIDE + 1,
    2**32 + 1,
    2**62,
    INT64_MAX - 10,
    INT64_MAX - 1,
    INT64_MAX,
]
SLOTS = ["top", "left", "height", "width", "source", "order", "size_h", "size_w", "k"]


@st.composite
def hostile_case(draw) -> dict:
    """A valid one-view case with up to two integer fields replaced by extreme values."""
    height, width = draw(st.integers(1, H)), draw(st.integers(1, W))
    crop = [draw(st.integers(0, H - height)), draw(st.integers(0, W - width)), height, width]
    size = [draw(st.integers(1, SMALL_SIDE)), draw(st.integers(2, SMALL_SIDE))]
    k = 2 * draw(st.integers(0, min(size) - 1)) + 1
    order = draw(st.permutations([0, 1, 2, 3]))
    source = 0
    anything = st.integers(INT64_MIN, INT64_MAX)
    extreme = st.one_of(st.sampled_from(EXTREMES), anything)
    side = st.sampled_from(EXTREMES)  # sizes: no mid values (the oracle knows bounds, not caps)
    # An output width of 1 is left out: there PyTorch's antialiased interpolate (the reference)
    # departs from the separable filter that the kernel and a naive float64 loop agree on.
    width_side = st.sampled_from([e for e in EXTREMES if e != 1])
    for slot in draw(st.sets(st.sampled_from(SLOTS), max_size=2)):
        if slot in ("top", "left", "height", "width"):
            crop[["top", "left", "height", "width"].index(slot)] = draw(extreme)
        elif slot == "source":
            source = draw(extreme)
        elif slot == "order":
            order[draw(st.integers(0, 3))] = draw(extreme)
        elif slot == "size_h":
            size[0] = draw(side)
        elif slot == "size_w":
            size[1] = draw(width_side)
        else:
            k = draw(side)
    return {
        "dtype": draw(st.sampled_from(["uint8", "float32"])),
        "source": [source],
        "crop": [crop],
        "order": [list(order)],
        "size": size,
        "k": k,
    }


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example costs a child process
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(hostile_case(), min_size=60, max_size=60))
def test_extreme_integers_are_refused_or_match_the_reference(cases):
    check_results(cases, run_child(cases))


def view_case(crop, **over) -> dict:
    """One view of the 8x8 slice with `crop`; `over` replaces other fields."""
    case = {"dtype": "float32", "source": [0], "crop": [crop], "order": [[0, 1, 2, 3]]}
    case.update(size=[4, 4], k=3)
    case.update(over)
    return case


# The defects as filed (issue 14, item 1), each through both faces of the op.
REGRESSIONS = {
    # top + height wrapped around: the view was read from big[0], outside the input.
    "slice_top_wraps": view_case([INT64_MAX - 9, 0, H, W]),
    "slice_top_wraps_uint8": view_case([INT64_MAX - 9, 0, H, W], dtype="uint8"),
    # left + width wrapped around: SIGSEGV.
    "left_wraps": view_case([0, INT64_MAX - 9, H, W]),
    # every field 2^62: std::length_error thrown in the OpenMP region, SIGABRT.
    "all_2_62": view_case([2**62] * 4),
    # a full crop of an expanded 100000 x 100000 image: std::bad_alloc in the region, SIGABRT.
    "expanded_full_crop": view_case(
        [0, 0, 100000, 100000], image="expanded", side=100000, dtype="uint8"
    ),
}
EXPECTED_FIELD = {
    "slice_top_wraps": "crop",
    "slice_top_wraps_uint8": "crop",
    "left_wraps": "crop",
    "all_2_62": "crop",
    "expanded_full_crop": "crop",
}

# The index inputs of the InfoNCE ops (4 rows), straight into the kernels: out of range by far.
for _name, _case in {
    "info_nce_self_positive_max": {"op": "info_nce_self", "positive": [INT64_MAX, 0, 3, 2]},
    "info_nce_self_positive_min": {"op": "info_nce_self", "positive": [1, INT64_MIN, 3, 2]},
    "info_nce_cross_positive": {
        "op": "info_nce_cross",
        "positive": [0, 1, 2, INT64_MAX - 10],
        "exclude": [-1] * 4,
        "col_stats": True,
    },
    "info_nce_cross_exclude": {
        "op": "info_nce_cross",
        "positive": [1, 0, 3, 2],
        "exclude": [INT64_MIN, 1, 2, 3],
        "col_stats": False,
    },
}.items():
    REGRESSIONS[_name] = {**_case, "calls": ["direct"]}
    EXPECTED_FIELD[_name] = "exclude" if "exclude" in _name else "positive"
CALLS = [(n, c) for n, case in REGRESSIONS.items() for c in case.get("calls", ["ops", "direct"])]


@pytest.fixture(scope="module")
def regression_results() -> dict[tuple[str, str], dict]:
    """All named regressions in one child: {(name, call): result}."""
    names_ = list(REGRESSIONS)
    results = run_child([REGRESSIONS[n] for n in names_])
    return {(names_[r["case"]], r["call"]): r for r in results}


@pytest.mark.parametrize(("name", "call"), CALLS)
def test_hostile_integers_are_one_line_errors(regression_results, name, call):
    r = regression_results[(name, call)]
    assert not r.get("ok"), f"{name} was accepted: {r}"
    assert r["error"] in ("ValueError", "RuntimeError") and "\n" not in r["message"], r
    assert names(r["message"], {EXPECTED_FIELD[name]}), r["message"]


# Scratch that passes the cap but cannot be allocated (the address space is limited) must fail
# inside the OpenMP region and come back as an error on the caller's thread, never abort.
OOM_CHILD = r"""
import resource, sys
import torch
from sslcore import ops
from sslcore.augment import ViewParams


def params(v, crop, size):
    return ViewParams(
        source=torch.zeros(v, dtype=torch.int64), crop=torch.tensor([crop] * v),
        flip=torch.zeros(v, dtype=torch.bool), jitter=torch.zeros(v, dtype=torch.bool),
        factors=torch.tensor([[1.0, 1.0, 1.0, 0.0]] * v), order=torch.arange(4).repeat(v, 1),
        grayscale=torch.zeros(v, dtype=torch.bool), blur_sigma=torch.zeros(v),
        solarize=torch.zeros(v, dtype=torch.bool), size=size, blur_kernel_size=1,
    )


torch.set_num_threads(2)
side = 12000  # a full crop needs 12000 * 12000 * 3 floats (1.7 GB) of scratch: under the cap
x = torch.zeros(1, 3, 1, 1, dtype=torch.uint8).expand(1, 3, side, side)
ops.augment_views(x[..., :16, :16], params(4, [0, 0, 16, 16], (4, 4)))  # the team exists
with open("/proc/self/status") as f:
    vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + (512 << 20), resource.RLIM_INFINITY))
try:
    ops.augment_views(x, params(4, [0, 0, side, side], (4, 4)))
except Exception as e:
    print(type(e).__name__ + ": " + str(e))
else:
    print("accepted")
"""


def test_allocation_failure_in_the_parallel_region_is_an_error():
    proc = subprocess.run(
        [sys.executable, "-c", OOM_CHILD], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    out = proc.stdout.strip()
    assert out.startswith("RuntimeError: ") and "out of memory" in out and "view" in out, out
    assert "\n" not in out, out
