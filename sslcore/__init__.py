"""sslcore: see and measure self-supervised learning.

Pretext tasks turn raw data x into inputs and pseudolabels z; an encoder h_θ is pretrained with a
pretext head k_γ, transferred, and adapted to a labelled task with a task head g_φ. This package
holds the data, the fused kernels (sslcore.ops) and the measurements; dashboard/ shows them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sslcore")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
