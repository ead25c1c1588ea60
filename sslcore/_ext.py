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
    "CUDA_BUILD_REASONS",
    "ExtensionFallbackWarning",
    "build_info",
    "cuda_build_summary",
    "extension_available",
    "extension_error",
    "require_extension",
]


class ExtensionFallbackWarning(RuntimeWarning):
    """The compiled extension is missing; the slower pure-PyTorch references are used."""


# What setup.py's decide_cuda recorded in the build (SSLCORE_CUDA_BUILD), as a sentence.
CUDA_BUILD_REASONS = {
    "built": "CUDA kernels compiled",
    "off": "CPU kernels only: built with SSLCORE_CUDA=0",
    "cpu_torch": "CPU kernels only: torch was a CPU build",
    "no_nvcc": "CPU kernels only: nvcc was not found (set CUDA_HOME or put nvcc on PATH)",
    "nvcc_mismatch": "CPU kernels only: nvcc's major release differed from torch's CUDA",
    "no_arch": (
        "CPU kernels only: no visible GPU and TORCH_CUDA_ARCH_LIST unset at build time; rebuild "
        "with SSLCORE_CUDA=1 (default data-centre arch list) or TORCH_CUDA_ARCH_LIST set"
    ),
    "unknown": "CUDA build decision not recorded (an older build)",
}


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
        ``{"available", "cuda", "cuda_version", "cuda_archs", "cuda_build", "openmp",
        "openmp_threads", "torch_version", "debug", "compiler", "error"}``; ``cuda_build`` says
        why setup.py did or did not compile the CUDA kernels (CUDA_BUILD_REASONS). Without the
        extension, ``available`` is False and ``error`` says why.
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
        "cuda_build": None,
        "cuda_archs": None,
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


def cuda_build_summary(info: dict[str, Any]) -> str:
    """One line on the CUDA side of a build_info(): compiled for which archs, or why not."""
    code = info.get("cuda_build") or "unknown"
    text = CUDA_BUILD_REASONS.get(code, f"unrecognised CUDA build code {code!r}")
    if info.get("cuda"):
        text += f" (CUDA {info.get('cuda_version')}, archs {info.get('cuda_archs') or '?'})"
    return text


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
