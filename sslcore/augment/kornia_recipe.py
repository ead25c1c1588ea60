"""The same view recipe written with kornia.augmentation: the contender a user would pick instead.

Used by the dashboard's timing (sslcore.augment.timing) and by benchmarks/bench_augment.py, so
both time one definition.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["kornia_pipeline"]


def kornia_pipeline(spec: Any, size: tuple[int, int] | None = None) -> torch.nn.Module:
    """The recipe as ``kornia.augmentation.AugmentationSequential``, for float input in [0, 1].

    kornia samples its own params; two differences from torchvision's semantics remain, as a user
    of kornia gets them: its ColorJitter draws one op order per batch (not per view), and its
    RandomResizedCrop resizes without antialias (align_corners=False here, as torchvision).

    Args:
        spec: a ViewSpec (or anything with its fields): scale, ratio, flip_p, brightness,
            contrast, saturation, hue, jitter_p, grayscale_p, blur_p, blur_sigma,
            blur_kernel_size, solarize_p, solarize_threshold, mean, std.
        size: output ``(h, w)``; default ``spec.size``.
    """
    import kornia.augmentation as K

    size = tuple(spec.size if size is None else size)
    k = spec.blur_kernel_size
    steps: list[torch.nn.Module] = [
        K.RandomResizedCrop(size, scale=spec.scale, ratio=spec.ratio, align_corners=False),
        K.RandomHorizontalFlip(p=spec.flip_p),
        K.ColorJitter(spec.brightness, spec.contrast, spec.saturation, spec.hue, p=spec.jitter_p),
    ]
    if spec.grayscale_p > 0:
        steps.append(K.RandomGrayscale(p=spec.grayscale_p))
    if spec.blur_p > 0 and k > 1:
        steps.append(
            K.RandomGaussianBlur((k, k), spec.blur_sigma, border_type="reflect", p=spec.blur_p)
        )
    if spec.solarize_p > 0:
        t = spec.solarize_threshold  # a pair is kornia's range itself: exactly t, no addition
        steps.append(K.RandomSolarize(thresholds=(t, t), additions=(0.0, 0.0), p=spec.solarize_p))
    if spec.mean is not None and spec.std is not None:
        steps.append(K.Normalize(torch.tensor(spec.mean), torch.tensor(spec.std)))
    return K.AugmentationSequential(*steps)
