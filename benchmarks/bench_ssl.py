"""Does pretraining help? Each pretext task's encoder against random init and supervised scratch.

python -m benchmarks.bench_ssl [--quick] [--json PATH] [--datasets shapes,digits,wine]
                               [--tasks contrastive,rotation,...] [--steps N] [--device cpu]

For every dataset, every pretext task that fits its modality is pretrained on the unlabeled source
split with the default config (``--steps`` overrides the budget), then adapted to the labeled
target split at 1 %, 10 % and 100 % of its labels: a linear probe and kNN on θ*. The same probes
on a random-init encoder (``random_init``) and the same encoder trained from scratch on the labels
(``supervised``, mode ``scratch``, with fine-tuning's budget) are the baselines. Accuracy is on the
held-out target test split. JSON: ``{"meta": {...}, "records": [...]}``, one record per
(dataset, pretext, mode, label fraction).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch

from benchmarks.common import dump, metadata
from sslcore.config import PretrainConfig
from sslcore.data import load_dataset
from sslcore.pretext import tasks_for
from sslcore.runs import RunStore
from sslcore.train.adapt import adapt
from sslcore.train.pretrain import pretrain

FRACTIONS = (0.01, 0.1, 1.0)
DATASETS = ("shapes", "digits", "wine")
# Per dataset: PretrainConfig fields that differ from the defaults. The small tables keep half of
# their rows for the labeled target, half of that for testing, so the test split is not a handful.
SETTINGS: dict[str, dict[str, Any]] = {
    "shapes": {},
    "digits": {},
    "wine": {"source_fraction": 0.5, "test_fraction": 0.5},
    "breast_cancer": {"source_fraction": 0.5, "test_fraction": 0.5},
}


def _config(dataset: str, task: str, steps: int | None, device: str) -> PretrainConfig:
    values: dict[str, Any] = {"task": task, "data": dataset, "device": device}
    values |= {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in SETTINGS.get(dataset, {}).items()
    }
    if steps is not None:
        values |= {"steps": steps, "eval_every": max(1, steps), "checkpoint_every": max(1, steps)}
    return PretrainConfig(**values)


def _record(dataset: str, pretext: str, result: dict[str, Any], extra: dict[str, Any]) -> dict:
    return {
        "dataset": dataset,
        "pretext": pretext,
        "mode": result["mode"],
        "label_fraction": result["label_fraction"],
        "labels": result["labels"],
        "accuracy": result["accuracy"],
        "test_loss": result["test_loss"],
        "seconds": result["seconds"],
    } | extra


def run_dataset(
    dataset: str, tasks: list[str], steps: int | None, store: RunStore, device: str, quick: bool
) -> list[dict[str, Any]]:
    """Every record of one dataset: baselines first, then each pretext task."""
    records: list[dict[str, Any]] = []
    base = _config(dataset, tasks[0], steps, device)
    adapt_steps = 20 if quick else 300
    for fraction in FRACTIONS:
        for mode in ("linear", "knn"):
            result = adapt(None, mode, fraction, config=base)
            records.append(_record(dataset, "random_init", result, {"pretrain_seconds": 0.0}))
        result = adapt(None, "scratch", fraction, config=base, steps=adapt_steps)
        records.append(_record(dataset, "supervised", result, {"pretrain_seconds": 0.0}))
        _print(records[-3:])
    for task in tasks:
        config = _config(dataset, task, steps, device)
        began = time.perf_counter()
        run = pretrain(config, store=store, progress=False)
        seconds = time.perf_counter() - began
        final = run.metrics()[-1]
        extra = {"pretrain_seconds": seconds, "final_pretext_loss": final["loss"], "run": run.id}
        for fraction in FRACTIONS:
            for mode in ("linear", "knn"):
                result = adapt(run, mode, fraction, save=False)
                records.append(_record(dataset, task, result, extra))
            _print(records[-2:])
    return records


def _print(records: list[dict[str, Any]]) -> None:
    for r in records:
        print(
            f"{r['dataset']:>10} {r['pretext']:>18} {r['mode']:>8} {r['label_fraction']:>6.0%} "
            f"{r['accuracy']:>8.3f} {r['pretrain_seconds']:>9.0f}s",
            flush=True,
        )


def summary_table(records: list[dict[str, Any]]) -> str:
    """Linear-probe accuracy (scratch for the supervised row) per dataset × pretext × fraction."""
    lines = [f"{'dataset':>10} {'pretext':>18} " + " ".join(f"{f:>7.0%}" for f in FRACTIONS)]
    seen = []
    for r in records:
        key = (r["dataset"], r["pretext"])
        if key not in seen:
            seen.append(key)
    for dataset, pretext in seen:
        mode = "scratch" if pretext == "supervised" else "linear"
        cells = []
        for fraction in FRACTIONS:
            match = [
                r["accuracy"]
                for r in records
                if (r["dataset"], r["pretext"], r["mode"], r["label_fraction"])
                == (dataset, pretext, mode, fraction)
            ]
            cells.append(f"{match[0]:>7.3f}" if match else f"{'-':>7}")
        lines.append(f"{dataset:>10} {pretext:>18} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--tasks", help="comma-separated pretext tasks (default: all that fit)")
    parser.add_argument("--steps", type=int, help="pretraining steps (default: the config's)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--runs", help="run store for the pretraining runs (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps: expected an integer >= 1, got {args.steps}")
    steps = 20 if args.quick and args.steps is None else args.steps
    import tempfile

    store = RunStore(args.runs or tempfile.mkdtemp(prefix="bench_ssl_"))
    records: list[dict[str, Any]] = []
    header = ("dataset", "pretext", "mode", "labels", "accuracy", "pretrain")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (10, 18, 8, 6, 8, 10), strict=True)))
    for dataset in args.datasets.split(","):
        try:
            modality = load_dataset(dataset, **SETTINGS.get(dataset, {}).get("data_options", {}))
        except (ValueError, TypeError) as error:
            parser.error(f"--datasets: {error}")
        fitting = tasks_for(modality.modality, modality.sample_shape)
        if args.tasks:
            wanted = args.tasks.split(",")
            unknown = [t for t in wanted if t not in fitting]
            if unknown and dataset == args.datasets.split(",")[0] and len(unknown) == len(wanted):
                parser.error(f"--tasks: {unknown} do not fit {dataset} ({modality.modality})")
            fitting = [t for t in fitting if t in wanted]
        if not fitting:
            continue
        records += run_dataset(dataset, fitting, steps, store, args.device, args.quick)
    print("\nLinear probe accuracy on the target test split (supervised: trained from scratch)")
    print(summary_table(records))
    meta = metadata(args.device) | {"threads": torch.get_num_threads(), "steps": steps}
    dump(args.json, {"benchmark": "ssl", "meta": meta, "records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
