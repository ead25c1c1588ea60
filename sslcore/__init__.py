"""sslcore: see and measure self-supervised learning.

Pretext tasks turn raw data x into inputs and pseudolabels z; an encoder h_θ is pretrained with a
pretext head k_γ, transferred, and adapted to a labelled task with a task head g_φ. This package
holds the data, the fused kernels (sslcore.ops) and the measurements; dashboard/ shows them.
"""

from __future__ import annotations

import functools

__all__ = ["__version__"]


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sslcore")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use.

    importlib.metadata is slow to import, and ``sslcore --help`` should answer at once.
    """
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
