"""The course's dog-vs-cat classifier, small enough to see whole: two features, two weights.

A synthetic (generated, not photographed) set of animals, each described by two named features,
and a logistic-regression model p(dog | x) = σ(w₁ x₁ + w₂ x₂ + b) with the bias b fixed, so
θ = (w₁, w₂) and the loss l(θ) = Σ_k d_k (the seed's Step 2: a sum over the K training examples
of each one's error d_k, here its cross-entropy) can be drawn exactly over a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from sslcore.landscape.surfaces import Surface

__all__ = [
    "CLASS_NAMES",
    "FEATURE_NAMES",
    "DogVsCat",
    "decision_boundary",
    "example_losses",
    "make_dog_vs_cat",
    "probabilities",
]

FEATURE_NAMES = ("snout length", "ear roundness")  # standardised, synthetic
CLASS_NAMES = ("cat", "dog")


@dataclass(frozen=True)
class DogVsCat:
    """K labelled animals (synthetic) and the fixed bias of the model.

    Attributes:
        x: ``(K, 2)`` standardised features, named by FEATURE_NAMES.
        y: ``(K,)`` 1 for a dog, 0 for a cat (float64).
        bias: b, held fixed so that θ = (w₁, w₂) has two dimensions.
    """

    x: Tensor
    y: Tensor
    bias: float = 0.0

    def surface(self) -> Surface:
        """l(θ) = Σ_k d_k(θ) as a Surface, with its closed-form gradient Σ_k (p_k − y_k) x_k."""

        def loss(theta: Tensor) -> Tensor:
            return example_losses(self, theta).sum(-1)

        def gradient(theta: Tensor) -> Tensor:
            residual = probabilities(self, theta) - self.y  # (..., K)
            return residual @ self.x.to(theta.dtype)  # (..., 2)

        return Surface("dog vs cat", loss, gradient, (-6, 6, -6, 6), (-4.0, 4.5), ())


def make_dog_vs_cat(
    n: int = 40, seed: int = 0, overlap: float = 0.8, bias: float = 0.0
) -> DogVsCat:
    """`n` synthetic animals, half dogs: dogs have longer snouts and pointier (less round) ears.

    Args:
        n: K, the number of training examples (>= 2).
        seed: seed of the draw.
        overlap: spread of each class around its centre; larger classes overlap more, so no θ
            separates them and the loss has a finite minimum.
        bias: the fixed b.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n: expected an integer >= 2 examples, got {n!r}")
    if not overlap > 0:
        raise ValueError(f"overlap: expected a spread > 0, got {overlap!r}")
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % 2).double()  # alternating cat, dog
    centre = torch.tensor([[-1.0, 0.8], [1.0, -0.8]], dtype=torch.float64)  # cat, dog
    x = centre[y.long()] + overlap * torch.randn(n, 2, generator=g, dtype=torch.float64)
    x = (x - x.mean(0)) / x.std(0)
    return DogVsCat(x, y, float(bias))


def probabilities(data: DogVsCat, theta: Tensor) -> Tensor:
    """p(dog | x_k) under θ ``(..., 2)``: ``(..., K)``."""
    logits = theta @ data.x.to(theta.dtype).T + data.bias  # (..., K)
    return torch.sigmoid(logits)


def example_losses(data: DogVsCat, theta: Tensor) -> Tensor:
    """d_k(θ), each example's cross-entropy ``(..., K)``: their sum is the loss l(θ)."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta: expected (..., 2) parameters (w₁, w₂), got {tuple(theta.shape)}")
    logits = theta @ data.x.T + data.bias  # (..., K)
    target = data.y.expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def decision_boundary(
    data: DogVsCat, theta: tuple[float, float], box: tuple[float, float, float, float]
) -> tuple[list[float], list[float]]:
    """Two points of the line w₁ x₁ + w₂ x₂ + b = 0 across `box` in feature space (or none)."""
    w1, w2 = float(theta[0]), float(theta[1])
    x0, x1, y0, y1 = box
    if abs(w2) > 1e-12:
        xs = [x0, x1]
        return xs, [-(w1 * x + data.bias) / w2 for x in xs]
    if abs(w1) > 1e-12:
        x = -data.bias / w1
        return [x, x], [y0, y1]
    return [], []
