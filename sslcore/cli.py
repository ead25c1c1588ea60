"""The `sslcore` command line (also `python -m sslcore`): one subcommand per job.

Errors a user can fix (unknown dataset, missing file, bad value) print one line to stderr and exit
with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sslcore.errors import SslcoreError

__all__ = ["build_parser", "info", "main"]

EXIT_USAGE = 2


def info() -> dict[str, Any]:
    """What `sslcore info --json` prints: versions, the extension's build, the embedded datasets."""
    import torch

    from sslcore import __version__
    from sslcore._ext import build_info
    from sslcore.data import dataset_names

    return {
        "version": __version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "extension": build_info(),
        "torch_threads": torch.get_num_threads(),
        "cuda_device": torch.cuda.is_available(),
        "datasets": dataset_names(),
    }


def _parse_option(text: str) -> tuple[str, Any]:
    """Parses KEY=VALUE, the value as int, float, true/false/none, or else a string.

    A value with commas is a list of such values: ``textures=plain,stripes``.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise ValueError(f"--opt: expected KEY=VALUE with KEY a name, got {text!r}")
    if "," in raw:
        return key, [_parse_option(f"{key}={item}")[1] for item in raw.split(",")]
    lowered = raw.lower()
    if lowered in {"true", "false"}:
        return key, lowered == "true"
    if lowered == "none":
        return key, None
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, raw


def _cmd_info(args: argparse.Namespace) -> int:
    report = info()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ext = report["extension"]
    print(f"sslcore {report['version']}  torch {report['torch']}  python {report['python']}")
    if ext["available"]:
        from sslcore._ext import cuda_build_summary

        print(
            f"extension: available (OpenMP {'on' if ext['openmp'] else 'off'}, "
            f"{ext['openmp_threads']} threads; built against torch {ext['torch_version']})"
        )
        print(f"kernels: {cuda_build_summary(ext)}")
    else:
        print(f"extension: NOT available: {ext['error']}")
    print(f"datasets: {', '.join(report['datasets'])}")
    return 0


def _cmd_data_list(args: argparse.Namespace) -> int:
    from sslcore.data import dataset_names

    names = dataset_names()
    print(json.dumps(names) if args.json else "\n".join(names))
    return 0


def _cmd_data_show(args: argparse.Namespace) -> int:
    from sslcore.data import label_subset, load_dataset, split_source_target

    options = dict(_parse_option(o) for o in args.opt)
    data = load_dataset(args.name, **options)
    report: dict[str, Any] = {"dataset": data.describe()}
    if args.split or args.label_fraction is not None:
        split = split_source_target(
            data,
            source_fraction=args.source_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
        )
        report["split"] = split.describe()
        if args.label_fraction is not None:
            few = label_subset(split.target_train, args.label_fraction, seed=args.seed)
            report["split"]["labelled"] = few.describe()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    d = report["dataset"]
    print(
        f"{d['name']}: {d['num_samples']} samples, {d['modality']}, sample shape "
        f"{tuple(d['sample_shape'])} {d['dtype']}, {d['num_classes']} classes"
    )
    width = max((len(n) for n in d["class_counts"]), default=0)
    for name, count in d["class_counts"].items():
        print(f"  {name:<{width}}  {count}")
    if "split" in report:
        for part, desc in report["split"].items():
            if isinstance(desc, dict) and "num_samples" in desc:
                print(f"{part}: {desc['num_samples']} samples")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    entry = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    if not entry.is_file():
        raise SslcoreError(f"dashboard entry {entry} not found (is this a source checkout?)")
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port: expected 1..65535, got {args.port}")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--browser.gatherUsageStats",
        "false",
    ]
    if args.headless:
        cmd += ["--server.headless", "true"]
    return subprocess.call(cmd, env=os.environ.copy())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="sslcore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="versions, the extension's build, the embedded datasets")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    data = sub.add_parser("data", help="list and inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("list", help="the embedded dataset names")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_data_list)
    p = data_sub.add_parser("show", help="size, counts per class and shapes of a dataset")
    p.add_argument("name", help="an embedded dataset name or a path (folder, CIFAR, .npz, .csv)")
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="loader option, e.g. --opt n=2000 --opt size=64 (repeatable)",
    )
    p.add_argument("--split", action="store_true", help="also show the source/target split")
    p.add_argument(
        "--source-fraction",
        type=float,
        default=0.5,
        metavar="F",
        help="unlabeled source share of the data (default 0.5)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="test share of the labeled target (default 0.2)",
    )
    p.add_argument(
        "--label-fraction",
        type=float,
        default=None,
        metavar="F",
        help="also show the stratified subset of target-train labels, F in (0, 1]",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_data_show)

    from sslcore.cli_runs import add_run_commands

    add_run_commands(sub)

    from sslcore.cli_eval import add_eval_commands
    from sslcore.cli_share import add_share_commands

    add_eval_commands(sub)
    add_share_commands(sub)

    p = sub.add_parser("dashboard", help="start the Streamlit dashboard")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="localhost")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=_cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 with a one-line message on a user error)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (SslcoreError, ValueError, TypeError, OSError) as exc:
        print(f"sslcore: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
