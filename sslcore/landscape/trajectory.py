"""The optimisation trajectory of a run and its pretext loss L_pre on a plane of parameters.

Li, Xu, Taylor, Studer & Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018
(arXiv:1712.09913): §4 filter-normalised random directions, §6 PCA of the path θ_t − θ_final.
θ is every floating-point parameter of h_θ and k_γ (never BatchNorm's running statistics), flat,
in the order of ``named_parameters`` of the pair; names start with ``encoder.`` or ``head.``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn

from sslcore.runs import Run
from sslcore.train.pretrain import checkpoint_steps, load_run_models

__all__ = [
    "Trajectory",
    "flat_parameters",
    "float_parameters",
    "pca_directions",
    "random_directions",
    "run_trajectory",
]


@dataclass
class Trajectory:
    """θ_t of one run at step 0 (the seeded initialisation of ``build``) and its checkpoints.

    Attributes:
        run_id: the run's id.
        steps: the T steps, ascending.
        params: ``(T, P)`` float32; row t is θ at ``steps[t]``.
        names: the parameters' names, in their order in a row (``"encoder.stem.0.weight"``, ...).
        shapes: the parameters' shapes; ``row.split(sizes)`` and ``view(shape)`` unflatten a row.
    """

    run_id: str
    steps: list[int]
    params: np.ndarray
    names: list[str]
    shapes: list[tuple[int, ...]]


def float_parameters(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, parameter) of every floating-point parameter, in ``named_parameters`` order."""
    return [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """θ as one ``(P,)`` float32 vector (a copy)."""
    return torch.cat([p.detach().reshape(-1).float() for _, p in float_parameters(model)])


def run_trajectory(run: Run, steps: Sequence[int] | None = None) -> Trajectory:
    """θ_t at step 0 (the seeded initialisation) and every checkpoint; DataError if none.

    Args:
        run: a pretraining run with at least one checkpoint.
        steps: only these steps (0 or saved ones); ``[step]`` gives one θ, e.g. a centre.
    """
    todo = checkpoint_steps(run, steps)
    _, model, load = load_run_models(run)
    rows = []
    for step in todo:
        load(step)
        rows.append(flat_parameters(model).cpu().numpy())
    named = float_parameters(model)
    names, shapes = [n for n, _ in named], [tuple(p.shape) for _, p in named]
    return Trajectory(run.id, todo, np.stack(rows), names, shapes)


def pca_directions(trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two principal directions of the path θ_t − θ_final (Li et al. 2018, §6).

    scikit-learn's PCA (centred, exact SVD, float64) of the T rows θ_t − θ_final. The paper
    leaves out the final (zero) row; keeping it makes this the PCA of the T points, defined from
    T = 2. The directions are unit vectors, so coords are Euclidean distances in parameter space,
    the units of `loss_surface`'s a and b for these directions centred on the final step.

    Args:
        trajectory: T >= 2 points.

    Returns:
        directions ``(2, P)`` float32 orthonormal, explained_variance_ratio ``(2,)``, coords
        ``(T, 2)`` float32: θ_t − θ_final projected on the directions (θ_final at the origin).
    """
    params = np.asarray(trajectory.params, dtype=np.float64)  # (T, P)
    if params.ndim != 2 or min(params.shape) < 2:
        raise ValueError(f"trajectory: expected params (T >= 2, P >= 2), got {params.shape}")
    deltas = params - params[-1]  # (T, P)
    if not np.isfinite(deltas).all():
        raise ValueError("trajectory: params contain NaN or inf")
    if not deltas.any():
        raise ValueError(f"trajectory: θ does not move over steps {trajectory.steps}")
    pca = PCA(n_components=2, svd_solver="full").fit(deltas)
    directions = pca.components_.astype(np.float32)  # (2, P)
    coords = (deltas @ pca.components_.T).astype(np.float32)  # (T, 2), uncentred: final at 0
    return directions, pca.explained_variance_ratio_, coords


def random_directions(
    center: np.ndarray | torch.Tensor, shapes: Sequence[Sequence[int]], seed: int = 0
) -> np.ndarray:
    """Two filter-normalised Gaussian directions ``(2, P)`` float32 (Li et al. 2018, §4).

    Each filter (slice along dim 0 of a parameter with 2+ dims: a conv output channel, a linear
    row) of a direction gets the norm of that filter of `center`, so a step of 1 moves every
    filter by its own size, whatever scale a BatchNorm after it makes moot. 1-D parameters
    (biases, BatchNorm's γ and β) are 0: the paper's "ignore biasbn".

    Args:
        center: θ ``(P,)``, e.g. a row of ``Trajectory.params``.
        shapes: its parameters' shapes, e.g. ``Trajectory.shapes``.
        seed: seed of the Gaussian draws.
    """
    theta = torch.as_tensor(np.asarray(center), dtype=torch.float64).reshape(-1)  # (P,)
    sizes = [math.prod(s) for s in shapes]
    if sum(sizes) != theta.numel():
        raise ValueError(f"shapes: they hold {sum(sizes)} values, center has {theta.numel()}")
    if not torch.isfinite(theta).all():
        raise ValueError("center: expected finite values, found NaN or inf")
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(2, theta.numel(), generator=generator, dtype=torch.float64)
    start = 0
    for shape, size in zip(shapes, sizes, strict=True):
        part = slice(start, start + size)
        if len(shape) <= 1:
            directions[:, part] = 0.0
        else:
            d = directions[:, part].reshape(2, shape[0], -1)  # (2, filters, fan-in)
            w = theta[part].reshape(1, shape[0], -1)  # (1, filters, fan-in)
            scale = w.norm(dim=2, keepdim=True) / (d.norm(dim=2, keepdim=True) + 1e-10)
            directions[:, part] = (d * scale).reshape(2, size)  # the paper's epsilon above
        start += size
    return directions.float().numpy()
