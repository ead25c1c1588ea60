"""Time and memory of one NT-Xent forward + backward step, one size and contender per process.

Each measurement runs in a fresh ``python -m sslcore.info_nce_timing N D CONTENDER`` so that its
peak memory is its own. The peak is read from VmHWM (/proc/self/status), reset through
/proc/self/clear_refs once the inputs exist: ``getrusage().ru_maxrss`` cannot be reset and, on
Linux, starts at the RSS of the process that spawned us (exec keeps the old image's high-water
mark), so it is only the fallback where clear_refs is refused. Linux only (/proc). On a CUDA
device the memory is the device's: the peak allocated by torch over the inputs' allocation.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

__all__ = [
    "CONTENDERS",
    "dense_logits_bytes",
    "measure_in_subprocess",
    "mem_available_bytes",
    "step_flops",
]

CONTENDERS = ("sslcore", "torch")
MIB = 2**20


def step_flops(n: int, d: int, contender: str) -> float:
    """FLOPs one forward + backward step performs on M = 2n rows of dimension d.

    A multiply-add counts as 2 (a GEMM of M × D by D × M is 2·M²·D). ``torch`` runs 3 GEMMs (the
    logits, then z's gradient from both sides of the logit matrix): 6·M²·D. ``sslcore`` uses the
    symmetry of the similarity matrix, computing each tile once: M²·D forward, 3·M²·D backward
    (the tile recomputed, then its gradient applied to both blocks): 4·M²·D.
    """
    if contender not in CONTENDERS:
        raise ValueError(f"contender: expected one of {CONTENDERS}, got {contender!r}")
    m = 2 * n
    return (4.0 if contender == "sslcore" else 6.0) * m * m * d


def dense_logits_bytes(n: int) -> int:
    """What the torch contender holds at its peak: ~4.5 float32 (2n × 2n) matrices."""
    return int(4.5 * (2 * n) ** 2 * 4)


def mem_available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _empty_record(n, d, contender, threads, temperature, repeats) -> dict[str, Any]:
    keys = ("ms", "peak_mb", "rss_mb", "gflops", "loss", "peak_from", "error")
    return {
        "N": n,
        "D": d,
        "contender": contender,
        "threads": threads,
        "temperature": temperature,
        "repeats": repeats,
        "gflop": step_flops(n, d, contender) / 1e9,
    } | dict.fromkeys(keys)


def _check_args(n, d, contender, threads, temperature, repeats) -> None:
    for name, value in (("n", n), ("d", d), ("threads", threads), ("repeats", repeats)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    if contender not in CONTENDERS:
        raise ValueError(f"contender: expected one of {CONTENDERS}, got {contender!r}")
    if not isinstance(temperature, (int, float)) or not 0 < temperature < math.inf:
        raise ValueError(f"temperature: expected a finite value > 0, got {temperature!r}")


def measure_in_subprocess(
    n: int,
    d: int = 128,
    contender: str = "sslcore",
    *,
    threads: int = 2,
    temperature: float = 0.1,
    repeats: int = 3,
    timeout: float = 900.0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Median time and added peak memory of one step of the NT-Xent loss, in a fresh process.

    Args:
        n: pairs of embeddings; the loss has M = 2n rows.
        d: embedding dimension D.
        contender: ``"sslcore"`` (ops.info_nce) or ``"torch"`` (ops.reference_info_nce).
        threads: torch.set_num_threads (and OMP_NUM_THREADS) in the subprocess.
        temperature: τ > 0.
        repeats: timed steps after one warm-up; ``ms`` is their median.
        timeout: seconds before the subprocess is killed.
        device: ``"cpu"`` or ``"cuda"`` (then peak_mb and rss_mb are device memory).

    Returns:
        N, D, contender, threads, temperature, repeats, ms, peak_mb (peak RSS the step adds over
        the process with torch imported and its (n, d) float32 inputs made), rss_mb (the process's
        peak), gflop (step_flops / 1e9), gflops, loss, peak_from and error: None, or one line
        saying why there are no numbers (timeout, nonzero exit, signal, out of memory).
    """
    _check_args(n, d, contender, threads, temperature, repeats)
    if not timeout > 0:
        raise ValueError(f"timeout: expected a value > 0, got {timeout!r}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    record = _empty_record(n, d, contender, threads, temperature, repeats)
    available = mem_available_bytes()
    too_big = available is not None and dense_logits_bytes(n) > 0.8 * available
    if contender == "torch" and device == "cpu" and too_big:  # a GPU's OOM is a clean error
        need, have = dense_logits_bytes(n) / 1e9, available / 1e9
        error = f"out of memory: the dense logits need ~{need:.1f} GB, {have:.1f} GB available"
        return record | {"error": error}
    command = [sys.executable, "-m", "sslcore.info_nce_timing", str(n), str(d), contender]
    command += [f"--threads={threads}", f"--temperature={temperature!r}", f"--repeats={repeats}"]
    command += [f"--device={device}"]
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return record | {"error": f"timeout: no result after {timeout:g} s"}
    last = (done.stderr.strip().splitlines() or ["no stderr"])[-1].strip()
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        why = " (out of memory?)" if done.returncode == -signal.SIGKILL else ""
        return record | {"error": f"killed by {name}{why}: {last}"}
    if done.returncode != 0:
        oom = "out of memory: " if "memory" in last.lower() else ""
        return record | {"error": f"{oom}exit {done.returncode}: {last}"}
    try:
        return record | json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return record | {"error": f"no JSON result on stdout: {last}"}


def _status_bytes(field: str) -> int | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def _run_steps(n, d, contender, threads, temperature, repeats, device="cpu") -> dict[str, Any]:
    """The measurement itself, in this (fresh) process."""
    import torch
    import torch.nn.functional as F

    from sslcore import ops

    torch.set_num_threads(threads)
    loss_fn = ops.info_nce if contender == "sslcore" else ops.reference_info_nce
    g = torch.Generator().manual_seed(0)

    def inputs(rows: int) -> list[torch.Tensor]:  # two (rows, d) unit-norm float32 leaves
        return [
            F.normalize(torch.randn(rows, d, generator=g), dim=1).to(device).requires_grad_()
            for _ in "ab"
        ]

    def step(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        z_a.grad = z_b.grad = None  # the gradients' memory is part of the step
        loss = loss_fn(z_a, z_b, temperature)
        loss.backward()
        return loss

    step(*inputs(2))  # loads the kernels, starts the thread pool: one-time RSS, not the step's
    z_a, z_b = inputs(n)
    gc.collect()
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm") as f:
        baseline = int(f.read().split()[1]) * page
    start_hwm = _status_bytes("VmHWM") or 0
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        peak_from = "VmHWM"
    except OSError:
        peak_from = "ru_maxrss"
    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        device_base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    step(z_a, z_b)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss = step(z_a, z_b)
        if cuda:
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    if cuda:
        peak_from, peak = "cuda.max_memory_allocated", torch.cuda.max_memory_allocated()
        baseline, start_hwm = device_base, 0
    elif peak_from == "VmHWM":
        peak = _status_bytes("VmHWM") or 0
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    median = statistics.median(seconds)
    record = _empty_record(n, d, contender, threads, temperature, repeats)
    return record | {
        "ms": median * 1e3,
        "peak_mb": max(0, peak - baseline) / MIB,
        "rss_mb": max(peak, start_hwm) / MIB,
        "gflops": record["gflop"] / median,
        "loss": loss.item(),
        "peak_from": peak_from,
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m sslcore.info_nce_timing N D CONTENDER``: prints the record as one JSON line."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("n", type=int)
    parser.add_argument("d", type=int)
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    try:
        _check_args(args.n, args.d, args.contender, args.threads, args.temperature, args.repeats)
    except ValueError as error:
        parser.error(str(error))
    record = _run_steps(
        args.n, args.d, args.contender, args.threads, args.temperature, args.repeats, args.device
    )
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
