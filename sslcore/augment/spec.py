"""ViewSpec: the recipe of a view pipeline (what may happen to an image, and how likely).

A spec holds ranges and probabilities; sampling it (sslcore.augment.params) draws one concrete
row of parameters per view. The presets carry the papers' values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sslcore.ops.checks import MAX_SIDE, check_normalisation

__all__ = ["ViewSpec", "default_blur_kernel_size"]


def default_blur_kernel_size(size: tuple[int, int]) -> int:
    """SimCLR's blur kernel: 10 % of the image side, made odd (3 at 32, 9 at 96, 23 at 224).

    Below 20 pixels that is a single tap, i.e. no blur, as in the SimCLR code.
    """
    k = int(0.1 * min(size))
    return k + (k % 2 == 0)


def _pair(value: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a (low, high) pair of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name}: expected finite low <= high, got ({lo}, {hi})")
    return lo, hi


def _probability(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value}")
    return value


def _strength(value: float, name: str, upper: float = math.inf) -> float:
    value = float(value)
    if not 0.0 <= value <= upper:
        raise ValueError(f"{name}: expected a value in [0, {upper}], got {value}")
    return value


@dataclass(frozen=True)
class ViewSpec:
    """The recipe of one view pipeline, in torchvision's vocabulary and order.

    RandomResizedCrop(size, scale, ratio) → RandomHorizontalFlip(flip_p) →
    RandomApply(ColorJitter(brightness, contrast, saturation, hue), jitter_p) →
    RandomGrayscale(grayscale_p) → RandomApply(GaussianBlur(blur_kernel_size, blur_sigma), blur_p) →
    RandomSolarize(solarize_threshold, solarize_p) → optional Normalize(mean, std).

    Attributes:
        size: output ``(h, w)`` (an int means square).
        scale: range of the crop's area as a fraction of the image.
        ratio: range of the crop's aspect ratio (width / height), sampled log-uniformly.
        flip_p: probability of a horizontal flip.
        brightness, contrast, saturation: jitter strengths s; factors are drawn from
            ``[max(0, 1 - s), 1 + s]``.
        hue: hue strength in [0, 0.5]; shifts are drawn from ``[-hue, hue]``.
        jitter_p: probability that colour jitter is applied (in a random order per view).
        grayscale_p: probability of converting to grayscale.
        blur_p: probability of a Gaussian blur; blur_sigma its sigma range;
            blur_kernel_size its (odd) number of taps, by default 10 % of the side.
        solarize_p: probability of solarizing (x ≥ threshold → 1 − x); solarize_threshold in [0, 1].
        mean, std: optional per-channel normalisation applied last.
    """

    size: tuple[int, int]
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel_size: int | None = None
    solarize_p: float = 0.0
    solarize_threshold: float = 0.5
    mean: tuple[float, ...] | None = field(default=None)
    std: tuple[float, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        size = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        valid = all(type(s) is int and 1 <= s <= MAX_SIDE for s in size)  # bool is no side
        if len(size) != 2 or not valid:
            raise ValueError(
                f"size: expected a positive int or (h, w) of ints up to {MAX_SIDE}, got "
                f"{self.size!r}"
            )
        set_ = object.__setattr__  # frozen: normalise fields once, here
        set_(self, "size", size)
        set_(self, "scale", _pair(self.scale, "scale"))
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError(f"scale: expected 0 < low <= high <= 1, got {self.scale}")
        set_(self, "ratio", _pair(self.ratio, "ratio"))
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio: expected positive aspect ratios, got {self.ratio}")
        for name in ("flip_p", "jitter_p", "grayscale_p", "blur_p", "solarize_p"):
            set_(self, name, _probability(getattr(self, name), name))
        for name in ("brightness", "contrast", "saturation"):
            set_(self, name, _strength(getattr(self, name), name))
        set_(self, "hue", _strength(self.hue, "hue", 0.5))
        set_(self, "blur_sigma", _pair(self.blur_sigma, "blur_sigma"))
        if self.blur_sigma[0] <= 0:
            raise ValueError(f"blur_sigma: expected positive sigmas, got {self.blur_sigma}")
        k = self.blur_kernel_size
        k = default_blur_kernel_size(size) if k is None else k
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError(f"blur_kernel_size: expected an odd positive int, got {k!r}")
        if k // 2 >= min(size):
            raise ValueError(
                f"blur_kernel_size: {k} taps need an output of at least {k // 2 + 1} pixels a "
                f"side for reflect padding, got size {size}"
            )
        set_(self, "blur_kernel_size", k)
        set_(
            self, "solarize_threshold", _strength(self.solarize_threshold, "solarize_threshold", 1)
        )
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(float(v) for v in value)
                if not value or not all(math.isfinite(v) for v in value):
                    raise ValueError(f"{name}: expected finite values, got {value}")
                set_(self, name, value)
        if (self.mean is None) != (self.std is None):
            raise ValueError("mean and std: give both or neither")
        if self.std is not None and not all(v > 0 for v in self.std):
            raise ValueError(f"std: expected positive values, got {self.std}")
        if self.std is not None:
            if len(self.mean) != len(self.std):
                raise ValueError(
                    f"mean and std: expected as many values, got {len(self.mean)} and "
                    f"{len(self.std)}"
                )
            check_normalisation(self.mean, self.std)

    @classmethod
    def simclr(
        cls, size: int | tuple[int, int], strength: float = 1.0, blur: bool = True, **overrides: Any
    ) -> ViewSpec:
        """SimCLR's views (Chen et al. 2020, appendix A).

        Crop 0.08–1, flip, colour jitter of strength s (0.8s, 0.8s, 0.8s, 0.2s) with p 0.8,
        grayscale p 0.2, blur p 0.5 with σ in [0.1, 2] and a kernel of 10 % of the side.
        s = 1 on ImageNet, 0.5 on CIFAR-10 (where the paper drops the blur: ``blur=False``).
        """
        s = float(strength)
        values: dict[str, Any] = dict(
            size=size,
            brightness=0.8 * s,
            contrast=0.8 * s,
            saturation=0.8 * s,
            hue=0.2 * s,
            jitter_p=0.8,
            grayscale_p=0.2,
            blur_p=0.5 if blur else 0.0,
        )
        return cls(**{**values, **overrides})

    @classmethod
    def byol(cls, size: int | tuple[int, int], view: int = 1, **overrides: Any) -> ViewSpec:
        """BYOL's two asymmetric views (Grill et al. 2020, table 6).

        Jitter (0.4, 0.4, 0.2, 0.1) with p 0.8, grayscale p 0.2, blur p 1.0 / 0.1 and
        solarize p 0.0 / 0.2 for view 1 / 2.
        """
        if view not in (1, 2):
            raise ValueError(f"view: expected 1 or 2, got {view!r}")
        values: dict[str, Any] = dict(
            size=size,
            brightness=0.4,
            contrast=0.4,
            saturation=0.2,
            hue=0.1,
            jitter_p=0.8,
            grayscale_p=0.2,
            blur_p=1.0 if view == 1 else 0.1,
            solarize_p=0.0 if view == 1 else 0.2,
        )
        return cls(**{**values, **overrides})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (for run configs and the dashboard)."""
        return asdict(self)
