"""The CLI's run commands: pretrain, adapt, sweep, runs (added to the parser by sslcore.cli)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sslcore.config import (
    ADAPT_MODES,
    DATASET_DEFAULTS,
    ENCODERS,
    PROTOCOLS,
    PretrainConfig,
)

if TYPE_CHECKING:
    from sslcore.runs import RunStore

__all__ = ["ADAPT_STEPS", "SWEEP_DRAWS", "add_run_commands"]

# The steps of finetune and scratch, 0: sslcore.train.adapt.plateau_steps (400 epochs of the
# labels, 400-2,400 steps); and the label draws a sweep averages over at each fraction below 1.
ADAPT_STEPS = 0
SWEEP_DRAWS = 10


# CLI options that set PretrainConfig fields of the same name.
_CONFIG_ARGS = (
    "task",
    "data",
    "data_options",
    "task_options",
    "encoder",
    "protocol",
    "steps",
    "minutes",
    "batch_size",
    "lr",
    "width",
    "eval_every",
    "checkpoint_every",
    "seed",
    "device",
)


def _options(pairs: list[str]) -> dict[str, Any]:
    from sslcore.cli import _parse_option

    return dict(_parse_option(p) for p in pairs)


def _store(args: argparse.Namespace) -> RunStore:
    from sslcore.runs import RunStore

    return RunStore(args.out)


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from sslcore.distributed import init_from_env, leave_process_group, rank_and_world

    # Under torchrun: join its process group (gloo; nccl for CUDA), leave it however we end.
    joined = rank_and_world()[1] == 1
    rank, _ = init_from_env(args.device or "cpu")
    try:
        return _pretrain_rank(args, rank)
    finally:
        if joined:
            leave_process_group()


def _pretrain_rank(args: argparse.Namespace, rank: int) -> int:
    from sslcore.train.pretrain import pretrain

    store = _store(args)
    given: dict[str, Any] = {
        name: getattr(args, name) for name in _CONFIG_ARGS if getattr(args, name) not in (None, [])
    }
    for name in ("data_options", "task_options"):
        if name in given:
            given[name] = _options(given[name])
    run = store.open(args.resume) if args.resume else None
    config = PretrainConfig(**given) if run is None else _resumed_config(run.config, given, run.id)
    stop = _StopOnSignal()
    with stop:
        run = pretrain(
            config, store=store, resume=run, progress=not args.quiet, should_stop=stop.requested
        )
    if rank == 0:
        print(json.dumps({"run": run.id, "path": str(run.path), "summary": run.summary()}))
    return 130 if stop.signal is not None else 0


# What a resume may change: it may run longer (pretrain refuses fewer steps than those done).
_EXTENDABLE = ("steps", "minutes")


def _resumed_config(config: PretrainConfig, given: dict[str, Any], run_id: str) -> PretrainConfig:
    """The run's own config, with the steps and minutes budget a resume gives it.

    Any other setting that differs from the run's is refused: a resume continues the run.
    """
    differ = {
        k: (getattr(config, k), v)
        for k, v in given.items()
        if k not in _EXTENDABLE and getattr(config, k) != v
    }
    if differ:
        raise ValueError(f"--resume {run_id}: the run was made with other settings {differ}")
    return dataclasses.replace(config, **{k: given[k] for k in _EXTENDABLE if k in given})


class _StopOnSignal:
    """SIGINT/SIGTERM ask the loop to stop after the current step.

    The loop then checkpoints that step and marks the run cancelled, so a cancel loses nothing;
    the previous handlers are restored on exit.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        """Whether a stop signal arrived."""
        return self.signal is not None

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signal = signum

    def __enter__(self) -> _StopOnSignal:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _check_adapt_budget(args: argparse.Namespace) -> None:
    """--adapt-steps >= 0 (0: to the plateau) and --draws >= 1, checked before anything loads."""
    if args.adapt_steps < 0:
        raise ValueError(f"--adapt-steps: expected an integer >= 0, got {args.adapt_steps}")
    if args.draws < 1:
        raise ValueError(f"--draws: expected an integer >= 1, got {args.draws}")


def _cmd_adapt(args: argparse.Namespace) -> int:
    from sslcore.train.adapt import adapt

    _check_adapt_budget(args)
    run = _store(args).open(args.run)
    steps = args.adapt_steps or None
    record = adapt(run, args.mode, args.labels, draws=args.draws, steps=steps)
    print(json.dumps(record))
    return 0


def _percent(value: float) -> str:
    """A share as a percentage without trailing zeros: 0.1 → "10 %", 0.005 → "0.5 %"."""
    return f"{100 * value:.3g} %"


def _sweep_line(done: int, total: int, record: dict[str, Any]) -> str:
    """One progress line: ``sweep: 3/9 linear 10 %: 92.4 % ± 3.0 (10 draws, 12 s)``."""
    draws = int(record.get("draws", 1))
    spread = f" ± {100 * record['accuracy_std']:.1f}" if "accuracy_std" in record else ""
    reused = f", {record['reused_draws']} reused" if record.get("reused_draws") else ""
    return (
        f"sweep: {done}/{total} {record['mode']} {_percent(record['label_fraction'])}: "
        f"{100 * record['accuracy']:.1f} %{spread} ({draws} draw{'s' * (draws != 1)}, "
        f"{record.get('seconds', 0.0):.0f} s{reused})"
    )


def _print_progress(done: int, total: int, record: dict[str, Any]) -> None:
    """A finished (mode, fraction) on stderr at once, so a long sweep is never silent."""
    print(_sweep_line(done, total, record), file=sys.stderr, flush=True)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sslcore.train.adapt import sweep

    _check_adapt_budget(args)
    run = _store(args).open(args.run)
    fractions = [float(f) for f in args.labels.split(",")]
    began = time.perf_counter()
    records = sweep(
        run,
        fractions=fractions,
        modes=args.modes.split(","),
        steps=args.adapt_steps or None,
        draws=args.draws,
        progress=_print_progress,
        reuse=not args.fresh,
    )
    print(f"sweep: done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(records))
        return 0
    _print_table(records)
    return 0


def _print_table(records: list[dict[str, Any]]) -> None:
    """The label-efficiency table; accuracy ± its std over the label draws where there are some."""
    print(f"{'labels':>7} {'mode':>9} {'accuracy':>15} {'draws':>5} {'L_adapt':>8}")
    for r in records:
        loss = "-" if r["test_loss"] is None else f"{r['test_loss']:.3f}"
        accuracy = f"{r['accuracy']:.3f}"
        if "accuracy_std" in r:
            accuracy += f" ± {r['accuracy_std']:.3f}"
        labels = _percent(r["label_fraction"]).replace(" ", "")
        print(f"{labels:>7} {r['mode']:>9} {accuracy:>15} {r['draws']:>5} {loss:>8}")


def _run_rows(store: RunStore) -> list[dict[str, Any]]:
    """One row per run; an unreadable run's state is "unreadable" and ``reason`` says why."""
    from sslcore.jobs import run_state

    listing = store.listing()
    rows = []
    for run in listing.readable:
        summary, config, points = run.summary() or {}, run.config, run.checkpoints()
        state = run_state(run)  # "interrupted" when it says running but no process is
        done = points[-1][0] if points else 0
        rows.append(
            {
                "run": run.id,
                "state": state,
                "task": config.task,
                "data": config.data,
                # a finished run's steps are those it did (a time budget may end it early);
                # otherwise the most it may take
                "steps": done if state == "done" else config.steps,
                "minutes": config.minutes,
                "done_steps": done,
                "probe_accuracy": summary.get("probe_accuracy"),
            }
        )
    for bad in listing.unreadable:
        rows.append({"run": bad.id, "state": "unreadable", "reason": bad.reason})
    return sorted(rows, key=lambda r: r["run"])


def _cmd_runs(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = _run_rows(store)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"no runs in {store.root}")
    for r in rows:
        if r["state"] == "unreadable":
            print(f"{r['run']:<48} unreadable: {r['reason']}")
            continue
        probe = "-" if r["probe_accuracy"] is None else f"{r['probe_accuracy']:.3f}"
        print(f"{r['run']:<48} {r['state']:<9} {_progress_text(r):<22} probe {probe}")
    return 0


def _progress_text(row: dict[str, Any]) -> str:
    """``done/steps``; a time-budgeted run not yet done: ``120/≤2000 · 2 min``."""
    if row["minutes"] is None or row["state"] == "done":
        return f"{row['done_steps']}/{row['steps']}"
    return f"{row['done_steps']}/≤{row['steps']} · {row['minutes']:g} min"


def add_run_commands(sub: argparse._SubParsersAction) -> None:
    """Adds ``pretrain``, ``adapt``, ``sweep`` and ``runs`` to the CLI's subcommands."""
    from sslcore.pretext import PRETEXT_TASKS  # the names only: no torch for --help

    defaults = SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(PretrainConfig)})
    tuned, digits = DATASET_DEFAULTS[("*", "*")], DATASET_DEFAULTS[("digits", "*")]
    p = sub.add_parser("pretrain", help="pretrain an encoder on a pretext task (a new run)")
    p.add_argument("--task", choices=list(PRETEXT_TASKS), help=f"default {defaults.task}")
    p.add_argument("--data", help=f"embedded dataset name or a path (default {defaults.data})")
    p.add_argument("--data-opt", dest="data_options", action="append", metavar="KEY=VALUE")
    p.add_argument("--task-opt", dest="task_options", action="append", metavar="KEY=VALUE")
    p.add_argument(
        "--encoder",
        choices=ENCODERS,
        help=f"h_θ (default {defaults.encoder}: resnet for images, mlp for vectors)",
    )
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help=f"default {defaults.protocol}: pretrain on the train split without its labels, "
        "adapt on few of them; transfer: pretrain on a source part, adapt on a disjoint target",
    )
    p.add_argument(
        "--steps",
        type=int,
        help="optimisation steps; with --minutes the most the run may take (default: the "
        f"dataset's tuned value, DATASET_DEFAULTS in sslcore.config; else {tuned['steps']})",
    )
    p.add_argument(
        "--minutes",
        type=float,
        help="wall-clock budget of training steps: the run ends when it is spent or after "
        f"--steps (default: the dataset's tuned value, e.g. {digits['minutes']:g} for digits; "
        "none when --steps is given)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help="raw samples per step (default: the dataset's tuned value, else the task's: "
        "128, rotation 64)",
    )
    p.add_argument(
        "--lr",
        type=float,
        help=f"peak learning rate (default: the dataset's tuned value, else {tuned['lr']:g})",
    )
    p.add_argument("--width", type=int, help="encoder width (default: the encoder's)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default cpu")
    p.add_argument(
        "--eval-every",
        type=int,
        help="steps between online evaluations (default: the dataset's tuned value, "
        f"else {tuned['eval_every']})",
    )
    p.add_argument("--checkpoint-every", type=int, help=f"default {defaults.checkpoint_every}")
    p.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue this run from its last loadable checkpoint (a run created without one, "
        "e.g. by the dashboard, starts from step 0); --steps and --minutes may extend it, never "
        "below the steps done; refused while another process writes the run",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pretrain)

    for name, helptext in (("adapt", "adapt a run's encoder"), ("sweep", "label-efficiency table")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("run", help="run id (see `sslcore runs`) or path")
        p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
        p.add_argument(
            "--adapt-steps",
            type=int,
            default=ADAPT_STEPS,
            help="AdamW steps of finetune and scratch, the same budget (default 0: to the "
            "plateau, 400 epochs of the drawn labels within 400-2,400 steps)",
        )
        draws = 1 if name == "adapt" else SWEEP_DRAWS
        p.add_argument(
            "--draws",
            type=int,
            default=draws,
            help="label draws (seeds) averaged at each fraction below 1: the accuracy is their "
            f"mean, with its std, min and max (default {draws})",
        )
        if name == "adapt":
            p.add_argument("--mode", default="linear", choices=ADAPT_MODES)
            p.add_argument("--labels", type=float, default=1.0, help="label fraction in (0, 1]")
            p.set_defaults(func=_cmd_adapt)
        else:
            p.add_argument("--labels", default="0.01,0.1,1.0", help="comma-separated fractions")
            p.add_argument(
                "--modes",
                default=",".join(ADAPT_MODES),
                help="comma-separated, of " + ",".join(ADAPT_MODES) + " (default: all; scratch "
                "is the supervised baseline)",
            )
            p.add_argument("--json", action="store_true")
            p.add_argument(
                "--fresh",
                action="store_true",
                help="recompute every label draw (default: reuse the draws the run already "
                "holds for the same mode, fraction, checkpoint and budget)",
            )
            p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("runs", help="list the runs in the store")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_runs)
