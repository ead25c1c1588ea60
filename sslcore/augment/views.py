"""ViewAugment: sample params and apply them in one call, as an nn.Module for training code."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sslcore import ops
from sslcore.augment.params import ViewParams, sample_view_params
from sslcore.augment.spec import ViewSpec

__all__ = ["ViewAugment"]


class ViewAugment(nn.Module):
    """Makes `views` random views of every image of a batch with the fused kernel.

    Args:
        spec: the recipe for every view, or one per view index (e.g. BYOL's two).
        views: views per image (taken from the number of specs when a sequence is given).
        seed: seeds the module's own generator, so a run's views are reproducible; None draws
            from torch's global generator.

    Example:
        >>> augment = ViewAugment(ViewSpec.simclr(32), views=2, seed=0)
        >>> views, params = augment(images)          # images (N, C, H, W) uint8 or float32
        >>> a, b = views.view(2, len(images), *views.shape[1:])   # the two views of each image
    """

    def __init__(
        self, spec: ViewSpec | Sequence[ViewSpec], views: int = 2, seed: int | None = None
    ) -> None:
        super().__init__()
        if isinstance(spec, ViewSpec):
            self.specs = [spec] * views
        else:
            self.specs = list(spec)
            if not self.specs or not all(isinstance(s, ViewSpec) for s in self.specs):
                raise TypeError("spec: expected a ViewSpec or a non-empty sequence of ViewSpec")
        self.views = len(self.specs)
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ViewParams]:
        """Returns the views ``(views · N, C, h, w)`` float32 and the params that made them.

        Row ``j · N + i`` is view j of image i.
        """
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
        if images.dim() != 4:
            raise ValueError(f"images: expected (N, C, H, W), got shape {tuple(images.shape)}")
        params = sample_view_params(
            self.specs,
            images.shape,
            views=self.views,
            generator=self.generator,
            device=images.device,
        )
        return ops.augment_views(images, params), params

    def extra_repr(self) -> str:  # noqa: D102  (nn.Module hook)
        return f"views={self.views}, size={self.specs[0].size}"
