"""Image folders on disk: one subfolder per class, PNG or JPEG files inside."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sslcore.data.dataset import Dataset
from sslcore.data.limits import check_data_bytes, max_classes, max_files
from sslcore.data.resize import resize_images, size_pair
from sslcore.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_PIL_BYTES_PER_PIXEL = 4  # PIL holds RGB (and RGBA) images as 4 bytes per pixel


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _entries(folder: Path, keep: Callable[[os.DirEntry], bool], cap: int) -> list[Path]:
    """Visible entries of ``folder`` that ``keep`` accepts, sorted; at most ``cap + 1`` of them.

    Listing stops one past ``cap``, so a folder of a million files is refused without building a
    million Paths; the caller compares the length with ``cap``.
    """
    found = []
    with os.scandir(folder) as it:
        for entry in it:
            if not entry.name.startswith(".") and keep(entry):
                found.append(Path(entry.path))
                if len(found) > cap:
                    break
    return sorted(found, key=lambda p: p.name)


def _class_dirs(root: Path) -> list[Path]:
    cap = max_classes()
    dirs = _entries(root, lambda e: e.is_dir(), cap)
    if len(dirs) > cap:
        raise DataError(
            f"{root}: more than {cap} class subfolders (set SSLCORE_MAX_CLASSES to raise it)"
        )
    return dirs


def _image_files(folder: Path, cap: int) -> list[Path]:
    def keep(e: os.DirEntry) -> bool:
        return e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES

    return _entries(folder, keep, cap)


def _image_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of an image from its header, nothing decoded."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... on corrupt files
        raise DataError(f"cannot read image {path}: {type(e).__name__}: {e}") from e
    return int(h), int(w)


def _read_image(path: Path, mode: str) -> np.ndarray:
    """One image as ``(H, W, C)`` uint8 in PIL ``mode`` ("RGB" or "L")."""
    try:
        with Image.open(path) as im:
            im.load()
            arr = np.array(im.convert(mode), dtype=np.uint8)  # a writable copy
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... on corrupt files
        raise DataError(f"cannot read image {path}: {type(e).__name__}: {e}") from e
    return arr[:, :, None] if arr.ndim == 2 else arr


def _list_files(root: Path) -> tuple[list[Path], list[tuple[Path, int]]]:
    """Class folders and ``(image, label)`` pairs, both capped while listing."""
    classes = _class_dirs(root)
    if not classes:
        raise DataError(f"{root}: no class subfolders (expected {root}/<class name>/<image>)")
    files: list[tuple[Path, int]] = []
    cap = max_files()
    for label, folder in enumerate(classes):
        found = _image_files(folder, cap - len(files))
        if len(files) + len(found) > cap:
            raise DataError(
                f"{root}: more than {cap} image files (set SSLCORE_MAX_FILES to raise it)"
            )
        if not found:
            raise DataError(f"{folder}: class folder has no PNG or JPEG images")
        files.extend((path, label) for path in found)
    return classes, files


def _output_size(
    files: list[tuple[Path, int]], hw: tuple[int, int] | None, channels: int, root: Path
) -> tuple[int, int]:
    """``(H, W)`` of the loaded images, with every size and the total checked from headers.

    Each image is checked alone (what decoding it takes: PIL's buffer, and for a resize the
    float32 copies) and all together (the output tensor) against ``SSLCORE_MAX_DATA_BYTES``.
    """
    first: tuple[Path, tuple[int, int]] | None = None
    for path, _ in files:
        h, w = _image_size(path)
        decode = h * w * _PIL_BYTES_PER_PIXEL + (2 * 4 * channels * h * w if hw else 0)
        check_data_bytes(decode, f"image {path} ({h}x{w})")
        if first is None:
            first = path, (h, w)
        elif hw is None and (h, w) != first[1]:
            raise DataError(
                f"{path} is {h}x{w} but {first[0]} is {first[1][0]}x{first[1][1]} (height x "
                "width); pass size to resize every image to one size"
            )
    out_h, out_w = hw if hw is not None else first[1]
    check_data_bytes(len(files) * channels * out_h * out_w, f"{root} ({len(files)} images)")
    return out_h, out_w


def load_image_folder(
    root: str | Path, size: int | tuple[int, int] | None = None, channels: int = 3
) -> Dataset:
    """Loads ``root/<class name>/<image>.png|jpg|jpeg`` into an image Dataset.

    Class names are the subfolder names, sorted; files directly in ``root``, hidden entries and
    other file types are ignored; subfolders are not searched recursively. The number of classes
    and files and the decoded size are checked (from the image headers) against the caps of
    :mod:`sslcore.data.limits` before any image is decoded.

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
    classes, files = _list_files(root)
    out_h, out_w = _output_size(files, hw, channels, root)
    x = torch.empty(len(files), channels, out_h, out_w, dtype=torch.uint8)
    for i, (path, _) in enumerate(files):
        image = torch.from_numpy(_read_image(path, "RGB" if channels == 3 else "L"))
        image = image.permute(2, 0, 1).unsqueeze(0)  # (1, C, H, W)
        if tuple(image.shape[2:]) != (out_h, out_w):
            if hw is None:  # the file changed since its header was read
                raise DataError(f"{path}: size changed while loading; load again")
            image = resize_images(image, hw)
        x[i] = image[0]
    return Dataset(
        name=root.resolve().name or str(root),
        x=x,
        y=torch.tensor([label for _, label in files], dtype=torch.int64),
        class_names=[d.name for d in classes],
        modality="image",
    )
