"""Shared benchmark plumbing: timing with torch.utils.benchmark and run metadata for --json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils import benchmark

ROOT = Path(__file__).resolve().parent.parent


def metadata(device: str) -> dict[str, Any]:
    """Commit, versions, threads and device: what a figure needs to be compared later."""
    from sslcore._ext import build_info

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    try:
        import kornia

        kornia_version = kornia.__version__
    except ImportError:
        kornia_version = None
    return {
        "commit": commit,
        "torch": torch.__version__,
        "kornia": kornia_version,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if device == "cuda" else cpu_name(),
        "extension": build_info(),
    }


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), with the core count."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} logical cores)"


def median_seconds(fn: Callable[[], Any], min_run_time: float = 1.0) -> float:
    """Median wall time of fn() after warm-up (torch.utils.benchmark handles CUDA sync)."""
    fn()  # warm-up
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def dump(path: str | None, payload: dict[str, Any]) -> None:
    """Writes the JSON results (atomically) when --json was given."""
    if not path:
        return
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(target)
