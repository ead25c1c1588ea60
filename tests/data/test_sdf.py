"""Signed distance functions against a naive polygon oracle and closed forms."""

import math

import numpy as np
import pytest
import torch

from sslcore.data.sdf import SHAPE_SDFS


def regular(radius, count, start_deg):
    return [
        (
            radius * math.cos(math.radians(start_deg + 360 * k / count)),
            radius * math.sin(math.radians(start_deg + 360 * k / count)),
        )
        for k in range(count)
    ]


def star_polygon():
    outer, inner = regular(1.0, 5, 90), regular(0.45, 5, 126)
    return [p for pair in zip(outer, inner, strict=True) for p in pair]


POLYGONS = {
    "square": [(0.7, 0.7), (-0.7, 0.7), (-0.7, -0.7), (0.7, -0.7)],
    "triangle": regular(1.0, 3, 90),
    "hexagon": regular(0.82 / math.cos(math.pi / 6), 6, 0),
    "star": star_polygon(),
    "cross": [
        (0.3, 0.9),
        (0.3, 0.3),
        (0.9, 0.3),
        (0.9, -0.3),
        (0.3, -0.3),
        (0.3, -0.9),
        (-0.3, -0.9),
        (-0.3, -0.3),
        (-0.9, -0.3),
        (-0.9, 0.3),
        (-0.3, 0.3),
        (-0.3, 0.9),
    ],
}


def polygon_sdf(points, vertices):
    """Naive oracle: distance to the nearest edge, negative inside by even-odd ray casting."""
    out = []
    for px, py in points:
        best, inside = math.inf, False
        for (ax, ay), (bx, by) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
            ex, ey = bx - ax, by - ay
            t = min(1.0, max(0.0, ((px - ax) * ex + (py - ay) * ey) / (ex * ex + ey * ey)))
            best = min(best, math.hypot(px - ax - t * ex, py - ay - t * ey))
            if (ay > py) != (by > py) and px < ax + (py - ay) * ex / ey:
                inside = not inside
        out.append(-best if inside else best)
    return np.array(out)


def grid_points(n=41, extent=1.3):
    c = np.linspace(-extent, extent, n)
    return np.stack(np.meshgrid(c, c), -1).reshape(-1, 2)


@pytest.mark.parametrize("name", sorted(POLYGONS))
def test_polygons_match_naive_oracle(name):
    pts = grid_points()
    want = polygon_sdf(pts.tolist(), POLYGONS[name])
    got = SHAPE_SDFS[name](torch.tensor(pts[:, 0]), torch.tensor(pts[:, 1])).numpy()
    assert np.array_equal(got < 0, want < 0) or np.abs(got[(got < 0) != (want < 0)]).max() < 1e-6
    # The union of two boxes (cross) is exact outside only; inside it bounds the depth.
    exact = want > 0 if name == "cross" else np.ones_like(want, dtype=bool)
    np.testing.assert_allclose(got[exact], want[exact], atol=1e-6)
    assert (np.abs(got) <= np.abs(want) + 1e-6).all()


def test_round_shapes_closed_form():
    r = torch.tensor([0.0, 0.3, 0.72, 1.0, 5.0], dtype=torch.float64)
    zero = torch.zeros_like(r)
    torch.testing.assert_close(SHAPE_SDFS["circle"](r, zero), r - 0.9)
    torch.testing.assert_close(SHAPE_SDFS["ring"](zero, r), (r - 0.72).abs() - 0.22)


@pytest.mark.parametrize("name", list(SHAPE_SDFS))
def test_every_shape_fits_the_unit_circle_and_is_lipschitz(name):
    sdf = SHAPE_SDFS[name]
    angles = torch.linspace(0, 2 * math.pi, 721, dtype=torch.float64)
    assert (sdf(1.1 * angles.cos(), 1.1 * angles.sin()) > 0).all()
    pts = torch.tensor(grid_points(61, 1.5))
    d = sdf(pts[:, 0], pts[:, 1])
    assert (d < 0).float().mean() > 0.1  # a real area, not a sliver
    # A distance bound changes no faster than the point moves.
    g = torch.Generator().manual_seed(0)
    p = torch.rand(2000, 2, generator=g, dtype=torch.float64) * 3 - 1.5
    q = p + torch.randn(2000, 2, generator=g, dtype=torch.float64) * 0.05
    lhs = (sdf(p[:, 0], p[:, 1]) - sdf(q[:, 0], q[:, 1])).abs()
    assert (lhs <= (p - q).norm(dim=1) + 1e-9).all()


def test_heart_landmarks():
    heart = SHAPE_SDFS["heart"]
    inside = torch.tensor([[0.0, 0.0], [0.0, -0.7], [0.385, 0.308], [-0.385, 0.308], [0.0, 0.6]])
    outside = torch.tensor([[0.0, -0.9], [0.0, 0.75], [0.9, -0.5], [-0.9, -0.5]])
    assert (heart(inside[:, 0], inside[:, 1]) < 0).all()
    assert (heart(outside[:, 0], outside[:, 1]) > 0).all()


def test_ring_has_a_hole_and_circle_does_not():
    zero = torch.zeros(1)
    assert SHAPE_SDFS["ring"](zero, zero) > 0 and SHAPE_SDFS["circle"](zero, zero) < 0
