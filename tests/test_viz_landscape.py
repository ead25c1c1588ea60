"""Gradient-descent figures: the path, arrows and frames; Σ d_k in the title; the boundary line."""

import numpy as np
import pytest
import torch

from sslcore.landscape.descent import descend
from sslcore.landscape.dog_vs_cat import make_dog_vs_cat
from sslcore.landscape.surfaces import quadratic
from sslcore.viz_landscape import (
    boundary_figure,
    contour_figure,
    examples_figure,
    loss_curve_figure,
    surface_figure,
)


def test_contour_has_the_path_arrows_and_a_frame_per_step():
    run = descend(quadratic(4.0), "gd", 0.3, steps=10)
    fig = contour_figure(quadratic(4.0), [run], resolution=21, arrows=5)
    assert fig.data[0].type == "contour" and list(fig.data[1].x) == list(run.thetas[:, 0])
    assert len(fig.layout.annotations) == 5  # −α∇L arrows
    arrow = fig.layout.annotations[0]  # from θ_0 along −α∇L(θ_0)
    np.testing.assert_allclose([arrow.x, arrow.y], run.thetas[1])
    assert len(fig.frames) == 11 and len(fig.frames[-1].data[0].x) == 11


def test_surface_and_curve_draw_every_run():
    runs = [descend(quadratic(), o, 0.1, steps=5) for o in ("gd", "adam")]
    assert len(surface_figure(quadratic(), runs, resolution=11).data) == 3
    curve = loss_curve_figure(runs, floor=0.0)
    assert len(curve.data) == 2 and curve.layout.yaxis.type == "log"


def test_examples_title_is_the_sum_and_bars_are_sorted():
    data = make_dog_vs_cat(10)
    theta = (1.0, -0.5)
    fig = examples_figure(data, theta)
    bars = np.array(fig.data[0].y)
    assert (np.diff(bars) <= 0).all()
    assert (
        f"{data.surface().loss(torch.tensor(theta, dtype=torch.float64)):.3f}"
        in fig.layout.title.text
    )


def test_the_boundary_is_where_p_dog_is_a_half():
    data = make_dog_vs_cat(10)
    fig = boundary_figure(data, (1.0, 2.0))
    (line,) = [t for t in fig.data if t.name == "p(dog) = ½"]
    for x, y in zip(line.x, line.y, strict=True):
        assert 1.0 * x + 2.0 * y + data.bias == pytest.approx(0.0, abs=1e-9)
