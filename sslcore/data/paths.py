"""The first check of every file loader: the path names an existing file."""

from __future__ import annotations

from pathlib import Path

from sslcore.errors import DataError

__all__ = ["existing_file"]


def existing_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, if it is an existing file; else a DataError naming ``what``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataError(f"{path}: expected a {what}, found a folder")
    return path
