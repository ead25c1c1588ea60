"""The CLI's sharing commands: a run's HTML report, its bundle zip, importing a bundle."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_share_commands"]


def _cmd_export(args: argparse.Namespace) -> int:
    from sslcore.bundles import export_run
    from sslcore.runs import RunStore

    run = RunStore(args.store).open(args.run)
    path = export_run(run, args.out or f"{run.id}.zip")
    print(json.dumps({"run": run.id, "bundle": str(path), "bytes": path.stat().st_size}))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from sslcore.bundles import import_run
    from sslcore.runs import RunStore

    run = import_run(args.bundle, RunStore(args.out))
    print(json.dumps({"run": run.id, "path": str(run.path)}))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sslcore.report import write_report
    from sslcore.runs import RunStore

    run = RunStore(args.store).open(args.run)
    out = args.out or f"{run.id}-report.html"
    size = write_report(
        run, out, include_embeddings=not args.no_embeddings, benchmark=args.benchmark
    )
    print(json.dumps({"run": run.id, "report": str(out), "bytes": size}))
    return 0


def add_share_commands(sub: argparse._SubParsersAction) -> None:
    """Adds ``report``, ``export`` and ``import`` to the CLI's subcommands."""
    p = sub.add_parser("report", help="a run as one self-contained HTML file")
    p.add_argument("run", help="run id (see `sslcore runs`) or path")
    p.add_argument("--out", help="the HTML file to write (default RUN-report.html)")
    p.add_argument("--store", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--benchmark", help="a benchmark JSON to include (e.g. bench_info_nce --json)")
    p.add_argument("--no-embeddings", action="store_true", help="skip the embedding maps")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "export",
        help="a run as a bundle zip (records + final checkpoint, with SHA-256 digests that "
        "detect damage, not a signature)",
    )
    p.add_argument("run", help="run id (see `sslcore runs`) or path")
    p.add_argument("--out", help="the zip to write (default RUN.zip)")
    p.add_argument("--store", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "import",
        help="validate a bundle zip record by record and add its run to the store (a run on "
        "data other than an embedded dataset is marked 'data not included')",
    )
    p.add_argument("bundle", help="a zip written by `sslcore export`")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.set_defaults(func=_cmd_import)
