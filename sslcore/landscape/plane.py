"""L_pre on a plane of parameters through a run's checkpoint, with its trajectory drawn in.

θ = θ_center + a·d1 + b·d2 over an a × b grid (Li et al. 2018, "Visualizing the Loss Landscape of
Neural Nets"), evaluated with ``torch.func.functional_call``: through ``vmap`` over chunks of
grid points where that is faster (MLP encoders), point by point where it is not (convolutions).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap
from torch.utils._pytree import tree_leaves, tree_map  # the structure vmap gives outputs

from sslcore.landscape.trajectory import flat_parameters, float_parameters
from sslcore.runs import Run
from sslcore.train.pretrain import PretextModel, checkpoint_steps, load_run_models

__all__ = ["METHODS", "LossSurface", "loss_surface"]

METHODS = ("auto", "vmap", "loop")


@dataclass
class LossSurface:
    """L_pre on the grid θ = θ_center + a·d1 + b·d2.

    Attributes:
        a, b: ``(R,)`` coefficients of d1 and d2.
        loss: ``(R, R)``; ``loss[i, j]`` is at ``(a[i], b[j])`` (plotly: ``x=a, y=b, z=loss.T``).
        center: the checkpoint step at the origin (0 = the seeded initialisation).
        path: ``"vmap"`` or ``"loop"``, how the grid's forward passes ran.
        coords: ``(T, 2)`` trajectory coordinates in the units of a and b, when given.
    """

    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    center: int
    path: str
    coords: np.ndarray | None = None


def _check_grid(resolution: Any, span: Any, max_points: int) -> tuple[float, float]:
    """`span` as (low, high), after checking it and `resolution`."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution: expected an integer >= 2, got {resolution!r}")
    if resolution**2 > max_points:
        raise ValueError(
            f"resolution: {resolution} makes {resolution**2} grid points, over max_points "
            f"{max_points}; lower the resolution or raise max_points"
        )
    try:
        low, high = (float(v) for v in span)
    except (TypeError, ValueError):
        raise ValueError(f"span: expected (low, high), got {span!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"span: expected finite low < high, got {span!r}")
    return low, high


def _pretext_batches(run: Run, setup: Any, batches: int, seed: int) -> list[Any]:
    """Fixed pretext batches of the held-out target inputs, drawn as ``pretext_loss`` does."""
    x = torch.cat([setup.split.target_train.x, setup.split.target_test.x])  # never pretrained on
    generator, size = torch.Generator().manual_seed(seed), min(run.config.batch_size, len(x))
    out = []
    for _ in range(batches):
        rows = torch.randint(x.shape[0], (size,), generator=generator)
        out.append(setup.task.make_batch(x[rows], generator).to(run.config.device))
    return out


def _activations(model: nn.Module, batch: Any) -> int:
    """Elements of every module's output in one forward: a bound on one point's activations."""
    sizes: list[int] = []

    def count(module: nn.Module, inputs: Any, output: Any) -> None:
        sizes.extend(t.numel() for t in tree_leaves(output) if isinstance(t, torch.Tensor))

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return sum(sizes)


def _grid_losses(
    model: PretextModel,
    center: torch.Tensor,
    directions: torch.Tensor,
    grid: torch.Tensor,
    pretext: list[Any],
    method: str,
    chunk: int,
) -> tuple[np.ndarray, str]:
    """Mean L_pre at θ = center + grid[k] @ directions for each row of `grid` ``(N, 2)``.

    Only forward passes are vmapped; each point's loss runs outside vmap, since a loss may call
    ``.item()`` or a custom op without a batching rule (NT-Xent's ``sslcore::info_nce_*``).
    """
    named, buffers = float_parameters(model), dict(model.named_buffers())  # the centre's BN stats
    names, shapes = [n for n, _ in named], [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]

    def forward(vector: torch.Tensor, batch: Any) -> Any:
        params = {n: t.view(s) for n, t, s in zip(names, vector.split(sizes), shapes, strict=True)}
        return functional_call(model, (params, buffers), (batch,))

    def losses(rows: torch.Tensor, batched: bool) -> np.ndarray:
        vectors = center + rows @ directions  # (K, P)
        total = np.zeros(len(rows))
        for batch in pretext:
            if batched:
                out = vmap(lambda v, batch=batch: forward(v, batch))(vectors)  # leaves (K, ...)
                per = [tree_map(lambda t, k=k: t[k], out) for k in range(len(rows))]
            else:
                per = [forward(v, batch) for v in vectors]
            total += [float(model.task.loss(o, batch).loss) for o in per]
        return total / len(pretext)

    result, start, path = np.empty(len(grid)), 0, method
    with torch.no_grad():
        if method == "auto":  # the first chunk both ways; the faster one does the rest
            began = time.perf_counter()
            result[:chunk] = losses(grid[:chunk], False)
            looped, start, path = time.perf_counter() - began, chunk, "loop"
            began = time.perf_counter()
            try:
                batched = losses(grid[:chunk], True)
            except (RuntimeError, NotImplementedError):  # an op without a batching rule
                batched = None
            if batched is not None and time.perf_counter() - began < looped:
                result[:chunk], path = batched, "vmap"
        for i in range(start, len(grid), chunk):
            result[i : i + chunk] = losses(grid[i : i + chunk], path == "vmap")
    return result, path


def loss_surface(
    run: Run,
    directions: np.ndarray | torch.Tensor,
    center: int | None = None,
    span: tuple[float, float] = (-1.0, 1.0),
    resolution: int = 21,
    batches: int = 1,
    seed: int = 0,
    max_points: int = 101 * 101,
    *,
    coords: np.ndarray | None = None,
    method: str = "auto",
    chunk: int | None = None,
    memory_limit: float = 2 * 2**30,
) -> LossSurface:
    """L_pre at θ = θ_center + a·d1 + b·d2, a and b on a resolution × resolution grid.

    a and b multiply the directions as given: after `random_directions` a = 1 moves every filter
    by its own norm; after `pca_directions` (unit rows) they are its coords' units (rescale a
    direction to stretch its axis). L_pre is the mean over fixed pretext batches of held-out
    data (the target inputs, drawn as ``eval.transfer.pretext_loss`` draws them), BatchNorm in
    eval mode on the centre checkpoint's running statistics: at (0, 0), that ``pretext_loss``.

    Args:
        run: a pretraining run with at least one checkpoint.
        directions: ``(2, P)`` d1 and d2, P the run's parameter count.
        center: the checkpoint step at the origin (0 = the seeded init); default the last.
        span: (low, high) of both a and b.
        resolution: R, grid points per axis (>= 2; odd with a symmetric span puts 0 on it).
        batches: pretext batches averaged per grid point.
        seed: seed of the pretext batches.
        max_points: the most grid points (R²) accepted.
        coords: ``(T, 2)`` trajectory coordinates to keep with the surface.
        method: ``"vmap"`` (torch.func.vmap over chunks of points), ``"loop"`` (point by point)
            or ``"auto"``: the first chunk both ways, then the faster; the loop if vmap raises
            (an op without a batching rule). On CPU the loop wins for conv encoders (vmap makes
            their convolutions grouped ones), vmap for MLP encoders.
        chunk: grid points per vmap call; default as many as `memory_limit` allows, at most 64.
        memory_limit: bytes a chunk may take (its θ and a bound on its activations).

    Returns:
        The LossSurface. ValueError on bad arguments or a grid over `max_points` or `memory_limit`
        (before any grid point); DataError if the run has no checkpoint (at `center`).
    """
    low, high = _check_grid(resolution, span, max_points)
    for name, value in (("batches", batches), ("chunk", 1 if chunk is None else chunk)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    d = torch.as_tensor(directions).detach().float().cpu()  # (2, P)
    if d.dim() != 2 or d.shape[0] != 2:
        raise ValueError(f"directions: expected shape (2, P), got {tuple(d.shape)}")
    if not torch.isfinite(d).all():
        raise ValueError("directions: expected finite values, found NaN or inf")
    if coords is not None:
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all():
            raise ValueError(f"coords: expected finite values of shape (T, 2), got {coords.shape}")
    step = checkpoint_steps(run, None if center is None else [center])[-1]
    setup, model, load = load_run_models(run)
    load(step)
    model.eval()  # BatchNorm on the centre's running statistics
    theta = flat_parameters(model)  # (P,)
    if d.shape[1] != theta.numel():
        want = f"(2, {theta.numel()})"
        raise ValueError(f"directions: expected {want} for run {run.id}, got {tuple(d.shape)}")
    pretext = _pretext_batches(run, setup, batches, seed)
    per_point = 4 * (theta.numel() + _activations(model, pretext[0]))  # float32 bytes
    chunk = min(chunk or max(1, min(64, int(memory_limit // per_point))), resolution**2)
    if chunk * per_point > memory_limit:
        raise ValueError(
            f"resolution {resolution}: a chunk of {chunk} grid points needs about "
            f"{chunk * per_point / 2**30:.2f} GiB, over memory_limit "
            f"{memory_limit / 2**30:.2f} GiB; lower chunk or the batch size"
        )
    a = np.linspace(low, high, resolution)  # (R,)
    grid = np.stack(np.meshgrid(a, a, indexing="ij"), axis=-1).reshape(-1, 2)  # row i·R + j
    grid_t = torch.as_tensor(grid, dtype=torch.float32, device=theta.device)  # (R², 2)
    losses, path = _grid_losses(model, theta, d.to(theta.device), grid_t, pretext, method, chunk)
    return LossSurface(a, a.copy(), losses.reshape(resolution, resolution), step, path, coords)
