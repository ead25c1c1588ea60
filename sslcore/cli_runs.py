"""The CLI's run commands: pretrain, adapt, sweep, runs (added to the parser by sslcore.cli)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sslcore.config import ADAPT_MODES, PretrainConfig

if TYPE_CHECKING:
    from sslcore.runs import RunStore

__all__ = ["add_run_commands"]


# CLI options that set PretrainConfig fields of the same name.
_CONFIG_ARGS = (
    "task",
    "data",
    "data_options",
    "task_options",
    "steps",
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
    run = None
    if args.resume:
        run = store.open(args.resume)
        config = run.config  # a resume continues the run's own config ...
        differ = {
            k: (getattr(config, k), v)
            for k, v in given.items()
            if k != "steps" and getattr(config, k) != v
        }
        if differ:
            raise ValueError(f"--resume {run.id}: the run was made with other settings {differ}")
        # ... but may run longer: pretrain checks the steps against those done and records them
        config = dataclasses.replace(config, steps=given.get("steps", config.steps))
    else:
        config = PretrainConfig(**given)
    stop = _StopOnSignal()
    with stop:
        run = pretrain(
            config, store=store, resume=run, progress=not args.quiet, should_stop=stop.requested
        )
    if rank == 0:
        print(json.dumps({"run": run.id, "path": str(run.path), "summary": run.summary()}))
    return 130 if stop.signal is not None else 0


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


def _check_adapt_steps(args: argparse.Namespace) -> None:
    """--adapt-steps >= 1, checked before anything loads (0 or less would train nothing)."""
    if args.adapt_steps < 1:
        raise ValueError(f"--adapt-steps: expected an integer >= 1, got {args.adapt_steps}")


def _cmd_adapt(args: argparse.Namespace) -> int:
    from sslcore.train.adapt import adapt

    _check_adapt_steps(args)
    run = _store(args).open(args.run)
    record = adapt(run, args.mode, args.labels, steps=args.adapt_steps)
    print(json.dumps(record))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sslcore.train.adapt import sweep

    _check_adapt_steps(args)
    run = _store(args).open(args.run)
    fractions = [float(f) for f in args.labels.split(",")]
    records = sweep(run, fractions=fractions, modes=args.modes.split(","), steps=args.adapt_steps)
    if args.json:
        print(json.dumps(records))
        return 0
    print(f"{'labels':>7} {'mode':>9} {'accuracy':>9} {'L_adapt':>8}")
    for r in records:
        loss = "-" if r["test_loss"] is None else f"{r['test_loss']:.3f}"
        print(f"{r['label_fraction']:>7.0%} {r['mode']:>9} {r['accuracy']:>9.3f} {loss:>8}")
    return 0


def _run_rows(store: RunStore) -> list[dict[str, Any]]:
    """One row per run; an unreadable run's state is "unreadable" and ``reason`` says why."""
    from sslcore.jobs import run_state

    listing = store.listing()
    rows = []
    for run in listing.readable:
        summary, config, points = run.summary() or {}, run.config, run.checkpoints()
        rows.append(
            {
                "run": run.id,
                "state": run_state(run),  # "interrupted" when it says running but no process is
                "task": config.task,
                "data": config.data,
                "steps": config.steps,
                "done_steps": points[-1][0] if points else 0,
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
        print(f"{r['run']:<48} {r['state']:<9} {r['done_steps']:>6}/{r['steps']:<6} probe {probe}")
    return 0


def add_run_commands(sub: argparse._SubParsersAction) -> None:
    """Adds ``pretrain``, ``adapt``, ``sweep`` and ``runs`` to the CLI's subcommands."""
    from sslcore.pretext import PRETEXT_TASKS  # the names only: no torch for --help

    defaults = SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(PretrainConfig)})
    p = sub.add_parser("pretrain", help="pretrain an encoder on a pretext task (a new run)")
    p.add_argument("--task", choices=list(PRETEXT_TASKS), help=f"default {defaults.task}")
    p.add_argument("--data", help=f"embedded dataset name or a path (default {defaults.data})")
    p.add_argument("--data-opt", dest="data_options", action="append", metavar="KEY=VALUE")
    p.add_argument("--task-opt", dest="task_options", action="append", metavar="KEY=VALUE")
    p.add_argument("--steps", type=int, help=f"optimisation steps (default {defaults.steps})")
    p.add_argument(
        "--batch-size",
        type=int,
        help="raw samples per step (default: the task's; 128, rotation 64)",
    )
    p.add_argument("--lr", type=float, help=f"peak learning rate (default {defaults.lr})")
    p.add_argument("--width", type=int, help="encoder width (default: the encoder's)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default cpu")
    p.add_argument("--eval-every", type=int, help=f"default {defaults.eval_every}")
    p.add_argument("--checkpoint-every", type=int, help=f"default {defaults.checkpoint_every}")
    p.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue this run from its last loadable checkpoint (a run created without one, "
        "e.g. by the dashboard, starts from step 0); --steps may extend it, never below the steps "
        "done; refused while another process writes the run",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pretrain)

    for name, helptext in (("adapt", "adapt a run's encoder"), ("sweep", "label-efficiency table")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("run", help="run id (see `sslcore runs`) or path")
        p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
        p.add_argument("--adapt-steps", type=int, default=300, help="finetune/scratch budget")
        if name == "adapt":
            p.add_argument("--mode", default="linear", choices=ADAPT_MODES)
            p.add_argument("--labels", type=float, default=1.0, help="label fraction in (0, 1]")
            p.set_defaults(func=_cmd_adapt)
        else:
            p.add_argument("--labels", default="0.01,0.1,1.0", help="comma-separated fractions")
            p.add_argument("--modes", default=",".join(ADAPT_MODES))
            p.add_argument("--json", action="store_true")
            p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("runs", help="list the runs in the store")
    p.add_argument("--out", help="run store folder (default $SSLCORE_RUNS or ./runs)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_runs)
