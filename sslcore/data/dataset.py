"""The one in-memory dataset type every loader returns: images or feature vectors with labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["MODALITIES", "Dataset"]

MODALITIES = ("image", "vector")


@dataclass
class Dataset:
    """A labeled dataset held in memory, validated on construction.

    Attributes:
        name: Short name shown to users (``"shapes"``, a file name, ...).
        x: Images ``(N, C, H, W)`` uint8 with C in {1, 3} when ``modality == "image"``, or
            features ``(N, D)`` float32 (finite) when ``modality == "vector"``.
        y: Labels ``(N,)`` int64 in ``[0, len(class_names))``. For an unlabeled source set they
            are kept for evaluation only.
        class_names: One name per class, index = label.
        modality: ``"image"`` or ``"vector"``.
        feature_names: For vectors, optionally one name per feature column ``(D,)``.
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor
    class_names: list[str]
    modality: str
    feature_names: list[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Dataset name must be a non-empty str, got {self.name!r}")
        if self.modality not in MODALITIES:
            raise ValueError(
                f"Dataset {self.name!r}: modality must be one of {MODALITIES}, "
                f"got {self.modality!r}"
            )
        if not isinstance(self.x, torch.Tensor) or not isinstance(self.y, torch.Tensor):
            raise TypeError(
                f"Dataset {self.name!r}: x and y must be torch.Tensor, got "
                f"{type(self.x).__name__} and {type(self.y).__name__}"
            )
        self.class_names = [str(c) for c in self.class_names]
        if not self.class_names:
            raise ValueError(f"Dataset {self.name!r}: class_names must not be empty")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(
                f"Dataset {self.name!r}: class_names must be unique, got {self.class_names}"
            )
        if self.modality == "image":
            self._check_images()
        else:
            self._check_vectors()
        self._check_labels()

    def _check_images(self) -> None:
        x = self.x
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(
                f"Dataset {self.name!r}: image x must have shape (N, C, H, W) with "
                f"C in {{1, 3}}, got {tuple(x.shape)}"
            )
        if x.dtype != torch.uint8:
            raise TypeError(f"Dataset {self.name!r}: image x must be uint8, got {x.dtype}")
        if x.shape[2] < 1 or x.shape[3] < 1:
            raise ValueError(
                f"Dataset {self.name!r}: image size must be positive, got {tuple(x.shape)}"
            )
        if self.feature_names is not None:
            raise ValueError(f"Dataset {self.name!r}: feature_names is only for vector data")

    def _check_vectors(self) -> None:
        x = self.x
        if x.dim() != 2:
            raise ValueError(
                f"Dataset {self.name!r}: vector x must have shape (N, D), got {tuple(x.shape)}"
            )
        if x.dtype != torch.float32:
            raise TypeError(f"Dataset {self.name!r}: vector x must be float32, got {x.dtype}")
        if x.shape[1] < 1:
            raise ValueError(
                f"Dataset {self.name!r}: vector x needs at least one feature, got {tuple(x.shape)}"
            )
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            row, col = (int(v) for v in bad.nonzero()[0])
            raise ValueError(
                f"Dataset {self.name!r}: features must be finite, found "
                f"{x[row, col].item()} at row {row}, column {col}"
            )
        if self.feature_names is not None:
            self.feature_names = [str(f) for f in self.feature_names]
            if len(self.feature_names) != x.shape[1]:
                raise ValueError(
                    f"Dataset {self.name!r}: {len(self.feature_names)} feature_names "
                    f"for {x.shape[1]} features"
                )

    def _check_labels(self) -> None:
        y = self.y
        if y.dim() != 1 or y.dtype != torch.int64:
            raise TypeError(
                f"Dataset {self.name!r}: y must be int64 of shape (N,), got "
                f"{y.dtype} {tuple(y.shape)}"
            )
        if y.shape[0] != self.x.shape[0]:
            raise ValueError(
                f"Dataset {self.name!r}: x has {self.x.shape[0]} samples but y has {y.shape[0]}"
            )
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= len(self.class_names)):
            raise ValueError(
                f"Dataset {self.name!r}: labels must lie in "
                f"[0, {len(self.class_names)}), got range "
                f"[{int(y.min())}, {int(y.max())}]"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(x[index], y[index])`` so a Dataset plugs into ``torch.utils.data``."""
        return self.x[index], self.y[index]

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)`` (some may have no samples)."""
        return len(self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(C, H, W)`` or ``(D,)``."""
        return tuple(int(s) for s in self.x.shape[1:])

    def subset(self, indices: Sequence[int] | torch.Tensor, name: str | None = None) -> Dataset:
        """A new Dataset with the rows ``indices`` (same classes, so labels keep their meaning).

        Args:
            indices: Row indices ``(M,)``, integers in ``[0, N)``.
            name: Name of the subset; defaults to this dataset's name.
        """
        idx = torch.as_tensor(indices, dtype=torch.int64).reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(
                f"Dataset {self.name!r}: subset indices must lie in [0, {len(self)}), "
                f"got range [{int(idx.min())}, {int(idx.max())}]"
            )
        return Dataset(
            name=name or self.name,
            x=self.x[idx],
            y=self.y[idx],
            class_names=list(self.class_names),
            modality=self.modality,
            feature_names=None if self.feature_names is None else list(self.feature_names),
        )

    def class_counts(self) -> dict[str, int]:
        """Samples per class name, every class included (zeros too), in label order."""
        counts = torch.bincount(self.y, minlength=self.num_classes)
        return {name: int(c) for name, c in zip(self.class_names, counts.tolist(), strict=True)}

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for the CLI and the dashboard."""
        return {
            "name": self.name,
            "modality": self.modality,
            "num_samples": len(self),
            "sample_shape": list(self.sample_shape),
            "dtype": str(self.x.dtype).removeprefix("torch."),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "class_counts": self.class_counts(),
        }

    def to_float(
        self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
    ) -> torch.Tensor:
        """Model-ready float32 inputs.

        Images become ``(N, C, H, W)`` float32 ``(x / 255 - mean[c]) / std[c]`` through
        ``sslcore.ops.images_to_float``; vectors ``(N, D)`` are returned as they are (already
        float32), and ``mean``/``std`` must then be None.
        """
        if self.modality == "image":
            from sslcore import ops

            return ops.images_to_float(self.x, mean, std)
        if mean is not None or std is not None:
            raise ValueError(
                f"Dataset {self.name!r}: mean/std apply to images only; vector "
                "datasets are standardised by their loader"
            )
        return self.x
