"""Gradient descent in 2-D: rates as theory predicts, divergence above 2/L, the seed's rule."""

import math

import numpy as np
import pytest
import torch

from sslcore.landscape.descent import (
    OPTIMIZERS,
    best_gd_step,
    best_momentum,
    descend,
    gd_rate,
    measured_rate,
    momentum_rate,
    slope_directions,
)
from sslcore.landscape.dog_vs_cat import example_losses, make_dog_vs_cat
from sslcore.landscape.surfaces import SURFACES, grid, make_surface, quadratic


@pytest.mark.parametrize("kappa", [4.0, 10.0, 100.0])
def test_gd_at_its_best_step_contracts_at_the_predicted_rate(kappa):
    surface = quadratic(kappa)
    big, small = surface.curvatures
    run = descend(surface, "gd", best_gd_step(big, small), steps=60)
    assert not run.diverged
    assert measured_rate(run) == pytest.approx(gd_rate(kappa), abs=1e-6)


def test_momentum_at_its_best_beats_gd_at_the_predicted_rate():
    kappa = 100.0
    surface = quadratic(kappa)
    lr, beta = best_momentum(*surface.curvatures)
    run = descend(surface, "momentum", lr, steps=100, momentum=beta)
    # Critically damped: the error is t·r^t, so the span's rate sits a little above r.
    assert momentum_rate(kappa) <= measured_rate(run, tail=50) < momentum_rate(kappa) + 0.02
    assert measured_rate(run, tail=50) < gd_rate(kappa) - 0.1


def test_gd_diverges_above_two_over_l_and_says_so():
    surface = quadratic(10.0, lipschitz=2.0)  # 2/L = 1
    assert not descend(surface, "gd", 0.99, steps=2000).diverged
    run = descend(surface, "gd", 1.05, steps=2000)
    assert run.diverged and "2/L = 1" in run.message and len(run.losses) < 2001


@pytest.mark.parametrize("name", list(SURFACES))
def test_analytic_gradients_equal_finite_differences(name):
    surface = make_surface(name)
    g = torch.Generator().manual_seed(0)
    x0, x1, y0, y1 = surface.box
    theta = torch.rand(20, 2, generator=g, dtype=torch.float64)
    theta = theta * torch.tensor([x1 - x0, y1 - y0]) + torch.tensor([x0, y0])
    h = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        numeric = (surface.loss(theta + e) - surface.loss(theta - e)) / (2 * h)
        torch.testing.assert_close(surface.gradient(theta)[:, i], numeric, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(SURFACES))
def test_the_listed_minima_are_stationary_points(name):
    surface = make_surface(name)
    for point in surface.minima:
        grad = surface.gradient(torch.tensor(point, dtype=torch.float64))
        assert float(grad.norm()) < 1e-3, (point, grad)


def test_dog_vs_cat_loss_is_the_sum_of_its_examples():
    data = make_dog_vs_cat(30, seed=2)
    surface = data.surface()
    theta = torch.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=torch.float64)
    d = example_losses(data, theta)  # (2, K)
    assert d.shape == (2, 30) and (d > 0).all()
    torch.testing.assert_close(surface.loss(theta), d.sum(-1))
    # Hand check of one d_k: −log σ(z) for a dog, −log(1 − σ(z)) for a cat.
    z = float(theta[0] @ data.x[0])
    p = 1 / (1 + math.exp(-z))
    expected = -math.log(p) if data.y[0] == 1 else -math.log(1 - p)
    assert float(d[0, 0]) == pytest.approx(expected)


def test_descending_the_dog_vs_cat_loss_separates_the_classes():
    data = make_dog_vs_cat(40, seed=0)
    run = descend(data.surface(), "gd", 0.05, steps=200)
    assert run.losses[-1] < 0.5 * run.losses[0]
    w = torch.tensor(run.thetas[-1])
    accuracy = float(((data.x @ w > 0).double() == data.y).double().mean())
    assert accuracy > 0.8


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_descends_rosenbrock(optimizer):
    surface = make_surface("rosenbrock")
    lr = {"gd": 2e-3, "momentum": 5e-4, "nesterov": 5e-4, "adam": 0.05, "rmsprop": 0.01}[optimizer]
    run = descend(surface, optimizer, lr, steps=300)
    assert not run.diverged and run.losses[-1] < run.losses[0] / 2
    assert run.thetas.shape == (301, 2) and run.gradients.shape == (301, 2)
    np.testing.assert_allclose(run.gradients[0], surface.gradient(torch.tensor(surface.start)))


def test_the_seeds_rule_reads_the_slope_signs():
    rules = slope_directions([-0.5, 2.0])
    assert "go right" in rules[0] and "go left" in rules[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"momentum": 1.0}, "momentum"),
        ({"steps": 0}, "steps"),
        ({"start": (10.0, 0.0)}, "outside"),
        ({"start": (float("nan"), 0.0)}, "start"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        descend(quadratic(), **kwargs)


def test_grid_evaluates_the_box_and_refuses_huge_resolutions():
    _, _, loss = grid(quadratic(4.0), 5)
    assert loss.shape == (5, 5) and float(loss[2, 2]) == 0.0  # the centre is the minimum
    assert float(loss[0, 0]) == pytest.approx(0.5 * (9 + 9 / 4))
    with pytest.raises(ValueError, match="resolution"):
        grid(quadratic(), 100_000)
    with pytest.raises(ValueError, match="kappa"):
        quadratic(0.5)
