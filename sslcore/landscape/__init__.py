"""Gradient descent made visible, from two parameters to a real network.

``dog_vs_cat`` (a two-weight classifier whose loss is a sum over examples), ``surfaces`` (2-D
losses with analytic gradients), ``descent`` (the seed's update and torch.optim stepping two
parameters, with the convergence theory), ``trajectory`` (a run's path θ_t, its PCA and
filter-normalised random directions), ``plane`` (L_pre over a plane of parameters) and ``runs``
(all of it for one run, saved into the run).
"""

from sslcore.landscape.descent import OPTIMIZERS, Run2D, descend
from sslcore.landscape.dog_vs_cat import DogVsCat, make_dog_vs_cat
from sslcore.landscape.plane import LossSurface, loss_surface
from sslcore.landscape.runs import PLANES, landscapes, run_landscape, save_landscape
from sslcore.landscape.surfaces import SURFACES, Surface, make_surface
from sslcore.landscape.trajectory import (
    Trajectory,
    pca_directions,
    random_directions,
    run_trajectory,
)

__all__ = [
    "OPTIMIZERS",
    "PLANES",
    "SURFACES",
    "DogVsCat",
    "LossSurface",
    "Run2D",
    "Surface",
    "Trajectory",
    "descend",
    "landscapes",
    "loss_surface",
    "make_dog_vs_cat",
    "make_surface",
    "pca_directions",
    "random_directions",
    "run_landscape",
    "run_trajectory",
    "save_landscape",
]
