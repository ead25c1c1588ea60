"""SimCLR views: the fused sslcore.ops.augment_views vs batched PyTorch vs kornia, side by side.

python -m benchmarks.bench_augment [--quick] [--json PATH] [--threads K] [--configs B512_S32,...]

Each config is N random uint8 images (seeded random bytes, not natural images: every op's cost is
content-independent) of 3 × S × S, two views each (V = 2N) of S × S, from ViewSpec.simclr(S,
strength=0.5): crop 0.08-1, flip, jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grayscale p 0.2, blur p 0.5.
sslcore and torch apply the same params, sampled once outside the timed region; kornia samples its
own inside, as a user runs it, on the batch repeated for the two views (the repeat and the uint8 →
float conversion are timed too).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.augment_contenders import kornia_pipeline, torch_batched_views
from benchmarks.common import dump, median_seconds, metadata
from sslcore.augment import ViewSpec, sample_view_params

CONFIGS = {"B512_S32": (512, 32), "B256_S96": (256, 96), "B64_S224": (64, 224)}
VIEWS = 2
COPY_BYTES = 256 * 2**20  # large enough to stream from DRAM, not from the 32 MiB L3


def copy_bandwidth(min_run_time: float, device: str = "cpu") -> float:
    """GB/s (read + written) of ``dst.copy_(src)`` for 256 MiB of float32 into a reused dst."""
    src = torch.ones(COPY_BYTES // 4, device=device)
    dst = torch.empty_like(src)
    seconds = median_seconds(lambda: dst.copy_(src), min_run_time)
    return 2 * COPY_BYTES / seconds / 1e9


class OtherLoad:
    """The share of the CPUs that other processes used between two reads of /proc/stat (Linux).

    These machines are shared: a process on one of the 2 cores stalls every OpenMP barrier of a
    2-thread op, which slows a contender of hundreds of small ops (torch, kornia) far more than a
    fused kernel, so a busy moment skews the ratios, not only the times. None off Linux.
    """

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                jiffies = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        times = os.times()
        idle = jiffies[3] + jiffies[4]  # idle + iowait
        return (sum(jiffies) - idle) / tick, sum(jiffies) / tick, times.user + times.system

    def fraction(self) -> float | None:
        """Other processes' busy CPU time / all CPU time since construction."""
        end = self._read()
        if self.start is None or end is None or end[1] <= self.start[1]:
            return None
        busy, total, own = (b - a for a, b in zip(self.start, end, strict=True))
        return max(0.0, (busy - own) / total)


def sslcore_contender(images: torch.Tensor, params: Any) -> Callable[[], Any] | str:
    """The fused op, or the reason it cannot run here."""
    try:
        from sslcore import ops
        from sslcore._ext import extension_available
    except ImportError as error:
        return f"cannot import sslcore.ops ({error})"
    if not hasattr(ops, "augment_views"):
        return "sslcore.ops has no augment_views yet"
    if not extension_available():
        return "the extension is not built, so ops.augment_views would run its per-view reference"

    def run() -> torch.Tensor:
        return ops.augment_views(images, params)

    try:
        run()
    except Exception as error:  # a half-built op: report it, keep measuring the others
        return f"ops.augment_views failed: {type(error).__name__}: {error}"
    return run


def contenders(images: torch.Tensor, spec: Any, params: Any) -> dict[str, Callable[[], Any] | str]:
    """Name → a call to time, or a string saying why that contender is not available."""
    out: dict[str, Callable[[], Any] | str] = {
        "sslcore": sslcore_contender(images, params),
        "torch": lambda: torch_batched_views(images, params),
    }
    try:
        pipe = kornia_pipeline(spec.size, spec)
        out["kornia"] = lambda: pipe(images.repeat(VIEWS, 1, 1, 1).float().div_(255.0))
    except ImportError as error:
        out["kornia"] = f"cannot import kornia ({error})"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing runs (0.2 s each)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        parser.error(f"--configs: unknown {unknown}, expected some of {list(CONFIGS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    min_run_time = 0.2 if args.quick else 1.0

    copy_gbps = copy_bandwidth(min_run_time, args.device)
    print(
        f"SimCLR views, {VIEWS} per image; img/s counts OUTPUT VIEWS per second. "
        f"threads={torch.get_num_threads()}\n"
        f"GB/s = views × C·h·w × (4 B written + 1 B read) / time (an ideal single pass); "
        f"%copy = that / {copy_gbps:.1f} GB/s, a 256 MiB float32 copy (read + written) timed now\n"
        "x kornia, x torch = their time / this one's (> 1: this one is faster)"
    )
    header = (
        f"{'config':>9} {'contender':>9} {'views':>6} {'ms':>9} {'img/s':>9} {'GB/s':>6} "
        f"{'%copy':>6} {'x kornia':>9} {'x torch':>8}"
    )
    print(header)
    records, unavailable = [], {}
    for name in names:
        n, size = CONFIGS[name]
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
        images = images.to(args.device)
        spec = ViewSpec.simclr(size, strength=0.5)
        params = sample_view_params(
            spec, images.shape, views=VIEWS, generator=g, device=args.device
        )
        views = len(params)
        traffic = views * 3 * size * size * (4 + 1)
        times, load = {}, OtherLoad()
        for contender, fn in contenders(images, spec, params).items():
            if isinstance(fn, str):
                unavailable[contender] = fn
                print(f"{name:>9} {contender:>9}: not available ({fn})")
            else:
                times[contender] = median_seconds(fn, min_run_time)
        others = load.fraction()
        for contender, seconds in times.items():
            ratios = {
                other: times[other] / seconds for other in ("kornia", "torch") if other in times
            }
            record = {
                "config": name,
                "contender": contender,
                "batch": n,
                "size": size,
                "views": views,
                "ms": seconds * 1e3,
                "img_per_s": views / seconds,
                "gb_per_s": traffic / seconds / 1e9,
                "fraction_of_copy": traffic / seconds / 1e9 / copy_gbps,
                **{f"speedup_vs_{other}": r for other, r in ratios.items()},
                "threads": torch.get_num_threads(),
                "other_processes_cpu": others,
            }
            records.append(record)
            print(
                f"{name:>9} {contender:>9} {views:>6} {record['ms']:>9.1f} "
                f"{record['img_per_s']:>9,.0f} {record['gb_per_s']:>6.2f} "
                f"{100 * record['fraction_of_copy']:>5.1f}% "
                + " ".join(
                    f"{ratios[o]:>{w - 1}.2f}x" if o in ratios else " " * w
                    for o, w in (("kornia", 9), ("torch", 8))
                )
            )
        if others is not None and others > 0.05:
            print(
                f"{name:>9} warning: other processes used {100 * others:.0f}% of the CPUs "
                "meanwhile; the ratios are skewed (see OtherLoad), rerun when idle"
            )
    meta = metadata(args.device) | {
        "copy_gb_per_s": copy_gbps,
        "min_run_time": min_run_time,
        "views_per_image": VIEWS,
        "input": "seeded random uint8 bytes",
        "unavailable": unavailable,
    }
    dump(args.json, {"benchmark": "augment", "meta": meta, "records": records})


if __name__ == "__main__":
    main()
