"""Does pretraining help? Each pretext task's encoder against honest baselines, with error bars.

python -m benchmarks.bench_ssl [--quick | --full] [--json PATH] [--datasets digits,shapes,wine]
                               [--tasks contrastive,rotation,...] [--protocol in_domain|transfer]
                               [--seeds N] [--draws N] [--minutes M | --steps N] [--device cpu]
                               [--set FIELD=JSON ...] [--no-baselines]

For every dataset, every pretext task that fits its modality is pretrained with the dataset's
tuned defaults (``sslcore.config.DATASET_DEFAULTS``: two minutes of wall clock on digits) under
the protocol (in-domain by default: pretrain on the train split without labels, draw the labels
from it, test on a fixed held-out split), once per pretraining seed. Its encoder θ* is then
adapted at 1 %, 10 % and 100 % of the labels: a linear probe and kNN, each over ``--draws``
stratified label draws (seeds 0 … draws − 1, the same draws for every method).

Baselines on the same draws: ``raw`` (the inputs themselves + the same logistic regression),
``random_init`` (the encoder untrained + probe / kNN) and ``supervised`` (the same encoder
trained from scratch on the labels, with augmentation, mode ``scratch``).

JSON ``{"meta": {...}, "records": [...], "paired": [...]}``. A record per (dataset, pretext,
mode, label fraction): ``dataset, protocol, pretext, mode, label_fraction, labels, accuracy``
(the mean over seeds × draws), ``accuracy_std, accuracy_min, accuracy_max, draws, seeds,
pretrain_seconds``, ``pretrain_steps`` (per seed: a time budget's steps depend on the machine's
speed) and ``accuracies`` (per draw, averaged over seeds). ``paired``: every
pretext's linear probe minus the supervised baseline on the same draws (mean, std, min, max,
and on how many draws the pretext wins).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import dump, metadata
from sslcore.config import PROTOCOLS, PretrainConfig
from sslcore.data import load_dataset
from sslcore.eval.few_label import accuracy_summary, few_label_accuracy, paired_difference
from sslcore.pretext import tasks_for
from sslcore.pretext.base import to_model_input
from sslcore.runs import RunStore
from sslcore.train.adapt import adapt
from sslcore.train.pretrain import build, pretrain

FRACTIONS = (0.01, 0.1, 1.0)
DATASETS = ("digits", "shapes", "wine")
PROBES = ("linear", "knn")


def _config(dataset: str, task: str, protocol: str, seed: int, budget: dict) -> PretrainConfig:
    """The dataset's tuned config for `task`, with the protocol, seed and any overrides."""
    values: dict[str, Any] = {"task": task, "data": dataset, "protocol": protocol, "seed": seed}
    values |= budget.get("set", {})
    if "steps" in budget:
        steps = budget["steps"]
        values |= {"steps": steps, "eval_every": steps, "checkpoint_every": steps}
    if "minutes" in budget:
        values |= {"minutes": budget["minutes"], "eval_every": 10_000}
    return PretrainConfig(**values, device=budget.get("device", "cpu"))


def _record(
    dataset: str,
    protocol: str,
    pretext: str,
    mode: str,
    fraction: float,
    labels: int,
    per_seed: list[list[float]],
    seconds: list[float],
    steps: list[int] | None = None,
) -> dict[str, Any]:
    """The summary of `per_seed[seed][draw]` accuracies, pooled over seeds × draws.

    ``accuracies`` holds each draw's mean over the seeds: the draws pair with the baselines'.
    """
    pooled = np.asarray(per_seed, dtype=np.float64)
    return (
        {
            "dataset": dataset,
            "protocol": protocol,
            "pretext": pretext,
            "mode": mode,
            "label_fraction": fraction,
            "labels": labels,
            "draws": pooled.shape[1],
            "seeds": pooled.shape[0],
            "pretrain_seconds": float(np.mean(seconds)) if seconds else 0.0,
            # under a time budget the steps done depend on the machine's speed: recorded
            "pretrain_steps": [int(s) for s in steps] if steps else None,
        }
        | accuracy_summary(pooled.ravel())
        | {"accuracies": pooled.mean(axis=0).tolist()}
    )


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``FIELD=JSON`` pairs as config values (a bare word is a string)."""
    import dataclasses
    import json

    fields = {f.name for f in dataclasses.fields(PretrainConfig)}
    fields -= {"task", "data", "seed", "protocol", "device"}  # bench_ssl's own flags
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in fields:
            raise ValueError(f"expected FIELD=JSON, FIELD one of {sorted(fields)}; got {pair!r}")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    return values


def _raw_features(x: torch.Tensor) -> np.ndarray:
    """The inputs as flat feature vectors on the encoder's input scale."""
    return to_model_input(x).reshape(len(x), -1).numpy().astype(np.float32)


def baselines(dataset: str, protocol: str, draws: int, budget: dict) -> list[dict[str, Any]]:
    """Raw + logistic regression, random init + probe / kNN, supervised from scratch."""
    config = _config(dataset, _first_task(dataset), protocol, 0, budget)
    split = build(config).split
    pool, test = split.target_train, split.target_test
    train_x, test_x = _raw_features(pool.x), _raw_features(test.x)
    records = []
    for fraction in FRACTIONS:
        n = 1 if fraction == 1 else draws
        raw = few_label_accuracy(train_x, pool.y.numpy(), test_x, test.y.numpy(), fraction, draws=n)
        records.append(
            _record(dataset, protocol, "raw", "linear", fraction, raw.labels, [raw.accuracies], [])
        )
        runs = [("random_init", mode) for mode in PROBES] + [("supervised", "scratch")]
        for pretext, mode in runs:
            options = {"steps": budget["adapt_steps"]} if mode == "scratch" else {}
            r = adapt(None, mode, fraction, config=config, draws=n, **options)
            per_draw = r.get("accuracies", [r["accuracy"]])
            records.append(
                _record(dataset, protocol, pretext, mode, fraction, r["labels"], [per_draw], [])
            )
        _print(records[-4:])
    return records


def _first_task(dataset: str) -> str:
    data = load_dataset(dataset)
    return tasks_for(data.modality, data.sample_shape)[0]


def pretext_records(
    dataset: str, task: str, protocol: str, seeds: int, draws: int, budget: dict, store: RunStore
) -> list[dict[str, Any]]:
    """`task` pretrained once per seed, its linear probe and kNN at every fraction."""
    per_seed: dict[tuple[str, float], list[list[float]]] = {}
    labels: dict[float, int] = {}
    seconds, steps = [], []
    for seed in range(seeds):
        config = _config(dataset, task, protocol, seed, budget)
        began = time.perf_counter()
        run = pretrain(config, store=store, progress=False)
        seconds.append(time.perf_counter() - began)
        steps.append((run.summary() or {}).get("steps", 0))
        for fraction in FRACTIONS:
            for mode in PROBES:
                n = 1 if fraction == 1 else draws
                r = adapt(run, mode, fraction, draws=n, save=False)
                per_seed.setdefault((mode, fraction), []).append(
                    r.get("accuracies", [r["accuracy"]])
                )
                labels[fraction] = r["labels"]
    records = [
        _record(dataset, protocol, task, mode, fraction, labels[fraction], rows, seconds, steps)
        for (mode, fraction), rows in per_seed.items()
    ]
    _print(records)
    return records


def paired(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pretext's linear probe minus the supervised baseline, draw by draw."""
    supervised = {
        (r["dataset"], r["label_fraction"]): r
        for r in records
        if r["pretext"] == "supervised" and r["draws"] > 1
    }
    rows = []
    for r in records:
        base = supervised.get((r["dataset"], r["label_fraction"]))
        if base is None or r["mode"] != "linear" or r["pretext"] in ("supervised",):
            continue
        diff = paired_difference(r["accuracies"], base["accuracies"])
        rows.append(
            {
                "dataset": r["dataset"],
                "protocol": r["protocol"],
                "pretext": r["pretext"],
                "mode": "linear",
                "baseline": "supervised",
                "label_fraction": r["label_fraction"],
            }
            | diff
        )
    return rows


def _print(records: list[dict[str, Any]]) -> None:
    for r in records:
        print(
            f"{r['dataset']:>8} {r['pretext']:>18} {r['mode']:>8} {r['label_fraction']:>6.0%} "
            f"{r['labels']:>6} {100 * r['accuracy']:>6.1f} ± {100 * r['accuracy_std']:>4.1f} "
            f"{r['pretrain_seconds']:>7.0f}s",
            flush=True,
        )


def summary_table(records: list[dict[str, Any]]) -> str:
    """Markdown: linear-probe accuracy (scratch for supervised) mean ± std per fraction, and kNN."""
    head = "| dataset | pretext | pretrain s | linear 1 % | 10 % | 100 % | kNN 1 % | kNN 100 % |"
    lines = [head, "|" + "---|" * 8]
    seen: list[tuple[str, str]] = []
    for r in records:
        if (r["dataset"], r["pretext"]) not in seen:
            seen.append((r["dataset"], r["pretext"]))
    index = {(r["dataset"], r["pretext"], r["mode"], r["label_fraction"]): r for r in records}

    def cell(dataset: str, pretext: str, mode: str, fraction: float) -> str:
        r = index.get((dataset, pretext, mode, fraction))
        if r is None:
            return "–"
        if r["draws"] * r["seeds"] == 1:
            return f"{100 * r['accuracy']:.1f}"
        return f"{100 * r['accuracy']:.1f} ± {100 * r['accuracy_std']:.1f}"

    for dataset, pretext in seen:
        mode = {"supervised": "scratch"}.get(pretext, "linear")
        seconds = next(
            r["pretrain_seconds"]
            for r in records
            if (r["dataset"], r["pretext"]) == (dataset, pretext)
        )
        cells = [cell(dataset, pretext, mode, f) for f in FRACTIONS]
        cells += [cell(dataset, pretext, "knn", f) for f in (0.01, 1.0)]
        lines.append(f"| {dataset} | {pretext} | {seconds:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    size.add_argument("--full", action="store_true", help="two pretraining seeds per task")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--tasks", help="comma-separated pretext tasks (default: all that fit)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="in_domain")
    parser.add_argument("--seeds", type=int, help="pretraining seeds (default 1; --full 2)")
    parser.add_argument("--draws", type=int, help="label draws per fraction (default 10)")
    budget_group = parser.add_mutually_exclusive_group()
    budget_group.add_argument("--minutes", type=float, help="pretraining budget per run")
    budget_group.add_argument("--steps", type=int, help="pretraining steps per run")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--runs", help="run store for the pretraining runs (default: a temp dir)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="a PretrainConfig field for every run, e.g. "
        "--set task_options='{\"temperature\": 0.2}'",
    )
    parser.add_argument("--no-baselines", action="store_true", help="pretext tasks only")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    for name in ("seeds", "draws", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name}: expected an integer >= 1, got {value}")
    if args.minutes is not None and not 0 < args.minutes <= 600:
        parser.error(f"--minutes: expected a number in (0, 600], got {args.minutes}")
    seeds = args.seeds or (2 if args.full else 1)
    draws = args.draws or (2 if args.quick else 10)
    # finetune/scratch steps: None = adapt.plateau_steps (400 epochs of the labels, 400-2,400)
    budget: dict[str, Any] = {"device": args.device, "adapt_steps": 20 if args.quick else None}
    if args.steps is not None or args.quick:
        budget["steps"] = args.steps or 4
    if args.minutes is not None:
        budget["minutes"] = args.minutes
    try:
        budget["set"] = _overrides(args.set)
        for dataset in args.datasets.split(","):  # a bad field or value: one line, before any run
            _config(dataset, "contrastive", args.protocol, 0, budget)
    except (ValueError, TypeError) as error:
        parser.error(f"--set: {error}")
    store = RunStore(args.runs or tempfile.mkdtemp(prefix="bench_ssl_"))
    records: list[dict[str, Any]] = []
    for dataset in args.datasets.split(","):
        try:
            data = load_dataset(dataset)
        except (ValueError, TypeError) as error:
            parser.error(f"--datasets: {error}")
        fitting = tasks_for(data.modality, data.sample_shape)
        if args.tasks:
            wanted = args.tasks.split(",")
            unknown = [t for t in wanted if t not in fitting]
            if unknown and dataset == args.datasets.split(",")[0] and len(unknown) == len(wanted):
                parser.error(f"--tasks: {unknown} do not fit {dataset} ({data.modality})")
            fitting = [t for t in fitting if t in wanted]
        if not fitting:
            continue
        if not args.no_baselines:
            records += baselines(dataset, args.protocol, draws, budget)
        for task in fitting:
            records += pretext_records(dataset, task, args.protocol, seeds, draws, budget, store)
    pairs = paired(records)
    print("\nAccuracy on the held-out test split, % (mean ± std over seeds × label draws)")
    print(summary_table(records))
    for p in pairs:
        print(
            f"{p['dataset']} {p['pretext']} − supervised at {p['label_fraction']:.0%}: "
            f"{100 * p['mean']:+.1f} ± {100 * p['std']:.1f} points, wins {p['wins']}/{p['draws']}"
        )
    meta = metadata(args.device) | {
        "threads": torch.get_num_threads(),
        "protocol": args.protocol,
        "seeds": seeds,
        "draws": draws,
        "budget": {k: v for k, v in budget.items() if k != "device"},
        "command": "python -m benchmarks.bench_ssl " + " ".join(argv or sys.argv[1:]),
    }
    dump(args.json, {"benchmark": "ssl", "meta": meta, "records": records, "paired": pairs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
