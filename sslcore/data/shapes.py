"""The generated "shapes" dataset: classes differ by shape only, everything else is nuisance.

Parameters are sampled in one place (:func:`sample_shape_params`, seeded) and applied in another
(:func:`render_shapes`), so a set of images can be replayed or shown with its parameters. Each
image draws, independently of its class: foreground colour, scale, position, a rotation (by
default a tilt of at most 15° from upright, so the shapes have a canonical orientation as objects
in photographs do), a background (by default plain or a linear gradient; stripes, checkerboard and
two-wave plasma textures with random direction, frequency and phase are options) and pixel noise.
The background colours keep a minimum RGB distance from the foreground so the shape stays
visible, and since that rule never looks at the class, the colour statistics are the same for
every class: a model has to learn shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from sslcore.data.dataset import Dataset
from sslcore.data.sdf import SHAPE_SDFS

__all__ = [
    "DEFAULT_MAX_ANGLE",
    "DEFAULT_TEXTURES",
    "SHAPE_NAMES",
    "TEXTURES",
    "ShapeParams",
    "make_shapes",
    "render_shapes",
    "sample_shape_params",
    "shape_coverage",
]

SHAPE_NAMES: tuple[str, ...] = tuple(SHAPE_SDFS)
TEXTURES: tuple[str, ...] = ("gradient", "stripes", "checkerboard", "plasma", "plain")
DEFAULT_TEXTURES: tuple[str, ...] = ("plain", "gradient")
DEFAULT_MAX_ANGLE = 15.0  # degrees either side of upright

_SCALE_RANGE = (0.45, 0.8)  # shape circumradius as a fraction of the image half-width
_MIN_CONTRAST = 0.3  # least RGB distance (in [0, 1] units) from foreground to any background colour
_CHUNK_PIXELS = 1 << 20  # pixels rendered at once: keeps the (B, H, W) temporaries a few MB


@dataclass
class ShapeParams:
    """Per-image parameters of the shapes dataset, one row per image (N of them).

    Attributes:
        labels: Class index into ``SHAPE_NAMES`` ``(N,)`` int64.
        scale: Circumradius as a fraction of the half-width ``(N,)``.
        center: Shape centre in ``[-1, 1]`` image coordinates, y up ``(N, 2)``.
        angle: Rotation in radians ``(N,)``.
        foreground: Foreground RGB in ``[0, 1]`` ``(N, 3)``.
        background: The two background RGB colours the texture blends ``(N, 2, 3)``.
        texture: Index into ``TEXTURES`` ``(N,)`` int64.
        wave: Texture waves: direction, frequency (cycles per image width), phase, for two
            waves ``(N, 2, 3)``.
    """

    labels: Tensor
    scale: Tensor
    center: Tensor
    angle: Tensor
    foreground: Tensor
    background: Tensor
    texture: Tensor
    wave: Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _uniform(shape: tuple[int, ...], low: float, high: float, gen: torch.Generator) -> Tensor:
    return torch.rand(shape, generator=gen) * (high - low) + low


def _segment_distance(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance from points ``p`` to segments ``[a, b]``, all ``(N, 3)`` -> ``(N,)``."""
    ab = b - a
    t = ((p - a) * ab).sum(1) / (ab * ab).sum(1).clamp(min=1e-12)
    closest = a + t.clamp(0, 1).unsqueeze(1) * ab
    return (p - closest).norm(dim=1)


def _sample_background(foreground: Tensor, gen: torch.Generator) -> Tensor:
    """Two background colours per image, every blend of them far from the foreground.

    Rejection sampling: rows whose colour segment comes closer than ``_MIN_CONTRAST`` to the
    foreground are redrawn; the few left after 32 rounds get the RGB corner opposite the
    foreground (at least sqrt(3)/2 away). Returns ``(N, 2, 3)``.
    """
    n = foreground.shape[0]
    bg = torch.empty(n, 2, 3)
    todo = torch.arange(n)
    for _ in range(32):
        if todo.numel() == 0:
            break
        first = torch.rand(todo.numel(), 3, generator=gen)
        second = (first + _uniform((todo.numel(), 3), -0.5, 0.5, gen)).clamp(0, 1)
        bg[todo, 0], bg[todo, 1] = first, second
        ok = _segment_distance(foreground[todo], first, second) >= _MIN_CONTRAST
        todo = todo[~ok]
    bg[todo] = (foreground[todo] < 0.5).float().unsqueeze(1)
    return bg


def _check_max_angle(max_angle: float) -> float:
    if isinstance(max_angle, bool) or not isinstance(max_angle, (int, float)):
        raise ValueError(f"max_angle must be a number of degrees in [0, 180], got {max_angle!r}")
    if not 0 <= max_angle <= 180:
        raise ValueError(f"max_angle must be a number of degrees in [0, 180], got {max_angle}")
    return float(max_angle)


def _texture_indices(textures: Sequence[str]) -> Tensor:
    if isinstance(textures, str) or not isinstance(textures, Sequence) or not textures:
        raise ValueError(f"textures must be a non-empty list of {list(TEXTURES)}, got {textures!r}")
    unknown = [t for t in textures if t not in TEXTURES]
    if unknown:
        raise ValueError(f"textures: unknown {unknown}; known: {list(TEXTURES)}")
    return torch.tensor([TEXTURES.index(t) for t in textures])


def sample_shape_params(
    n: int,
    generator: torch.Generator,
    max_angle: float = DEFAULT_MAX_ANGLE,
    textures: Sequence[str] = DEFAULT_TEXTURES,
) -> ShapeParams:
    """Samples labels (balanced, shuffled) and the nuisance factors of ``n`` images.

    Args:
        n: Number of images, ``>= 0``.
        generator: Source of randomness; the same state gives the same parameters.
        max_angle: Rotations are uniform in ``[-max_angle, max_angle]`` degrees; 180 gives
            every orientation (and makes rotation prediction ill-posed).
        textures: Background kinds drawn uniformly, names from ``TEXTURES``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    max_angle = _check_max_angle(max_angle)
    kinds = _texture_indices(textures)
    k = len(SHAPE_NAMES)
    perm = torch.randperm(n, generator=generator)
    labels = (torch.arange(n) % k)[perm]  # balanced to within one, in random order
    scale = _uniform((n,), *_SCALE_RANGE, generator)
    # Keep the shape's centre far enough from the border that it is (almost) entirely visible.
    center = _uniform((n, 2), -1.0, 1.0, generator) * (1.0 - 1.05 * scale).unsqueeze(1)
    angle = _uniform((n,), -1.0, 1.0, generator) * math.radians(max_angle)
    foreground = torch.rand(n, 3, generator=generator)
    background = _sample_background(foreground, generator)
    texture = kinds[torch.randint(len(kinds), (n,), generator=generator)]
    direction = _uniform((n, 2), 0.0, 2 * math.pi, generator)
    # The checkerboard's second wave is perpendicular to the first; plasma's is free.
    direction[:, 1] = torch.where(texture == 2, direction[:, 0] + math.pi / 2, direction[:, 1])
    frequency = _uniform((n, 2), 0.75, 4.0, generator)
    phase = _uniform((n, 2), 0.0, 2 * math.pi, generator)
    wave = torch.stack([direction, frequency, phase], dim=2)
    return ShapeParams(labels, scale, center, angle, foreground, background, texture, wave)


def _pixel_grid(size: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates in ``[-1, 1]``, x right and y up, each ``(1, H, W)``."""
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    return c.view(1, 1, size), -c.view(1, size, 1)


def _coverage(p: ShapeParams, size: int) -> Tensor:
    """Antialiased foreground coverage in ``[0, 1]`` ``(N, H, W)``."""
    gx, gy = _pixel_grid(size)
    cos, sin = p.angle.cos().view(-1, 1, 1), p.angle.sin().view(-1, 1, 1)
    s = p.scale.view(-1, 1, 1)
    dx, dy = gx - p.center[:, 0].view(-1, 1, 1), gy - p.center[:, 1].view(-1, 1, 1)
    # Inverse similarity transform into the shape's unit frame: rotate by -angle, divide by scale.
    px, py = (cos * dx + sin * dy) / s, (cos * dy - sin * dx) / s  # (N, H, W)
    dist = torch.empty_like(px)
    for k, sdf in enumerate(SHAPE_SDFS.values()):
        idx = (p.labels == k).nonzero().squeeze(1)
        if idx.numel():
            dist[idx] = sdf(px[idx], py[idx])
    # Unit-frame distance -> pixels, then a smooth step about one pixel wide for antialiasing.
    t = (0.5 - dist * s * (size / 2)).clamp_(0, 1)
    return t * t * (3 - 2 * t)


def _texture(p: ShapeParams, size: int) -> Tensor:
    """Background blend weight in ``[0, 1]`` ``(N, H, W)``: 0 gives colour one, 1 colour two."""
    gx, gy = _pixel_grid(size)
    direction, frequency, phase = (p.wave[:, :, i].view(-1, 2, 1, 1) for i in range(3))
    u = gx.unsqueeze(1) * direction.cos() + gy.unsqueeze(1) * direction.sin()  # (N, 2, H, W)
    w = torch.sin(math.pi * frequency * u + phase)
    w1, w2 = w[:, 0], w[:, 1]
    kind = p.texture.view(-1, 1, 1)
    # Each kind is a pattern in [-0.5, 0.5]; the gradient spans the diagonal range [-√2, √2].
    t = torch.where(kind == 0, u[:, 0] * (1 / (2 * math.sqrt(2))), 0.5 * w1)  # gradient, stripes
    t = torch.where(kind == 2, 0.5 * (3 * w1 * w2).clamp(-1, 1), t)  # checkerboard, soft edges
    t = torch.where(kind == 3, 0.25 * (w1 + w2), t)  # plasma: two crossing waves
    t = torch.where(kind == 4, -0.5, t)  # plain: colour one everywhere
    return t.add_(0.5)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8 (pixels per side), got {size!r}")


def _chunk(size: int) -> int:
    """Images per chunk at ``size``."""
    return max(1, _CHUNK_PIXELS // (size * size))


def _rows(p: ShapeParams, start: int, count: int) -> ShapeParams:
    """Parameters of images ``start`` to ``start + count``."""
    sl = slice(start, start + count)
    return ShapeParams(
        p.labels[sl],
        p.scale[sl],
        p.center[sl],
        p.angle[sl],
        p.foreground[sl],
        p.background[sl],
        p.texture[sl],
        p.wave[sl],
    )


def shape_coverage(params: ShapeParams, size: int) -> Tensor:
    """Foreground coverage of each pixel in ``[0, 1]`` ``(N, size, size)`` float32."""
    _check_size(size)
    step = _chunk(size)
    parts = [_coverage(_rows(params, i, step), size) for i in range(0, len(params), step)]
    return torch.cat(parts) if parts else torch.empty(0, size, size)


def render_shapes(
    params: ShapeParams,
    size: int = 32,
    noise: float = 0.05,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Renders images from parameters.

    Args:
        params: Per-image parameters from :func:`sample_shape_params`.
        size: Height and width in pixels, ``>= 8``.
        noise: Standard deviation of Gaussian pixel noise in ``[0, 1]`` intensity units.
        generator: Source of the pixel noise (needed when ``noise > 0``).

    Returns:
        RGB images ``(N, 3, size, size)`` uint8.
    """
    _check_size(size)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
        raise ValueError(f"noise must be a number in [0, 1], got {noise!r}")
    if noise > 0 and generator is None:
        raise ValueError("render_shapes: noise > 0 needs a generator")
    out = torch.empty(len(params), 3, size, size, dtype=torch.uint8)
    step = _chunk(size)
    for start in range(0, len(params), step):
        p = _rows(params, start, step)
        bg1, bg2 = (p.background[:, i].view(-1, 3, 1, 1) for i in range(2))
        img = torch.lerp(bg1, bg2, _texture(p, size).unsqueeze(1))  # (B, 3, H, W)
        img = torch.lerp(img, p.foreground.view(-1, 3, 1, 1), _coverage(p, size).unsqueeze(1))
        if noise > 0:
            img += noise * torch.randn(img.shape, generator=generator)
        out[start : start + len(p)] = img.clamp_(0, 1).mul_(255).round_().to(torch.uint8)
    return out


def make_shapes(
    n: int = 10_000,
    size: int = 32,
    seed: int = 0,
    noise: float = 0.05,
    max_angle: float = DEFAULT_MAX_ANGLE,
    textures: Sequence[str] = DEFAULT_TEXTURES,
) -> Dataset:
    """Generates the "shapes" dataset: ``len(SHAPE_NAMES)`` balanced classes defined by shape.

    Args:
        n: Number of images, ``>= 0``.
        size: Height and width in pixels, ``>= 8``.
        seed: Seed of everything random; the same arguments give the same dataset.
        noise: Standard deviation of the Gaussian pixel noise, in ``[0, 1]`` intensity units.
        max_angle: Largest tilt from upright in degrees (180: any orientation).
        textures: Background kinds, names from ``TEXTURES`` (all of them: a much harder set).

    Returns:
        A Dataset named "shapes" with x ``(n, 3, size, size)`` uint8 and y ``(n,)`` int64.
    """
    _check_size(size)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    gen = torch.Generator().manual_seed(seed)
    params = sample_shape_params(n, gen, max_angle, textures)
    x = render_shapes(params, size=size, noise=noise, generator=gen)
    return Dataset(
        name="shapes", x=x, y=params.labels, class_names=list(SHAPE_NAMES), modality="image"
    )
