"""ViewParams: one row of concrete augmentation parameters per view, sampled from a ViewSpec.

Randomness lives here, in Python, with a seeded torch.Generator; the kernel (ops.augment_views)
applies the rows exactly. The same params replay the same views, can be printed, shown in the
dashboard, and fed to the reference and to kornia.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from sslcore.augment.spec import ViewSpec

__all__ = ["JITTER_OPS", "ViewParams", "sample_view_params"]

JITTER_OPS = ("brightness", "contrast", "saturation", "hue")  # the indices used in `order`
_ATTEMPTS = 10  # torchvision's RandomResizedCrop tries 10 boxes before a central fallback


@dataclass
class ViewParams:
    """Concrete parameters of V views: tensors with one row per view, plus shared settings.

    Attributes:
        source: ``(V,)`` int64, index of each view's source image in the batch.
        crop: ``(V, 4)`` int64, ``top, left, height, width`` of the crop in source pixels.
        flip: ``(V,)`` bool, horizontal flip.
        jitter: ``(V,)`` bool, whether colour jitter applies.
        factors: ``(V, 4)`` float32, brightness, contrast, saturation factors (1 = identity)
            and hue shift (0 = identity, in [-0.5, 0.5]), torchvision's meaning.
        order: ``(V, 4)`` int64, each view's permutation of the jitter ops (indices into
            JITTER_OPS), applied left to right.
        grayscale: ``(V,)`` bool.
        blur_sigma: ``(V,)`` float32, Gaussian blur sigma; 0 = no blur.
        solarize: ``(V,)`` bool.
        size: output ``(h, w)``.
        blur_kernel_size: taps of the blur (odd).
        solarize_threshold: in [0, 1].
        mean, std: per-channel normalisation applied last, or None.
    """

    source: torch.Tensor
    crop: torch.Tensor
    flip: torch.Tensor
    jitter: torch.Tensor
    factors: torch.Tensor
    order: torch.Tensor
    grayscale: torch.Tensor
    blur_sigma: torch.Tensor
    solarize: torch.Tensor
    size: tuple[int, int]
    blur_kernel_size: int
    solarize_threshold: float = 0.5
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    TENSOR_FIELDS = (
        "source",
        "crop",
        "flip",
        "jitter",
        "factors",
        "order",
        "grayscale",
        "blur_sigma",
        "solarize",
    )

    def __len__(self) -> int:
        return int(self.source.shape[0])

    @property
    def device(self) -> torch.device:
        """The device of the per-view tensors."""
        return self.source.device

    def to(self, device: torch.device | str) -> ViewParams:
        """The same params with every tensor on `device`."""
        return replace(self, **{k: getattr(self, k).to(device) for k in self.TENSOR_FIELDS})

    def select(self, index: torch.Tensor | Sequence[int] | slice) -> ViewParams:
        """The rows `index` (e.g. the views of one image) as new params."""
        if not isinstance(index, slice):
            index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        return replace(self, **{k: getattr(self, k)[index] for k in self.TENSOR_FIELDS})

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per view (for tables, JSON and the dashboard)."""
        out = []
        for v in range(len(self)):
            top, left, height, width = (int(t) for t in self.crop[v])
            order = [JITTER_OPS[int(i)] for i in self.order[v]]
            b, c, s, h = (float(f) for f in self.factors[v])
            out.append(
                {
                    "view": v,
                    "source": int(self.source[v]),
                    "crop": {"top": top, "left": left, "height": height, "width": width},
                    "flip": bool(self.flip[v]),
                    "jitter": bool(self.jitter[v]),
                    "brightness": b,
                    "contrast": c,
                    "saturation": s,
                    "hue": h,
                    "order": order,
                    "grayscale": bool(self.grayscale[v]),
                    "blur_sigma": float(self.blur_sigma[v]),
                    "solarize": bool(self.solarize[v]),
                }
            )
        return out

    def __str__(self) -> str:
        lines = [
            f"ViewParams: {len(self)} views → {self.size[0]}×{self.size[1]}, blur "
            f"{self.blur_kernel_size} taps, solarize ≥ {self.solarize_threshold}"
        ]
        for r in self.rows():
            c = r["crop"]
            jitter = (
                " ".join(
                    f"{op[0]}{r[op]:+.2f}" if op == "hue" else f"{op[0]}×{r[op]:.2f}"
                    for op in r["order"]
                )
                if r["jitter"]
                else "-"
            )
            sigma = r["blur_sigma"]
            lines.append(
                f"  [{r['view']}] img {r['source']} crop ({c['top']},{c['left']}) "
                f"{c['height']}×{c['width']}{' flip' if r['flip'] else ''} jitter: {jitter}"
                f"{' gray' if r['grayscale'] else ''}"
                f"{f' blur σ={sigma:.2f}' if sigma > 0 else ''}"
                f"{' solarize' if r['solarize'] else ''}"
            )
        return "\n".join(lines)

    def equal(self, other: ViewParams) -> bool:
        """True when both hold the same settings and the same values in every row."""
        return all(
            torch.equal(getattr(self, f.name), getattr(other, f.name))
            if f.name in self.TENSOR_FIELDS
            else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
        )


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=g, dtype=torch.float64) * (high - low) + low


def _sample_crops(
    spec: ViewSpec, n: int, height: int, width: int, g: torch.Generator
) -> torch.Tensor:
    """RandomResizedCrop.get_params of torchvision for n views at once: (n, 4) top, left, h, w."""
    area = height * width
    target = area * _uniform(n * _ATTEMPTS, *spec.scale, g).view(n, _ATTEMPTS)
    log_lo, log_hi = math.log(spec.ratio[0]), math.log(spec.ratio[1])
    aspect = torch.exp(_uniform(n * _ATTEMPTS, log_lo, log_hi, g)).view(n, _ATTEMPTS)
    w = torch.round(torch.sqrt(target * aspect)).long()
    h = torch.round(torch.sqrt(target / aspect)).long()
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = torch.argmax(ok.int(), dim=1)  # first valid attempt (0 when none is valid)
    rows = torch.arange(n)
    h, w, found = h[rows, first], w[rows, first], ok[rows, first]
    # Fallback (no valid attempt): the central crop with the ratio clamped into range.
    in_ratio = width / height
    if in_ratio < spec.ratio[0]:
        fw, fh = width, round(width / spec.ratio[0])
    elif in_ratio > spec.ratio[1]:
        fh, fw = height, round(height * spec.ratio[1])
    else:
        fw, fh = width, height
    h = torch.where(found, h, torch.full_like(h, fh))
    w = torch.where(found, w, torch.full_like(w, fw))
    u = torch.rand(n, 2, generator=g, dtype=torch.float64)
    top = torch.where(found, (u[:, 0] * (height - h + 1)).long(), (height - h) // 2)
    left = torch.where(found, (u[:, 1] * (width - w + 1)).long(), (width - w) // 2)
    return torch.stack([top, left, h, w], dim=1)


def _sample_group(
    spec: ViewSpec, source: torch.Tensor, height: int, width: int, g: torch.Generator
) -> dict[str, torch.Tensor]:
    n = source.numel()

    def coin(p: float) -> torch.Tensor:
        return torch.rand(n, generator=g) < p

    def factor(strength: float) -> torch.Tensor:
        return _uniform(n, max(0.0, 1.0 - strength), 1.0 + strength, g).float()

    crop = _sample_crops(spec, n, height, width, g)
    flip = coin(spec.flip_p)
    factors = torch.stack(
        [
            factor(spec.brightness),
            factor(spec.contrast),
            factor(spec.saturation),
            _uniform(n, -spec.hue, spec.hue, g).float(),
        ],
        dim=1,
    )
    order = torch.argsort(torch.rand(n, 4, generator=g), dim=1)  # a uniform permutation per view
    jitter = coin(spec.jitter_p)
    grayscale = coin(spec.grayscale_p)
    blur = coin(spec.blur_p)
    sigma = torch.where(blur, _uniform(n, *spec.blur_sigma, g).float(), torch.zeros(n))
    solarize = coin(spec.solarize_p)
    return {
        "source": source,
        "crop": crop,
        "flip": flip,
        "jitter": jitter,
        "factors": factors,
        "order": order,
        "grayscale": grayscale,
        "blur_sigma": sigma,
        "solarize": solarize,
    }


def sample_view_params(
    spec: ViewSpec | Sequence[ViewSpec],
    image_shape: Sequence[int],
    views: int = 2,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> ViewParams:
    """Samples `views` views of every image of a batch, one row each.

    Row ``j * N + i`` is view j of image i, so ``out.view(views, N, C, h, w)[j]`` is the j-th
    view of the whole batch (the layout a two-view loss wants).

    Args:
        spec: one recipe for every view, or one per view index (e.g. BYOL's two specs).
        image_shape: ``(N, C, H, W)`` of the batch (only N, H and W are used).
        views: views per image.
        generator: a seeded torch.Generator (CPU) for replayable sampling; None uses the global one.
        device: where the params are put (that of the images they will be applied to).
    """
    specs = [spec] * views if isinstance(spec, ViewSpec) else list(spec)
    if views < 1 or len(specs) != views:
        raise ValueError(
            f"views: expected >= 1 and one spec per view, got views={views} and {len(specs)} specs"
        )
    if len(image_shape) != 4:
        raise ValueError(f"image_shape: expected (N, C, H, W), got {tuple(image_shape)}")
    n, _, height, width = (int(s) for s in image_shape)
    if n < 0 or height < 1 or width < 1:
        raise ValueError(f"image_shape: expected N >= 0 and H, W >= 1, got {tuple(image_shape)}")
    shared = {(s.size, s.blur_kernel_size, s.solarize_threshold, s.mean, s.std) for s in specs}
    if len(shared) != 1:
        raise ValueError(
            "spec: the specs of one call must share size, blur_kernel_size, "
            "solarize_threshold, mean and std"
        )
    g = generator if generator is not None else torch.default_generator
    groups = [_sample_group(s, torch.arange(n), height, width, g) for s in specs]
    tensors = {k: torch.cat([grp[k] for grp in groups]).to(device) for k in groups[0]}
    first = specs[0]
    return ViewParams(
        **tensors,
        size=first.size,
        blur_kernel_size=first.blur_kernel_size,
        solarize_threshold=first.solarize_threshold,
        mean=first.mean,
        std=first.std,
    )
