"""``.npz`` archives (``np.savez``), read member by member with every size known before reading.

An ``.npz`` is a zip of ``.npy`` files. ``np.load`` trusts them: a member's header may claim any
shape (numpy allocates it, then inflates into it) and its zip entry any size. Here the zip's
central directory is bounded before :mod:`zipfile` parses it, each member's ``.npy`` header is
read first, its size is checked against the zip entry (an entry is inflated at most to the size it
declares, so the two must agree) and against ``SSLCORE_MAX_DATA_BYTES``, and only then are the
arrays read. Object arrays are refused: nothing is ever unpickled.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from sslcore.data.dataset import Dataset
from sslcore.data.limits import check_data_bytes, check_num_classes
from sslcore.data.paths import existing_file
from sslcore.errors import DataError

__all__ = ["load_npz"]

_MAX_CENTRAL_DIRECTORY = 1 << 20  # bytes: ~20,000 members; an np.savez archive needs < 1 KiB
_EOCD = b"PK\x05\x06"  # end of central directory record (22 bytes + comment)
_EOCD64_LOCATOR = b"PK\x06\x07"  # 20 bytes, right after the zip64 record (56 bytes) it locates
_EOCD64 = b"PK\x06\x06"
_NPY_MAGIC = b"\x93NUMPY"
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    struct.error,
)

NpyHeader = tuple[tuple[int, ...], np.dtype]  # shape and dtype of one member


def _central_directory_size(f: BinaryIO, file_size: int) -> int | None:
    """Bytes of the zip's central directory as :mod:`zipfile` will read them, None if no zip.

    zipfile reads the whole directory into memory and builds one object per entry, so a forged
    size is checked here, from the end record (and its zip64 twin, which zipfile prefers).
    """
    tail_len = min(file_size, 22 + 65535)  # the record plus the longest comment
    f.seek(file_size - tail_len)
    tail = f.read(tail_len)
    i = tail.rfind(_EOCD, 0, max(0, len(tail) - 18))  # the last one with 22 bytes after it
    if i < 0:
        return None
    (size,) = struct.unpack_from("<I", tail, i + 12)
    if i >= 20 and tail[i - 20 : i - 16] == _EOCD64_LOCATOR:
        start = file_size - tail_len + i - 20 - 56
        if start >= 0:
            f.seek(start)
            record = f.read(56)
            if record[:4] == _EOCD64:
                (size,) = struct.unpack_from("<Q", record, 40)
    return size


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The archive at ``path``, refusing non-zips (with a useful word) and forged directories."""
    with path.open("rb") as f:
        head = f.read(len(_NPY_MAGIC))
        if head == _NPY_MAGIC:
            raise DataError(f"{path}: expected an .npz archive (np.savez), not a single array")
        size = _central_directory_size(f, path.stat().st_size)
    if size is None:
        # np.load would suggest allow_pickle=True here: never give that advice.
        raise DataError(f"{path}: not a valid .npz file (not a zip archive written by np.savez)")
    if size > _MAX_CENTRAL_DIRECTORY:
        raise DataError(
            f"{path}: zip central directory of {size} bytes (over {_MAX_CENTRAL_DIRECTORY}); "
            "not an archive written by np.savez"
        )
    return zipfile.ZipFile(path)


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> NpyHeader:
    """Shape and dtype of one ``.npy`` member, with its size checked against the zip entry."""
    where = f"cannot read {path} as .npz: member {info.filename!r}"
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
        except ValueError as e:
            raise DataError(f"{where} is not an .npy array ({e})") from e
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise DataError(f"{where}: unsupported .npy format version {version}")
        header_len = f.tell()
    if dtype.hasobject:
        raise DataError(
            f"{where} holds Python objects (pickled data); only numeric and string arrays are "
            "read, nothing is unpickled"
        )
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if info.file_size != header_len + nbytes:
        raise DataError(
            f"{where}: its header describes {dtype} {shape} ({header_len + nbytes} bytes) but "
            f"the zip entry holds {info.file_size} bytes"
        )
    return tuple(int(s) for s in shape), dtype


def _check_labels(y: np.ndarray, path: Path, key: str) -> int:
    """Number of classes ``max(y) + 1`` of integer labels ``(N,)``, refusing sparse huge ids."""
    if y.size and y.min() < 0:
        raise DataError(f"{path}: labels {key!r} must be >= 0, found {y.min()}")
    if not y.size:
        return 1
    top = int(y.max())
    check_num_classes(top + 1, f"{path}: labels {key!r} go up to {top}")
    return top + 1


def _npz_images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)`` uint8 -> ``(N, C, H, W)``."""
    if x.dtype != np.uint8:
        raise DataError(
            f"{path}: image array {key!r} must be uint8 (0..255), got {x.dtype}; "
            "2-D arrays are read as feature tables"
        )
    if x.ndim == 3:
        return x[:, None]
    if x.shape[1] in (1, 3):
        return x
    if x.shape[3] in (1, 3):  # channels last
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise DataError(
        f"{path}: image array {key!r} must have 1 or 3 channels, as (N, C, H, W) or "
        f"(N, H, W, C); got shape {x.shape}"
    )


def _members(zf: zipfile.ZipFile, path: Path) -> dict[str, tuple[NpyHeader, zipfile.ZipInfo]]:
    """Every ``.npy`` member by array name, with its checked header (nothing inflated past it)."""
    return {
        info.filename.removesuffix(".npy"): (_read_header(zf, info, path), info)
        for info in zf.infolist()
        if info.filename.endswith(".npy")
    }


def _nbytes(header: NpyHeader) -> int:
    return math.prod(header[0]) * header[1].itemsize


def _checked_arrays(
    zf: zipfile.ZipFile, path: Path, x_key: str, y_key: str
) -> dict[str, np.ndarray]:
    """The arrays ``load_npz`` needs, read once their headers have passed every size check."""
    members = _members(zf, path)
    for key in (x_key, y_key):
        if key not in members:
            raise DataError(f"{path}: no array {key!r}; arrays present: {sorted(members)}")
    if "class_names" in members:
        check_num_classes(math.prod(members["class_names"][0][0]), f"{path}: class_names")
    names = dict.fromkeys((x_key, y_key, "class_names", "feature_names"))  # ordered, unique
    wanted = [k for k in names if k in members]
    # Peak on top of the arrays: features become float32, channels-last images are transposed
    # into a copy, labels become int64. Members not wanted are never inflated.
    x_shape, y_shape = members[x_key][0][0], members[y_key][0][0]
    extra = math.prod(x_shape) * (4 if len(x_shape) == 2 else 1) + math.prod(y_shape) * 8
    check_data_bytes(extra + sum(_nbytes(members[k][0]) for k in wanted), str(path))
    arrays = {}
    for key in wanted:
        # The same open archive and entry whose header and size were checked: the entry is
        # inflated at most to its declared size, which equals the header's.
        with zf.open(members[key][1]) as f:
            arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
    return arrays


def _read_checked(path: Path, x_key: str, y_key: str) -> dict[str, np.ndarray]:
    """:func:`_checked_arrays` of the archive at ``path``, every read error as one DataError."""
    try:
        with _open_zip(path) as zf:
            return _checked_arrays(zf, path, x_key, y_key)
    except DataError:
        raise
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path} as .npz: {type(e).__name__}: {e}") from e


def load_npz(path: str | Path, x_key: str = "x", y_key: str = "y") -> Dataset:
    """Loads an ``.npz`` archive written by ``np.savez`` (no pickled objects).

    ``x`` decides the modality: ``(N, D)`` numbers -> vector data (float32, must be finite);
    ``(N, H, W)`` or ``(N, C, H, W)``/``(N, H, W, C)`` uint8 -> images. ``y`` holds integer labels
    ``(N,)`` in ``[0, K)``. Optional arrays: ``class_names`` (K strings, else ``"0"..."K-1"``) and,
    for vectors, ``feature_names`` (D strings). Sizes are checked from the headers against
    ``SSLCORE_MAX_DATA_BYTES`` and ``SSLCORE_MAX_CLASSES`` before anything is read.

    Args:
        path: The ``.npz`` file.
        x_key: Name of the samples array.
        y_key: Name of the labels array.
    """
    path = existing_file(path, ".npz file")
    arrays = _read_checked(path, x_key, y_key)
    x, y = arrays[x_key], arrays[y_key]
    if x.ndim == 2:
        modality = "vector"
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise DataError(f"{path}: feature array {x_key!r} must be numeric, got {x.dtype}")
        x = x.astype(np.float32)
        bad = np.argwhere(~np.isfinite(x))
        if bad.size:
            raise DataError(
                f"{path}: feature array {x_key!r} has a non-finite value at row "
                f"{bad[0][0]}, column {bad[0][1]}"
            )
    elif x.ndim in (3, 4):
        modality = "image"
        x = _npz_images(x, path, x_key)
    else:
        raise DataError(
            f"{path}: {x_key!r} must be (N, D) features or (N, [C,] H, W) images, "
            f"got shape {x.shape}"
        )
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) != len(x):
        raise DataError(
            f"{path}: labels {y_key!r} must be integers of shape ({len(x)},), got "
            f"{y.dtype} {y.shape}"
        )
    num_classes = _check_labels(y, path, y_key)
    if "class_names" in arrays:
        class_names = [str(c) for c in arrays["class_names"].reshape(-1)]
        if len(class_names) < num_classes:
            raise DataError(
                f"{path}: {len(class_names)} class_names but labels go up to {num_classes - 1}"
            )
    else:
        class_names = [str(i) for i in range(num_classes)]
    feature_names = None
    if modality == "vector" and "feature_names" in arrays:
        feature_names = [str(f) for f in arrays["feature_names"].reshape(-1)]
        if len(feature_names) != x.shape[1]:
            raise DataError(
                f"{path}: {len(feature_names)} feature_names for {x.shape[1]} feature columns"
            )
    return Dataset(
        name=path.stem,
        x=torch.from_numpy(x),
        y=torch.from_numpy(y.astype(np.int64)),
        class_names=class_names,
        modality=modality,
        feature_names=feature_names,
    )
