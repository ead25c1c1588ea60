"""How fast the CLI answers: each command's ``--help`` beside ``python -c "import torch"``.

Every contender is a fresh process (what a user waits for), timed wall-clock; the rounds
interleave the contenders so a noisy machine slows all of them alike, after one warm-up round
that fills the page cache. Target: every ``--help`` under a quarter of the torch import.

    python -m benchmarks.bench_cli [--repeat 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.common import dump, metadata

TARGET = 0.25  # --help time / torch import time


def commands() -> list[list[str]]:
    """Every CLI command line whose --help is timed: the top level, then each subcommand."""
    from sslcore.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    return [[]] + [[name] for name in sub.choices] + [["data", "show"]]


def wall_seconds(argv: list[str]) -> float:
    """Wall time of one run of `argv` to its exit (which must be 0)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds (median reported)")
    parser.add_argument("--json", metavar="FILE", help="write the results here")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    contenders = {"import torch": [sys.executable, "-c", "import torch"]}
    for command in commands():
        contenders[" ".join(["sslcore", *command, "--help"])] = [
            sys.executable, "-m", "sslcore", *command, "--help"
        ]  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(args.repeat + 1):
        for name, argv in contenders.items():
            seconds = wall_seconds(argv)
            if round_ > 0:  # round 0 warms the page cache
                times[name].append(seconds)

    torch_s = statistics.median(times["import torch"])
    rows = []
    print(f"{'command':<34} {'median ms':>10} {'min ms':>8} {'× import torch':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        row = {
            "command": name,
            "median_ms": round(median * 1e3, 1),
            "min_ms": round(min(values) * 1e3, 1),
            "ratio_to_torch_import": round(median / torch_s, 3),
        }
        rows.append(row)
        print(
            f"{name:<34} {row['median_ms']:>10.1f} {row['min_ms']:>8.1f} "
            f"{row['ratio_to_torch_import']:>15.3f}"
        )
    worst = max(r["ratio_to_torch_import"] for r in rows if r["command"] != "import torch")
    verdict = "meets" if worst < TARGET else "MISSES"
    print(f"slowest --help / import torch = {worst:.3f} ({verdict} the target < {TARGET})")
    dump(
        args.json,
        {
            "benchmark": "cli",
            "meta": metadata("cpu") | {"repeat": args.repeat},
            "records": rows,
            "worst_ratio": worst,
            "target": TARGET,
        },
    )


if __name__ == "__main__":
    main()
