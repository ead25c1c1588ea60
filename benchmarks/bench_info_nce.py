"""NT-Xent (SimCLR) loss, forward + backward: the tiled sslcore.ops.info_nce vs the dense logits.

python -m benchmarks.bench_info_nce [--quick] [--json PATH] [--threads 2] [--sizes 256,1024,...]
    [--dim 128]

Each size N is 2 × (N, D) unit-norm random float32 embeddings with requires_grad (M = 2N rows of
the loss, τ = 0.1). ``sslcore`` is ops.info_nce (tiles, O(N·D) memory); ``torch`` is
ops.reference_info_nce (the 2N × 2N logits, then cross_entropy, as lightly and solo-learn compute
it). Every size and contender runs in its own subprocess (sslcore.info_nce_timing), so peak_mb is
the memory that contender's step adds over a process holding torch and the inputs; the torch
contender is skipped where its dense matrices would not fit in memory.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch

from benchmarks.bench_augment import OtherLoad
from benchmarks.common import dump, median_seconds, metadata
from sslcore.info_nce_timing import CONTENDERS, measure_in_subprocess

SIZES = (256, 1024, 4096, 8192, 16384, 32768)
QUICK_SIZES = (256, 1024)
MATMUL_SIZE = 4096
TEMPERATURE = 0.1


def matmul_gflops(min_run_time: float, size: int, device: str = "cpu") -> float:
    """GFLOP/s of a float32 ``torch.mm`` of size × size matrices (2·size³ FLOPs), median timing."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=g), torch.randn(size, size, generator=g)
    a, b = a.to(device), b.to(device)
    out = torch.empty(size, size, device=device)
    seconds = median_seconds(lambda: torch.mm(a, b, out=out), min_run_time)
    return 2 * size**3 / seconds / 1e9


class OtherLoadBesidesChildren(OtherLoad):
    """OtherLoad, not counting the CPU time of our (waited-for) measuring subprocesses."""

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        read = OtherLoad._read()
        if read is None:
            return None
        times = os.times()
        return read[0], read[1], read[2] + times.children_user + times.children_system


def positive_int(text: str) -> int:
    """An integer >= 1 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def size_list(text: str) -> list[int]:
    """Comma-separated integers >= 1 (an argparse type)."""
    sizes = [positive_int(s.strip()) for s in text.split(",") if s.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 1, got {text!r}")
    return sizes


def ratio(num: float | None, den: float | None) -> float | None:
    """The quotient num / den, or None when either is missing or den is not positive."""
    return num / den if num is not None and den is not None and den > 0 else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 256, 1024; one timed step each")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch threads (2)")
    parser.add_argument("--sizes", type=size_list, help="comma-separated N (pairs per batch)")
    parser.add_argument("--dim", type=positive_int, default=128, help="embedding dimension D")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (default)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    sizes = args.sizes or list(QUICK_SIZES if args.quick else SIZES)
    repeats = 1 if args.quick else 3
    torch.set_num_threads(args.threads)

    mm_gflops = matmul_gflops(0.2 if args.quick else 2.0, MATMUL_SIZE, args.device)
    print(
        f"NT-Xent forward + backward, D = {args.dim}, M = 2N rows, threads={args.threads}, "
        f"median of {repeats} step(s) after a warm-up, each size and contender in a fresh process\n"
        "GFLOP/s = the FLOPs each contender performs (2 per multiply-add; torch 6·M²·D, sslcore "
        "4·M²·D by symmetry) / time; "
        f"%mm = that / {mm_gflops:.0f} GFLOP/s, a {MATMUL_SIZE}² float32 torch.mm timed now\n"
        "peak_mb = peak RSS the step adds over torch + inputs; rss_mb = the process's peak; "
        "x time, x mem = torch's / sslcore's (> 1: sslcore is faster, smaller)"
    )
    print(
        f"{'N':>6} {'contender':>9} {'ms':>10} {'peak_mb':>9} {'rss_mb':>8} {'GFLOP/s':>8} "
        f"{'%mm':>6} {'x time':>7} {'x mem':>7}"
    )
    records: list[dict[str, Any]] = []
    ratios: list[dict[str, Any]] = []
    for n in sizes:
        by_name, load = {}, OtherLoadBesidesChildren()
        for contender in CONTENDERS:
            record = measure_in_subprocess(
                n,
                args.dim,
                contender,
                threads=args.threads,
                temperature=TEMPERATURE,
                repeats=repeats,
                device=args.device,
            )
            records.append(record)
            by_name[contender] = record
        ours, theirs = by_name["sslcore"], by_name["torch"]
        speedup = ratio(theirs["ms"], ours["ms"])
        memory = ratio(theirs["peak_mb"], ours["peak_mb"])
        others = load.fraction()
        ratios.append(
            {
                "N": n,
                "speedup_vs_torch": speedup,
                "memory_vs_torch": memory,
                "other_processes_cpu": others,
            }
        )
        for contender, r in by_name.items():
            if r["error"]:
                print(f"{n:>6} {contender:>9}: {r['error']}", flush=True)
                continue
            extra = ""
            if contender == "sslcore":
                extra = " ".join(
                    f"{v:>6.2f}x" if v is not None else f"{'-':>7}" for v in (speedup, memory)
                )
            print(
                f"{n:>6} {contender:>9} {r['ms']:>10.1f} {r['peak_mb']:>9.1f} {r['rss_mb']:>8.0f} "
                f"{r['gflops']:>8.1f} {100 * r['gflops'] / mm_gflops:>5.1f}% {extra}".rstrip(),
                flush=True,
            )
        if others is not None and others > 0.05:
            print(
                f"{n:>6} warning: other processes used {100 * others:.0f}% of the CPUs "
                "meanwhile; times and x time are skewed (see OtherLoad), rerun when idle",
                flush=True,
            )
    meta = metadata(args.device) | {
        "matmul_gflops": mm_gflops,
        "matmul_size": MATMUL_SIZE,
        "dim": args.dim,
        "repeats": repeats,
        "temperature": TEMPERATURE,
        "input": "seeded random normal rows, L2-normalised, float32, requires_grad",
    }
    dump(args.json, {"benchmark": "info_nce", "meta": meta, "records": records, "ratios": ratios})


if __name__ == "__main__":
    main()
