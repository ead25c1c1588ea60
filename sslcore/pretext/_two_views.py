"""Two-view batches shared by the joint-embedding tasks (SimCLR, SimSiam, VICReg, SCARF).

Layout: x̃ stacks view 1 of every sample, then view 2, ``(2B, ...)``; the pseudolabel of row i is
the row it pairs with, ``(i + B) mod 2B``. Image views come from the fused kernel
(``sslcore.ops.augment_views``) applied to params sampled from a ViewSpec with the task's
generator, so the same seed replays the same views (``sample_two_views``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch

from sslcore import ops
from sslcore.augment import (
    SMALL_IMAGE,
    ViewGeometry,
    ViewParams,
    ViewSpec,
    sample_view_params,
    small_image_views,
)
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD, PretextBatch, PretextTask

__all__ = [
    "TwoViewImageTask",
    "check_cpu_generator",
    "check_min_batch",
    "check_widths",
    "default_geometry",
    "describe_pair",
    "image_view_spec",
    "make_view_batch",
    "pair_index",
    "sample_two_views",
    "shard_pairs",
    "split_pairs",
]


def pair_index(b: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Pseudolabels of a two-view batch: ``(2B,)`` int64, row i pairs with ``(i + B) mod 2B``."""
    rows = torch.arange(2 * b, device=device)
    return (rows + b) % (2 * b)


def shard_pairs(batch: PretextBatch, batch_size: int, rank: int, world: int) -> PretextBatch:
    """A two-view batch's share for `rank`: both views of its samples, z renumbered locally."""
    part = batch.shard(batch_size, rank, world)
    return PretextBatch(
        part.inputs, pair_index(batch_size // world, part.inputs.device), part.extras
    )


def describe_pair(z: torch.Tensor) -> str:
    """One pairing pseudolabel as text: ``"pairs with view k"``."""
    if not isinstance(z, torch.Tensor) or z.numel() != 1:
        raise ValueError(f"z: expected one pseudolabel (a 1-element tensor), got {z!r}")
    return f"pairs with view {int(z.item())}"


def check_cpu_generator(generator: torch.Generator) -> None:
    """Raises unless `generator` is a CPU torch.Generator (ViewParams are sampled on the CPU)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator: expected a seeded torch.Generator, got {type(generator).__name__}"
        )
    if generator.device.type != "cpu":
        raise ValueError(f"generator: expected a CPU generator, got one on {generator.device}")


def check_min_batch(x: torch.Tensor, minimum: int, task: str, why: str) -> None:
    """Raises ValueError when the batch `x` holds fewer than `minimum` samples."""
    if x.shape[0] < minimum:
        raise ValueError(
            f"x: pretext task {task!r} needs a batch of at least {minimum} samples, "
            f"got B = {x.shape[0]}: {why}"
        )


def check_widths(**widths: int) -> tuple[int, ...]:
    """The head widths as ints, or ValueError naming the first that is not a positive int."""
    for name, value in widths.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive int width, got {value!r}")
    return tuple(widths.values())


CIFAR_IMAGE = 32  # px: up to this side, the CIFAR-sized recipe


def default_view_spec(h: int, w: int) -> ViewSpec:
    """SimCLR's recipe at (h, w), adapted to small images and CPU budgets.

    At ≤ 16 px (like the 8×8 digits): crops of 30–100 %, brightness and contrast ±30 %, no flip,
    since a mirrored glyph is another glyph, and (``default_geometry``) a ±15° tilt and noise
    σ ≤ 0.08 after the kernel; with these, two minutes of SimCLR on digits reach a linear probe
    of 92 % with 13 labels (crops of 40–100 % and no tilt or noise: 87 %). At ≤ 32 px: the paper's
    CIFAR recipe (jitter strength 0.5, no blur) with crops of 30–100 % and grayscale p 0.5. In
    runs of a few hundred steps, 8 % crops of a 32 px image rarely hold the object, and colour
    left in most views is the shortcut that tells instances apart: on ``shapes`` (600 steps,
    τ 0.2) the linear probe reaches 0.63 with these views and 0.35 with grayscale p 0.2; the
    ImageNet recipe (crops from 8 %, strength 1, blur) stays near chance, 0.14. Shapes' own
    contrastive views (crops of 50–100 %, grayscale p 0.8) are in ``config.DATASET_DEFAULTS``.
    """
    if min(h, w) <= SMALL_IMAGE:
        return small_image_views((h, w))[0]
    if min(h, w) <= CIFAR_IMAGE:
        return ViewSpec.simclr((h, w), strength=0.5, blur=False, scale=(0.3, 1.0), grayscale_p=0.5)
    return ViewSpec.simclr((h, w))


def default_geometry(h: int, w: int) -> ViewGeometry:
    """The tilt and noise after the kernel: ±15° and σ ≤ 0.08 at ≤ 16 px, none above."""
    if min(h, w) <= SMALL_IMAGE:
        return small_image_views((h, w))[1]
    return ViewGeometry()


def image_geometry(
    sample_shape: Sequence[int], rotation: float | None, noise: float | None
) -> ViewGeometry:
    """The task's ViewGeometry: `rotation` and `noise` where given, else `default_geometry`'s."""
    default = default_geometry(int(sample_shape[1]), int(sample_shape[2]))
    return ViewGeometry(
        default.rotation if rotation is None else rotation,
        default.noise if noise is None else noise,
    )


def _view_size(size: Any, h: int, w: int) -> Any:
    """A recipe's view size: pixels (an int or [h, w]), or a float in (0, 1], a share of the side.

    The share keeps a tuned recipe (shapes' 0.75: 24 px views of 32 px images) right for the
    same data at another resolution.
    """
    if isinstance(size, float):
        if not (math.isfinite(size) and 0 < size <= 1):
            raise ValueError(f"spec: size as a share of the images' side is in (0, 1], got {size}")
        return max(1, round(size * h)), max(1, round(size * w))
    return size


def image_view_spec(sample_shape: Sequence[int], spec: ViewSpec | dict | None) -> ViewSpec:
    """The recipe of an image task's views, normalised as ``base.to_model_input`` normalises.

    Args:
        sample_shape: ``(C, H, W)`` of the raw images.
        spec: a recipe; a dict of ``ViewSpec.simclr`` keyword arguments (JSON-able, as a run's
            config stores it, e.g. ``{"strength": 0.5, "scale": [0.2, 1.0]}``), whose ``size``
            (pixels, or a float share of the images' side; default: the images') may make the
            views smaller than the images; or None for
            `default_view_spec`. A recipe without mean/std gets
            base.IMAGE_MEAN/IMAGE_STD per channel, so pretraining and the downstream task see one
            scale; a recipe with another normalisation is refused.
    """
    c, h, w = (int(s) for s in sample_shape)
    if spec is None:
        spec = default_view_spec(h, w)
    if isinstance(spec, dict):
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        size = _view_size(options.pop("size", (h, w)), h, w)
        try:
            spec = ViewSpec.simclr(size, **options)
        except TypeError as error:
            raise ValueError(f"spec: {error}") from None
        if spec.size[0] > h or spec.size[1] > w:  # a stored recipe never upsamples
            raise ValueError(f"spec: size {spec.size} exceeds the images' ({h}, {w})")
    if not isinstance(spec, ViewSpec):
        raise TypeError(f"spec: expected a ViewSpec or None, got {type(spec).__name__}")
    mean, std = (IMAGE_MEAN,) * c, (IMAGE_STD,) * c
    if spec.mean is None:
        return dataclasses.replace(spec, mean=mean, std=std)
    if spec.mean != mean or spec.std != std:
        raise ValueError(
            f"spec: expected the encoder's normalisation mean={mean}, std={std} (or none, to "
            f"have it filled in), got mean={spec.mean}, std={spec.std}"
        )
    return spec


def sample_two_views(spec: ViewSpec, x: torch.Tensor, generator: torch.Generator) -> ViewParams:
    """The params of two views of every image of `x`, on x's device: row ``j · B + i``."""
    return sample_view_params(spec, x.shape, views=2, generator=generator, device=x.device)


def make_view_batch(
    spec: ViewSpec,
    x: torch.Tensor,
    generator: torch.Generator,
    geometry: ViewGeometry | None = None,
) -> PretextBatch:
    """x̃ = the kernel's two views ``(2B, C, h, w)`` float32, z = the pairing ``(2B,)``.

    `geometry`, when active, then tilts and noises the views (``sslcore.augment.geometry``).
    """
    params = sample_two_views(spec, x, generator)
    views = ops.augment_views(x, params)  # (2B, C, h, w): view 1 of every image, then view 2
    if geometry is not None and geometry.active:
        views = geometry(views, generator, spec.mean, spec.std)
    return PretextBatch(views, pair_index(x.shape[0], x.device))


def split_pairs(
    outputs: torch.Tensor, batch: PretextBatch, name: str = "outputs"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two halves ``(B, D)`` of `outputs` ``(2B, D)``: view 1's rows, view 2's rows."""
    if not isinstance(outputs, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(outputs).__name__}")
    rows = batch.pseudolabels.shape[0]
    if outputs.dim() != 2 or outputs.shape[0] != rows or rows % 2:
        raise ValueError(
            f"{name}: expected (2B, D) = ({rows}, D) rows, one per view of the batch, "
            f"got shape {tuple(outputs.shape)}"
        )
    b = rows // 2
    return outputs[:b], outputs[b:]


class TwoViewImageTask(PretextTask):
    """The batch side of the image tasks that see two kernel-made views of every image.

    SimCLR, SimSiam and VICReg set ``self.spec`` (and ``self.geometry``, the tilt and noise
    after the kernel) and, where the loss needs other images in the
    batch, ``min_batch`` with its reason; they add the head and the loss.
    """

    spec: ViewSpec
    geometry: ViewGeometry | None = None
    min_batch: int = 1
    min_batch_reason: str = ""

    def view_params(self, x: torch.Tensor, generator: torch.Generator) -> ViewParams:
        """The params ``make_batch`` applies for this generator state (for replay and display)."""
        return sample_two_views(self.spec, x, generator)

    def make_batch(self, x: torch.Tensor, generator: torch.Generator) -> PretextBatch:
        """x̃ ``(2B, C, h, w)`` float32 views from the kernel, z ``(2B,)`` the paired rows."""
        self.check_batch(x)
        if self.min_batch > 1:
            check_min_batch(x, self.min_batch, self.name, self.min_batch_reason)
        check_cpu_generator(generator)
        return make_view_batch(self.spec, x, generator, self.geometry)

    def shard(self, batch: PretextBatch, batch_size: int, rank: int, world: int) -> PretextBatch:
        """This rank's views, paired among themselves (``shard_pairs``)."""
        return shard_pairs(batch, batch_size, rank, world)

    def describe(self, z: torch.Tensor) -> str:
        """``"pairs with view k"``."""
        return describe_pair(z)
