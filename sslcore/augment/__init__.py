"""Batched, per-view random augmentations: recipes, sampled params, the fused op, a module.

Randomness in Python, determinism in C++: a ViewSpec (the recipe) is sampled with a seeded
torch.Generator into ViewParams (one row per view), which ``sslcore.ops.augment_views`` applies
exactly, so the same params replay the same views.

Semantics are torchvision.transforms.v2.functional's on float images in [0, 1]. Where the op
differs, and why:

- uint8 input is converted to [0, 1] floats first and every step runs in float32: torchvision's
  uint8 path rounds and clamps to integers after every op; we never quantise (the views are
  float32 for the model anyway).
- Crop + resize is F.interpolate(bilinear, align_corners=False, antialias=True) on the integer
  crop box (torchvision v2's default antialias=True); upscaling is plain bilinear.
- Contrast's mean luma is accumulated in float64 (torchvision: float32); differences ~1e-7.
- Grayscale keeps the channel count (RandomGrayscale's behaviour); saturation, hue and grayscale
  leave 1-channel images unchanged, as torchvision does.
- Blur is separable (two 1-D passes) where torchvision convolves with the 2-D outer product;
  the same numbers up to float rounding.
- Normalisation is folded into one multiply-add per value: (x − m) / s = x · (1/s) − m/s.
"""

from sslcore.augment.geometry import ViewGeometry, rotate_and_noise
from sslcore.augment.params import JITTER_OPS, ViewParams, sample_view_params
from sslcore.augment.presets import SMALL_IMAGE, small_image_views, supervised_views
from sslcore.augment.spec import ViewSpec, default_blur_kernel_size
from sslcore.augment.views import ViewAugment

__all__ = [
    "JITTER_OPS",
    "SMALL_IMAGE",
    "ViewAugment",
    "ViewGeometry",
    "ViewParams",
    "ViewSpec",
    "default_blur_kernel_size",
    "rotate_and_noise",
    "sample_view_params",
    "small_image_views",
    "supervised_views",
]
