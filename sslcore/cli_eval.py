"""The CLI's evaluation commands: embed, landscape and transfer.

``embed``: a checkpoint's embedding space (weighted kNN, collapse metrics, a 2-D map);
``landscape``: L_pre on a plane through a run with its path (written into the run);
``transfer``: L_pre against L*_adapt for every checkpoint of one or more runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sslcore.config import PROJECTION_METHODS

__all__ = ["add_eval_commands"]


def _cmd_embed(args: argparse.Namespace) -> int:
    from sslcore.eval import collapse_metrics, project, run_features, weighted_knn
    from sslcore.runs import RunStore, atomic_write_text

    run = RunStore(args.out).open(args.run)
    step = args.step
    train = run_features(run, "target_train", step, args.max_samples)
    test = run_features(run, "target_test", step, args.max_samples)
    report = {"run": run.id, "task": run.config.task, "step": test.step}
    report["knn_accuracy"] = weighted_knn(
        train.features, train.labels, test.features, test.labels, args.k, args.temperature
    )
    report |= collapse_metrics(test)
    if args.points:
        projection = project(test, args.method, seed=run.config.seed)
        points = {
            "method": projection.method,
            "explained_variance_ratio": None
            if projection.explained_variance_ratio is None
            else projection.explained_variance_ratio.tolist(),
            "params": projection.params,
            "points": projection.points.tolist(),
            "labels": test.labels.tolist(),
            "class_names": test.class_names,
            "indices": test.indices.tolist(),
        }
        atomic_write_text(Path(args.points), json.dumps(points))
        report["points_file"] = args.points
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{run.id} ({report['task']}), step {report['step']}, target test split:")
    for key, value in report.items():
        if key not in ("run", "task", "step") and value is not None:
            print(
                f"  {key:<16} {value:.4f}" if isinstance(value, float) else f"  {key:<16} {value}"
            )
    return 0


def _cmd_landscape(args: argparse.Namespace) -> int:
    import numpy as np

    from sslcore.landscape.runs import run_landscape, save_landscape
    from sslcore.runs import RunStore

    run = RunStore(args.out).open(args.run)
    span = None
    if args.span is not None:
        low, _, high = args.span.partition(",")
        try:
            span = (float(low), float(high))
        except ValueError:
            raise ValueError(f"--span: expected LOW,HIGH, got {args.span!r}") from None
    result = run_landscape(run, args.plane, args.resolution, span, args.batches, args.seed)
    name = save_landscape(run, result)
    loss = np.asarray(result["loss"])
    summary = {
        "run": run.id,
        "file": str(run.path / name),
        "plane": result["plane"],
        "resolution": result["resolution"],
        "path": result["path"],
        "seconds": round(result["seconds"], 1),
        "explained_variance_ratio": result["explained_variance_ratio"],
        "loss_min": float(loss.min()),
        "loss_max": float(loss.max()),
    }
    print(json.dumps(summary))
    return 0


def _cmd_transfer(args: argparse.Namespace) -> int:
    from sslcore.eval.transfer import compare_runs, pooled_correlation, transfer_table
    from sslcore.runs import RunStore

    store = RunStore(args.out)
    runs = [store.open(name) for name in args.runs]  # every name checked before any work
    tables = {}
    for run in runs:
        if not args.json:
            print(f"{run.id} ({run.config.task})")
        tables[run.id] = transfer_table(run, batches=args.batches, progress=not args.json)
    summary = compare_runs(tables)
    pooled = pooled_correlation(tables) if len(tables) > 1 else None
    if args.json:
        print(json.dumps({"tables": tables, "summary": summary, "pooled_spearman": pooled}))
        return 0
    print()
    for r in summary:
        rho = "n/a (fewer than 3 checkpoints)" if r["spearman"] is None else f"{r['spearman']:+.2f}"
        print(
            f"{r['run']}: Spearman ρ(L_pre, L*_adapt) across {r['checkpoints']} checkpoints = "
            f"{rho}; final L*_adapt {r['final_adapt_loss']:.3f} (rank {r['adapt_rank']} of "
            f"{len(summary)}), accuracy {r['final_accuracy']:.3f}"
        )
        if r["breaks"]:
            print(f"  {r['breaks']}")
    if pooled is not None:
        print(
            f"Across the {len(tables)} runs (L_pre rescaled within each run): Spearman ρ = "
            f"{pooled:+.2f}"
        )
    return 0


def add_eval_commands(sub: argparse._SubParsersAction) -> None:
    """Adds ``embed``, ``landscape`` and ``transfer`` to the CLI's subcommands."""
    p = sub.add_parser("embed", help="kNN accuracy, collapse metrics and a 2-D map of a run")
    p.add_argument("run", help="run id (see `sslcore runs`) or path")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--step", type=int, help="checkpoint step (default the last; 0 = random init)")
    p.add_argument("--max-samples", type=int, help="at most this many samples per split")
    p.add_argument("--k", type=int, default=200, help="kNN neighbours (Wu et al. 2018: 200)")
    p.add_argument("--temperature", type=float, default=0.07, help="kNN vote temperature")
    p.add_argument("--method", choices=PROJECTION_METHODS, default="pca", help="2-D projection")
    p.add_argument("--points", metavar="FILE", help="write the 2-D points as JSON here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_embed)

    p = sub.add_parser("landscape", help="L_pre on a plane through a run, its path drawn in")
    p.add_argument("run", help="run id (see `sslcore runs`) or path")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--plane", choices=("pca", "random"), default="pca")
    p.add_argument("--resolution", type=int, default=21, help="grid points per axis")
    p.add_argument("--span", help="LOW,HIGH of both axes (default: the path's extent)")
    p.add_argument("--batches", type=int, default=1, help="pretext batches per grid point")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_landscape)

    p = sub.add_parser(
        "transfer", help="L_pre vs L*_adapt for every checkpoint of one or more runs"
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run ids (see `sslcore runs`) or paths")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--batches", type=int, default=8, help="pretext batches averaged for L_pre")
    p.add_argument("--json", action="store_true", help="print the tables and summary as JSON")
    p.set_defaults(func=_cmd_transfer)
