"""Loads the compiled extension sslcore._C once and says whether it is there and, if not, why.

Importing _C registers the ops in torch.ops.sslcore. Without it, sslcore.ops falls back to the
pure-PyTorch references with one warning; SSLCORE_REQUIRE_EXT=1 (set by the test suite) turns
the fallback into an error, so a broken build cannot pass unnoticed.
"""

from __future__ import annotations

import functools
import os
import warnings
from types import ModuleType
from typing import Any

import torch

__all__ = [
    "ExtensionFallbackWarning",
    "build_info",
    "extension_available",
    "extension_error",
    "require_extension",
]


class ExtensionFallbackWarning(RuntimeWarning):
    """The compiled extension is missing; the slower pure-PyTorch references are used."""


@functools.cache
def _load() -> tuple[ModuleType | None, str | None]:
    try:
        from sslcore import _C  # registers torch.ops.sslcore.*
    except ImportError as exc:  # not built, or built against another torch
        return None, f"{type(exc).__name__}: {exc}"
    return _C, None


def extension_available() -> bool:
    """True when sslcore._C imported and its ops are registered."""
    return _load()[0] is not None


def extension_error() -> str | None:
    """Why the extension could not be loaded, or None when it is available."""
    return _load()[1]


def build_info() -> dict[str, Any]:
    """How the extension was built (CUDA, OpenMP threads, torch version), or why it is missing.

    Returns:
        ``{"available", "cuda", "cuda_version", "openmp", "openmp_threads", "torch_version",
        "debug", "compiler", "error"}``; without the extension, ``available`` is False and
        ``error`` says why.
    """
    module, error = _load()
    info: dict[str, Any] = {
        "available": module is not None,
        "cuda": False,
        "cuda_version": None,
        "openmp": False,
        "openmp_version": None,
        "openmp_threads": 0,
        "torch_version": None,
        "debug": False,
        "compiler": None,
        "error": error,
    }
    if module is not None:
        info.update(module.build_info())
        built, running = info["torch_version"], torch.__version__
        if built != running:
            info["error"] = f"built against torch {built} but torch {running} is running; rebuild"
    return info


def require_extension() -> bool:
    """Whether the environment demands the extension (SSLCORE_REQUIRE_EXT=1)."""
    return os.environ.get("SSLCORE_REQUIRE_EXT", "0") == "1"


@functools.cache
def warn_fallback() -> None:
    """Raises when the extension is required, else warns once that references are used."""
    message = f"sslcore._C is not available ({extension_error()}); using pure-PyTorch references"
    if require_extension():
        raise RuntimeError(
            message + " — SSLCORE_REQUIRE_EXT=1 demands the extension; rebuild it "
            "with `pip install --no-build-isolation -e .`"
        )
    warnings.warn(message, ExtensionFallbackWarning, stacklevel=3)
