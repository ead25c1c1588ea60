"""Image folders on disk: one subfolder per class, PNG or JPEG files inside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sslcore.data.dataset import Dataset
from sslcore.data.resize import resize_images, size_pair
from sslcore.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _class_dirs(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and _visible(p)), key=lambda p: p.name)


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _read_image(path: Path, mode: str) -> np.ndarray:
    """One image as ``(H, W, C)`` uint8 in PIL ``mode`` ("RGB" or "L")."""
    try:
        with Image.open(path) as im:
            im.load()
            arr = np.array(im.convert(mode), dtype=np.uint8)  # a writable copy
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... on corrupt files
        raise DataError(f"cannot read image {path}: {type(e).__name__}: {e}") from e
    return arr[:, :, None] if arr.ndim == 2 else arr


def load_image_folder(
    root: str | Path, size: int | tuple[int, int] | None = None, channels: int = 3
) -> Dataset:
    """Loads ``root/<class name>/<image>.png|jpg|jpeg`` into an image Dataset.

    Class names are the subfolder names, sorted; files directly in ``root``, hidden entries and
    other file types are ignored; subfolders are not searched recursively.

    Args:
        root: The folder holding one subfolder per class.
        size: Resize every image to ``size`` (side, or ``(height, width)``) with antialiased
            bilinear interpolation. Without it all images must share one size.
        channels: 3 to convert to RGB, 1 for greyscale.

    Returns:
        A Dataset named after ``root`` with x ``(N, channels, H, W)`` uint8.
    """
    root = Path(root)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    hw = None if size is None else size_pair(size)
    if not root.exists():
        raise DataError(f"image folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"{root}: expected a folder with one subfolder per class")
    classes = _class_dirs(root)
    if not classes:
        raise DataError(f"{root}: no class subfolders (expected {root}/<class name>/<image>)")
    images: list[torch.Tensor] = []
    labels: list[int] = []
    first: Path | None = None  # the image whose size the others must match
    for label, folder in enumerate(classes):
        files = _image_files(folder)
        if not files:
            raise DataError(f"{folder}: class folder has no PNG or JPEG images")
        for path in files:
            x = torch.from_numpy(_read_image(path, "RGB" if channels == 3 else "L"))
            x = x.permute(2, 0, 1).unsqueeze(0)  # (1, C, H, W)
            if hw is not None:
                x = resize_images(x, hw)
            elif images and x.shape[2:] != images[0].shape[2:]:
                raise DataError(
                    f"{path} is {x.shape[2]}x{x.shape[3]} but {first} is "
                    f"{images[0].shape[2]}x{images[0].shape[3]} (height x width); pass size "
                    "to resize every image to one size"
                )
            images.append(x)
            labels.append(label)
            first = first or path
    return Dataset(
        name=root.resolve().name or str(root),
        x=torch.cat(images),
        y=torch.tensor(labels, dtype=torch.int64),
        class_names=[d.name for d in classes],
        modality="image",
    )
