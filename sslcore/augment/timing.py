"""A quick side-by-side timing of one view recipe: sslcore's kernel, pure PyTorch and kornia.

What the dashboard's "Time this batch" button runs: a few timed calls per contender on one batch,
the median kept. It is a look, not a benchmark (benchmarks/ has those: torch.utils.benchmark,
metadata, --json). The three contenders:

- **sslcore**: ``ops.augment_views`` on the uint8 batch with params sampled from the recipe.
- **PyTorch**: ``benchmarks.augment_contenders.torch_batched_views`` (batched eager PyTorch, the
  same params) when that module imports and the images are RGB; otherwise the clarity reference
  ``ops.reference_augment_views``, which loops over views in Python and is too slow to run on the
  whole batch: it is timed on a few views and its per-view time extrapolated (the note says so).
- **kornia**: ``kornia.augmentation.AugmentationSequential`` of the same recipe on the float batch
  repeated once per view (kornia samples its own params), from sslcore.augment.kornia_recipe.

Every contender starts from the same uint8 ``(N, C, H, W)`` batch, so the uint8 → float
conversion the PyTorch and kornia pipelines need is part of what they are timed on.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from sslcore import ops
from sslcore.augment.kornia_recipe import kornia_pipeline
from sslcore.augment.params import sample_view_params
from sslcore.augment.spec import ViewSpec

__all__ = ["CONTENDERS", "REFERENCE_VIEWS", "kornia_views", "time_contenders"]

CONTENDERS = ("sslcore", "PyTorch", "kornia")
REFERENCE_VIEWS = 8  # views the per-view reference is timed on before extrapolating


def _batched_torch() -> Callable | None:
    """benchmarks/augment_contenders' torch_batched_views, or None.

    The repository's benchmarks/ folder is not part of the package: it is used when it is on the
    path and imports, and the fallback (the reference) keeps this module correct without it.
    """
    try:
        from benchmarks.augment_contenders import torch_batched_views
    except Exception:  # missing, or mid-edit: the fallback is always correct
        return None
    return torch_batched_views


def kornia_views(
    specs: Sequence[ViewSpec], channels: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function uint8 ``(N, C, H, W)`` → ``(V·N, C, h, w)`` views made by kornia.

    One kornia pipeline per distinct spec (BYOL's two views differ); view j of the batch is
    ``pipelines[j](x)``. kornia's saturation, hue and grayscale need RGB: for 1-channel images
    they are dropped, as sslcore leaves such images unchanged by them anyway.
    """
    if channels != 3:
        specs = [dataclasses.replace(s, saturation=0.0, hue=0.0, grayscale_p=0.0) for s in specs]
    pipelines: dict[ViewSpec, torch.nn.Module] = {}
    for s in specs:
        if s not in pipelines:
            pipelines[s] = kornia_pipeline(s)

    def make(images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255.0)  # (N, C, H, W) in [0, 1]
        return torch.cat([pipelines[s](x) for s in specs])

    return make


def _median_seconds(fn: Callable[[], Any], repeats: int, device: torch.device) -> float:
    """Median wall time of `repeats` calls of fn after one warm-up call."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_contenders(
    images: torch.Tensor,
    spec: ViewSpec | Sequence[ViewSpec],
    views: int = 2,
    repeats: int = 5,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Times sslcore, PyTorch and kornia making `views` views of every image of a batch.

    Args:
        images: ``(N, C, H, W)`` uint8, C = 1 or 3, N >= 1.
        spec: the recipe for every view, or one per view index (as sample_view_params takes).
        views: views per image.
        repeats: timed calls per contender (after one warm-up); the median is kept.
        seed: seeds the params sampled for sslcore and PyTorch.

    Returns:
        One dict per contender, in CONTENDERS order: ``contender`` (name), ``views_per_s``,
        ``ms`` (milliseconds per batch of ``views · N`` views) and ``note`` (what was timed).
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(
            "images: expected a (N, C, H, W) uint8 tensor, got "
            f"{getattr(images, 'dtype', type(images).__name__)} "
            f"{tuple(getattr(images, 'shape', ()))}"
        )
    if images.shape[0] < 1 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images: expected N >= 1 images of 1 or 3 channels, got {tuple(images.shape)}"
        )
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    specs = [spec] * views if isinstance(spec, ViewSpec) else list(spec)
    g = torch.Generator().manual_seed(seed)
    params = sample_view_params(specs, images.shape, views=views, generator=g, device=images.device)
    total = len(params)  # views · N
    n, channels = images.shape[0], images.shape[1]
    device = images.device

    def row(name: str, seconds_per_view: float, note: str) -> dict[str, Any]:
        return {
            "contender": name,
            "views_per_s": 1.0 / seconds_per_view,
            "ms": 1e3 * seconds_per_view * total,
            "note": note,
        }

    results = []
    seconds = _median_seconds(lambda: ops.augment_views(images, params), repeats, device)
    results.append(row("sslcore", seconds / total, f"ops.augment_views on {total} views"))

    batched = _batched_torch()
    if batched is not None and channels == 3:
        seconds = _median_seconds(lambda: batched(images, params), repeats, device)
        note = f"batched eager PyTorch (benchmarks/augment_contenders) on {total} views"
        results.append(row("PyTorch", seconds / total, note))
    else:
        few = params.select(slice(0, min(REFERENCE_VIEWS, total)))
        seconds = _median_seconds(lambda: ops.reference_augment_views(images, few), repeats, device)
        note = (
            f"ops.reference_augment_views (a Python loop over views) timed on {len(few)} views, "
            f"extrapolated per view to {total}"
        )
        results.append(row("PyTorch", seconds / len(few), note))

    make = kornia_views(specs, channels)
    seconds = _median_seconds(lambda: make(images), repeats, device)
    note = f"kornia AugmentationSequential on {n} images × {views} views"
    if channels != 3:
        note += " (no saturation, hue, grayscale: kornia needs RGB for them)"
    results.append(row("kornia", seconds / total, note))
    return results
