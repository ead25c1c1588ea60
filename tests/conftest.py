"""Shared test settings: the one tolerance table, devices, and the extension requirement."""

from __future__ import annotations

import os

import pytest
import torch

# Max abs / rel error of each kernel against its pure-PyTorch reference, per output dtype.
# images_to_float folds (x/255 - m)/s into one multiply-add: a few float32 ulp of |out| <= ~1/s.
TOLERANCES: dict[str, dict[torch.dtype, dict[str, float]]] = {
    "images_to_float": {torch.float32: {"atol": 2e-6, "rtol": 2e-6}},
    # augment_views vs reference_augment_views: float32 all the way, different summation orders
    # (separable vs 2-D blur, double vs float means); observed max |error| ~3e-6 on [0, 1] values,
    # up to 1/std times that after normalisation.
    "augment_views": {torch.float32: {"atol": 2e-5, "rtol": 1e-5}},
    # ... vs kornia's functional ops on the same params: kornia's luma weights are 0.299 (vs
    # torchvision's 0.2989) and its hue goes through radians, so those ops get a wider bound.
    "augment_views_kornia": {torch.float32: {"atol": 1e-5, "rtol": 1e-5}},
    "augment_views_kornia_luma": {torch.float32: {"atol": 2e-4, "rtol": 0.0}},
    # info_nce vs reference_info_nce (loss, per-row losses, gradients): tiled online log-sum-exp
    # vs one logsumexp; float32 sums of up to 2N terms in a different order. Observed ~5e-7 on
    # losses of ~5 and ~1e-8 on gradients of ~1e-3 at N = 300.
    "info_nce": {
        torch.float32: {"atol": 2e-5, "rtol": 2e-5},
        torch.float64: {"atol": 1e-10, "rtol": 1e-10},
    },
}


def tolerance(op: str, dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """The atol/rtol of `op` at `dtype` for torch.testing.assert_close."""
    return TOLERANCES[op][dtype]


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Each test taking `device` runs on the CPU and, where there is one, on a CUDA device."""
    return request.param


def pytest_report_header(config: pytest.Config) -> list[str]:
    from sslcore._ext import build_info

    info = build_info()
    return [
        f"sslcore extension: available={info['available']} openmp={info['openmp']} "
        f"threads={info['openmp_threads']} cuda={info['cuda']} error={info['error']}",
        f"SSLCORE_REQUIRE_EXT={os.environ.get('SSLCORE_REQUIRE_EXT', '0')}",
    ]


@pytest.fixture
def bad_files(tmp_path) -> dict:
    """One broken input of each kind a user may hand sslcore: {kind: (path, text naming it)}."""
    import pickle

    folder = tmp_path / "pets"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "broken.png").write_bytes(b"not a png at all")
    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    with open(cifar / "data_batch_1", "wb") as f:
        pickle.dump({b"data": [1, 2, 3], b"labels": [0]}, f)
    table = tmp_path / "table.csv"
    table.write_text("a,b,label\n1.0,2.0,x\n3.0,oops,y\n")
    return {
        "image": (folder, "broken.png"),
        "cifar": (cifar, "data_batch_1"),
        "csv": (table, "oops"),
        "missing": (tmp_path / "nope", "nope"),
    }
