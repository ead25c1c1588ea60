"""Gradient descent made visible: the dog-vs-cat loss, 2-D test surfaces, optimiser runs.

``dog_vs_cat`` (a two-weight classifier whose loss is a sum over examples), ``surfaces`` (2-D
losses with analytic gradients), ``descent`` (the seed's update and torch.optim stepping two
parameters, with the convergence theory).
"""

from sslcore.landscape.descent import OPTIMIZERS, Run2D, descend
from sslcore.landscape.dog_vs_cat import DogVsCat, make_dog_vs_cat
from sslcore.landscape.surfaces import SURFACES, Surface, make_surface

__all__ = [
    "OPTIMIZERS",
    "SURFACES",
    "DogVsCat",
    "Run2D",
    "Surface",
    "descend",
    "make_dog_vs_cat",
    "make_surface",
]
