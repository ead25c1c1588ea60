"""A run's loss landscape, end to end: its path, a plane through it, L_pre on that plane, saved.

``run_landscape`` takes a run's trajectory (step 0 and every checkpoint), a plane through its
last checkpoint (the path's two PCA directions, or two filter-normalised random ones), evaluates
L_pre on a grid of that plane and projects the path onto it; ``save_landscape`` writes the result
into the run (``landscape-<plane>.json``, atomically), ``landscapes`` reads them back.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from sslcore.errors import DataError
from sslcore.landscape.plane import loss_surface
from sslcore.landscape.trajectory import pca_directions, random_directions, run_trajectory
from sslcore.runs import Run, atomic_write_text

__all__ = ["PLANES", "landscapes", "run_landscape", "save_landscape"]

PLANES = ("pca", "random")


def _project(deltas: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Least-squares coordinates ``(T, 2)`` of θ_t − θ_center in two (non-orthogonal) directions."""
    coords, *_ = np.linalg.lstsq(directions.T.astype(np.float64), deltas.T, rcond=None)
    return coords.T


def run_landscape(
    run: Run,
    plane: str = "pca",
    resolution: int = 21,
    span: tuple[float, float] | None = None,
    batches: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """L_pre on a plane through the run's last checkpoint, with the run's path projected on it.

    Args:
        run: a run with at least one checkpoint.
        plane: ``"pca"`` (the path's first two principal directions; explained variance
            reported) or ``"random"`` (filter-normalised, Li et al. 2018).
        resolution: grid points per axis.
        span: (low, high) of both coordinates; default: the path's extent plus a quarter (PCA),
            (−1, 1) (random: one filter norm either way).
        batches: pretext batches averaged per grid point.
        seed: seed of the random directions and of the pretext batches.

    Returns:
        A JSON-able dict: ``plane``, ``steps``, ``a``, ``b``, ``loss`` (``loss[i][j]`` at
        ``(a[i], b[j])``), ``coords`` (the path), ``explained_variance_ratio`` (PCA),
        ``center``, ``path`` (vmap or loop), ``seconds``.
    """
    if plane not in PLANES:
        raise ValueError(f"plane: expected one of {PLANES}, got {plane!r}")
    began = time.perf_counter()
    trajectory = run_trajectory(run)
    deltas = trajectory.params.astype(np.float64) - trajectory.params[-1]
    explained = None
    if plane == "pca":
        directions, explained, coords = pca_directions(trajectory)
    else:
        directions = random_directions(trajectory.params[-1], trajectory.shapes, seed)
        coords = _project(deltas, directions)
    if span is None:
        reach = float(np.abs(coords).max()) * 1.25 if plane == "pca" else 1.0
        span = (-reach, reach) if reach > 0 else (-1.0, 1.0)
    surface = loss_surface(
        run, directions, trajectory.steps[-1], span, resolution, batches, seed, coords=coords
    )
    return {
        "run": run.id,
        "task": run.config.task,
        "plane": plane,
        "steps": trajectory.steps,
        "a": surface.a.tolist(),
        "b": surface.b.tolist(),
        "loss": surface.loss.tolist(),
        "coords": np.asarray(coords).tolist(),
        "explained_variance_ratio": None if explained is None else list(map(float, explained)),
        "center": surface.center,
        "path": surface.path,
        "resolution": resolution,
        "seconds": time.perf_counter() - began,
    }


def save_landscape(run: Run, result: dict[str, Any]) -> str:
    """Writes `result` into the run as ``landscape-<plane>.json`` (atomically); its file name."""
    name = f"landscape-{result['plane']}.json"
    atomic_write_text(run.path / name, json.dumps(result))
    return name


def landscapes(run: Run) -> dict[str, dict[str, Any]]:
    """The run's saved landscapes by plane (a corrupt file is a DataError naming it)."""
    found = {}
    for plane in PLANES:
        path = run.path / f"landscape-{plane}.json"
        if path.exists():
            try:
                found[plane] = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise DataError(f"run {run.id}: {path.name} is unreadable: {error}") from None
    return found
