"""Caps on what a loader may decode, checked from headers before anything is allocated.

Files, bundles and configs may come from someone else: a 1.5 MB archive can claim a 100 GB
array, a label file can claim class 2**40. Every loader computes the size of what it is about to
build from the header (an ``.npy`` header, a pickle's array shape, an image's size, a CSV's rows)
and refuses beyond these caps with a one-line :class:`~sslcore.errors.DataError`.

The caps are read from environment variables at each call, so a user with a large machine can
raise them without code, and a config or bundle (which only reaches loader options) cannot:

* ``SSLCORE_MAX_DATA_BYTES``: decoded data of one load, default 2 GiB.
* ``SSLCORE_MAX_CLASSES``: number of classes, default 10,000.
* ``SSLCORE_MAX_FILES``: image files read from one image folder, default 200,000.
"""

from __future__ import annotations

import os

from sslcore.errors import DataError

__all__ = [
    "DEFAULT_MAX_CLASSES",
    "DEFAULT_MAX_DATA_BYTES",
    "DEFAULT_MAX_FILES",
    "check_data_bytes",
    "check_num_classes",
    "format_bytes",
    "max_classes",
    "max_data_bytes",
    "max_files",
]

DEFAULT_MAX_DATA_BYTES = 2 << 30  # 2 GiB
DEFAULT_MAX_CLASSES = 10_000
DEFAULT_MAX_FILES = 200_000


def _env_cap(name: str, default: int) -> int:
    """The positive integer in environment variable ``name``, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


def max_data_bytes() -> int:
    """Most bytes one load may decode (``SSLCORE_MAX_DATA_BYTES``, default 2 GiB)."""
    return _env_cap("SSLCORE_MAX_DATA_BYTES", DEFAULT_MAX_DATA_BYTES)


def max_classes() -> int:
    """Most classes a dataset may have (``SSLCORE_MAX_CLASSES``, default 10,000)."""
    return _env_cap("SSLCORE_MAX_CLASSES", DEFAULT_MAX_CLASSES)


def max_files() -> int:
    """Most image files one image folder may hold (``SSLCORE_MAX_FILES``, default 200,000)."""
    return _env_cap("SSLCORE_MAX_FILES", DEFAULT_MAX_FILES)


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (``"2.0 GiB"``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def check_data_bytes(nbytes: int, what: str) -> None:
    """Raises DataError when ``nbytes`` (computed from a header) exceeds the data cap.

    Args:
        nbytes: Bytes the load would allocate; a Python int, so no product can overflow.
        what: What is being loaded, for the message (a path, ``"dataset 'shapes'"``, ...).
    """
    cap = max_data_bytes()
    if nbytes > cap:
        raise DataError(
            f"{what}: would decode {format_bytes(nbytes)}, over the cap of {format_bytes(cap)} "
            "(set SSLCORE_MAX_DATA_BYTES to raise it)"
        )


def check_num_classes(num_classes: int, what: str) -> None:
    """Raises DataError when a dataset would have more classes than the cap.

    Class names are built one per class id, so a single label ``2**40`` must be refused here
    rather than turned into a list of 2**40 names.
    """
    cap = max_classes()
    if num_classes > cap:
        raise DataError(
            f"{what}: {num_classes} classes, over the cap of {cap} (class ids must be dense, "
            "0..K-1; set SSLCORE_MAX_CLASSES to raise it)"
        )
