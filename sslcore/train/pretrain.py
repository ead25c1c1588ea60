"""Pretraining: k_γ(h_θ(x̃)) on a pretext task, written into the run store, resumable.

One readable loop: sample a batch of unlabeled source data, let the task make (x̃, z), take an
AdamW step on L_pre, log, evaluate the encoder online (linear probe and kNN on the labeled target
set) every ``eval_every`` steps, checkpoint every ``checkpoint_every``. Every random draw comes
from one seeded torch.Generator saved in the checkpoints, so a run resumed after a kill repeats
exactly the steps it lost and its metrics continue as if it never stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sslcore.config import PretrainConfig
from sslcore.data import Dataset, label_indices, load_dataset, protocol_split
from sslcore.data.splits import SourceTargetSplit
from sslcore.distributed import all_reduce_mean, convert_sync_batchnorm, rank_and_world
from sslcore.errors import DataError, SslcoreError
from sslcore.eval.probe import extract_features, knn_accuracy, linear_probe_accuracy
from sslcore.models import make_encoder
from sslcore.pretext import PretextTask, make_task
from sslcore.runs import Run, RunStore, atomic_write_text
from sslcore.train import attempt
from sslcore.train.schedules import budget_progress, warmup_cosine, warmup_cosine_progress

__all__ = [
    "PretextModel",
    "Setup",
    "TrainingError",
    "build",
    "build_models",
    "checkpoint_steps",
    "evaluate",
    "load_run_models",
    "pretrain",
]

# Wall-clock fields of a metrics record: they differ between a run and its resumed twin.
TIMING_FIELDS = ("samples_per_s", "seconds")


class TrainingError(SslcoreError):
    """Training cannot go on (e.g. L_pre became NaN); the last good checkpoint is kept."""


@dataclass
class Setup:
    """What a config builds: the data split, the task, h_θ, k_γ and the optimiser."""

    split: SourceTargetSplit
    task: PretextTask
    encoder: nn.Module
    head: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    train_seconds: float = 0.0  # time spent in training steps: what ``minutes`` budgets


def build(config: PretrainConfig) -> Setup:
    """The data split, task, encoder, pretext head and optimiser of `config`.

    Initialised from its seed: the same config always builds the same starting point.
    """
    data = load_dataset(config.data, **config.data_options)
    split = protocol_split(
        data, config.protocol, config.source_fraction, config.test_fraction, config.seed
    )
    task, encoder, head = build_models(config, data.sample_shape)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed + 1)
    return Setup(split, task, encoder, head, optimizer, generator)


def build_models(
    config: PretrainConfig, sample_shape: Sequence[int]
) -> tuple[PretextTask, nn.Module, nn.Module]:
    """The task, h_θ and k_γ of `config` for samples of `sample_shape`, without loading data.

    Initialised from the config's seed, exactly as `build` initialises them.
    """
    task = make_task(config.task, sample_shape, **config.task_options)
    torch.manual_seed(config.seed)  # module initialisation draws from the global generator
    encoder = make_encoder(sample_shape, config.width, config.encoder).to(config.device)
    head = task.pretext_head(encoder.out_dim).to(config.device)
    if rank_and_world()[1] > 1:  # under torchrun: BatchNorm over the global batch
        encoder, head = convert_sync_batchnorm(encoder), convert_sync_batchnorm(head)
    return task, encoder, head


# Online evaluation uses at most this many labeled train / test samples (a fixed stratified
# subset): on shapes' in-domain split (7,000 / 3,000) the full probe took longer than 100 steps.
ONLINE_TRAIN, ONLINE_TEST = 2000, 1000


def _online_subset(data: Dataset, most: int) -> Dataset:
    """`data`, or a fixed stratified subset of `most` of its samples (seed 0) when larger."""
    if len(data) <= most:
        return data
    return data.subset(label_indices(data.y.numpy(), most / len(data), seed=0))


def evaluate(encoder: nn.Module, split: SourceTargetSplit, device: str = "cpu") -> dict[str, float]:
    """Online evaluation of h_θ: linear-probe and kNN accuracy on the labeled target set.

    On at most ``ONLINE_TRAIN`` / ``ONLINE_TEST`` samples of it (fixed, stratified), so that
    watching a run costs seconds; the adaptation (``sslcore.train.adapt``) uses all of them.
    """
    labeled = _online_subset(split.target_train, ONLINE_TRAIN)
    held_out = _online_subset(split.target_test, ONLINE_TEST)
    train = extract_features(encoder, labeled.x, device=device)
    test = extract_features(encoder, held_out.x, device=device)
    y_train, y_test = labeled.y.numpy(), held_out.y.numpy()
    return {
        "probe_accuracy": linear_probe_accuracy(train, y_train, test, y_test),
        "knn_accuracy": knn_accuracy(train, y_train, test, y_test),
    }


def _state(setup: Setup, step: int, config: PretrainConfig) -> dict[str, Any]:
    return {
        "step": step,
        "config": config.to_dict(),
        "sample_shape": list(setup.split.source.sample_shape),  # rebuild without the data
        "encoder": setup.encoder.state_dict(),
        "head": setup.head.state_dict(),
        "optimizer": setup.optimizer.state_dict(),
        "generator": setup.generator.get_state(),
        "train_seconds": setup.train_seconds,
    }


def _restore(setup: Setup, state: dict[str, Any]) -> int:
    setup.encoder.load_state_dict(state["encoder"])
    setup.head.load_state_dict(state["head"])
    setup.optimizer.load_state_dict(state["optimizer"])
    setup.generator.set_state(state["generator"])
    setup.train_seconds = float(state.get("train_seconds", 0.0))
    return int(state["step"])


def _progress(total: int, start: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, disable=not enabled, unit="step", dynamic_ncols=True)


def pretrain(
    config: PretrainConfig,
    *,
    store: RunStore | None = None,
    resume: Run | str | None = None,
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> Run:
    """Pretrains an encoder on `config`'s pretext task; returns the run written into `store`.

    The run's writer lock (``Run.lock``) is held throughout, so a second pretrain or resume of
    the same run is refused while this one writes. A new run's data and task are built before
    its folder is made, so a bad dataset or task leaves nothing behind.

    Args:
        config: the run's settings.
        store: the run store (default: ``RunStore()``, i.e. $SSLCORE_RUNS or ./runs).
        resume: a run (or its id) to continue from its last loadable checkpoint; its config
            must equal `config` except ``steps``, which may not go below the steps already
            checkpointed (a larger value extends the run). Metrics after that checkpoint are
            dropped and redone identically.
        progress: show a tqdm progress bar.
        should_stop: polled after every step; True cancels the run after a checkpoint.

    Raises:
        TrainingError: L_pre became NaN or infinite (the run is marked failed; the last good
            checkpoint stays).
        RunLocked: another process is writing `resume`.
        SslcoreError: `resume` names a run whose config differs, or asks for fewer steps than
            it has done; nothing in the run is changed.
    """
    store = store or RunStore()
    rank, world = rank_and_world()
    if config.batch_size % world:
        raise SslcoreError(
            f"batch_size: the global batch of {config.batch_size} does not split over {world} "
            f"ranks; use a multiple of {world}"
        )
    created = resume is None
    setup = build(config) if created else None  # unknown data, a wrong task: no folder yet
    with contextlib.ExitStack() as held:
        run = _on_rank_zero(lambda: attempt.open_run(store, config, resume, held))
        if rank != 0:  # trains its shard in step with rank 0 and writes nothing
            setup = setup or build(config)
            _train(run, config, setup, _start_from(run, setup, False)[0], False, should_stop)
            return run
        _write(run, config, created, setup, progress, should_stop)
    return run


def _write(
    run: Run,
    config: PretrainConfig,
    created: bool,
    setup: Setup | None,
    progress: bool,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Rank 0, lock held: prepares (nothing recorded if that fails), then trains and records."""
    before = attempt.status_before(run)
    try:
        setup = setup or build(config)
        start, skipped = _start_from(run, setup, True)
    except BaseException as error:
        attempt.not_started(run, created, before, error)
        raise
    if run.config.to_dict() != config.to_dict():  # more steps: recorded once the resume is sure
        atomic_write_text(run.path / "config.json", json.dumps(config.to_dict(), indent=2))
    note = f"resumed from step {start}; set aside unloadable {', '.join(skipped)}"
    run.set_status("running", note if skipped else "", pid=os.getpid())
    try:
        _train(run, config, setup, start, progress, should_stop)
    except KeyboardInterrupt:
        attempt.ended(run, created, "cancelled", "interrupted")
        raise
    except Exception as error:
        attempt.ended(run, created, "failed", f"{type(error).__name__}: {error}")
        raise


def _on_rank_zero(make: Callable[[], Run]) -> Run:
    """`make()` on rank 0, its run shared with every rank (its error raised on every rank)."""
    _, world = rank_and_world()
    if world == 1:
        return make()
    import torch.distributed as dist

    message: list[Any] = [None]
    if dist.get_rank() == 0:
        try:
            message = [str(make().path)]
        except Exception as error:  # every rank must hear of it, or the others wait forever
            message = [error]
    dist.broadcast_object_list(message, src=0)
    if isinstance(message[0], Exception):
        raise message[0]
    return Run(Path(message[0]))


class PretextModel(nn.Module):
    """k_γ(h_θ(·)) as one module: what DistributedDataParallel wraps and functional_call swaps."""

    def __init__(self, task: PretextTask, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.task, self.encoder, self.head = task, encoder, head

    def forward(self, batch: Any) -> Any:
        """The task's outputs for a PretextBatch."""
        return self.task.forward(self.encoder, self.head, batch)


def checkpoint_steps(run: Run, steps: Sequence[int] | None = None) -> list[int]:
    """`steps` (default: 0, the seeded initialisation, and every checkpoint), sorted.

    Raises DataError when the run has no checkpoint or one of `steps` is not saved.
    """
    saved = [step for step, _ in run.checkpoints()]
    if not saved:
        raise DataError(
            f"run {run.id} has no checkpoints yet: train it for checkpoint_every steps first"
        )
    todo = [0, *saved] if steps is None else sorted(set(steps))
    missing = sorted(set(todo) - {0, *saved})
    if missing or not todo:
        raise DataError(f"run {run.id}: no checkpoint at step(s) {missing}; saved: {saved}")
    return todo


def load_run_models(run: Run) -> tuple[Setup, PretextModel, Callable[[int], None]]:
    """The run's ``build``, its k_γ(h_θ(·)), and ``load(step)`` (0 = the seeded initialisation)."""
    setup = build(run.config)
    model = PretextModel(setup.task, setup.encoder, setup.head)
    initial = {
        k: {n: t.clone() for n, t in getattr(model, k).state_dict().items()}
        for k in ("encoder", "head")
    }

    def load(step: int) -> None:
        state = initial if step == 0 else run.load_checkpoint(step)
        model.encoder.load_state_dict(state["encoder"])
        model.head.load_state_dict(state["head"])

    return setup, model, load


def _stop_everywhere(stop: bool) -> bool:
    """True on every rank when any rank was asked to stop."""
    if rank_and_world()[1] == 1:
        return stop
    import torch.distributed as dist

    flag = torch.tensor([int(stop)])
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _start_from(run: Run, setup: Setup, writer: bool) -> tuple[int, list[str]]:
    """Restores `setup` from the newest checkpoint that loads; its step (0: none), names skipped.

    A truncated or foreign last checkpoint (a full disk, a bad copy) is skipped for the one
    before it; the writer sets the skipped files aside (``.step-….pt.corrupt``, out of
    ``checkpoints()``) and drops the metrics after the step resumed from, which are redone.
    When checkpoints exist but none loads, a DataError: never silently back to step 0.
    """
    points = run.checkpoints()
    skipped: list[tuple[Path, str]] = []
    start = None
    for step, path in reversed(points):
        try:
            start = _restore(setup, run.load_checkpoint(step))
            break
        except (DataError, KeyError, RuntimeError, TypeError, ValueError) as error:
            skipped.append((path, str(error)))
    if start is None and points:
        raise DataError(f"run {run.id}: no checkpoint can be loaded; the last: {skipped[0][1]}")
    if writer:
        for path, _ in skipped:
            path.rename(path.with_name(f".{path.name}.corrupt"))
        run.truncate_metrics(start or 0)
    return start or 0, [path.name for path, _ in skipped]


def _train(
    run: Run,
    config: PretrainConfig,
    setup: Setup,
    start: int,
    progress: bool,
    should_stop: Callable[[], bool] | None,
) -> None:
    """The loop from step `start` (restored into `setup`) to ``config.steps``."""
    rank, world = rank_and_world()
    writer = rank == 0  # metrics, checkpoints and the summary: rank 0 only
    source, task = setup.split.source, setup.task
    model = PretextModel(task, setup.encoder, setup.head)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    last_good = start
    bar = _progress(config.steps, start, progress and writer)
    try:
        for step in range(start, config.steps):
            if _budget_spent(config, setup.train_seconds):
                break
            began = time.perf_counter()
            lr = _learning_rate(config, step, setup.train_seconds)
            for group in setup.optimizer.param_groups:
                group["lr"] = lr
            rows = torch.randint(len(source), (config.batch_size,), generator=setup.generator)
            # Every rank makes the whole batch from the same generator state (so all stay in
            # step and a checkpoint's generator serves them all), then keeps its shard.
            batch = task.make_batch(source.x[rows], setup.generator)
            if world > 1:
                batch = task.shard(batch, config.batch_size, rank, world)
            batch = batch.to(config.device)
            model.train()
            result = task.loss(model(batch), batch)
            values = {"loss": float(result.loss.detach())}
            values |= {k: float(v) for k, v in result.metrics.items()}
            values = all_reduce_mean(values)  # the global batch's loss and metrics
            value = values.pop("loss")
            if not math.isfinite(value):
                raise TrainingError(
                    f"step {step + 1}: L_pre is {value}; stopped. The last good checkpoint "
                    f"(step {last_good}) is kept: lower the learning rate and resume from it"
                )
            setup.optimizer.zero_grad(set_to_none=True)
            result.loss.backward()  # DDP averages the ranks' gradients here
            setup.optimizer.step()
            seconds = _agreed_seconds(time.perf_counter() - began, config)
            setup.train_seconds += seconds
            record: dict[str, Any] = {"step": step + 1, "loss": value, "lr": lr} | values
            record |= {"samples_per_s": config.batch_size / seconds, "seconds": seconds}
            done = step + 1 == config.steps or _budget_spent(config, setup.train_seconds)
            stop = _stop_everywhere(should_stop is not None and should_stop())
            if writer and ((step + 1) % config.eval_every == 0 or done):
                record |= evaluate(setup.encoder, setup.split, config.device)
            if writer:
                run.append_metrics(record)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}")
            if (step + 1) % config.checkpoint_every == 0 or done or stop:
                if writer:
                    run.save_checkpoint(step + 1, _state(setup, step + 1, config))
                last_good = step + 1
            if stop:
                if writer:
                    run.set_status("cancelled", f"stopped at step {step + 1}")
                _barrier()
                return
            if done:
                break
    finally:
        bar.close()
    if writer:
        _finish(run, config)
    _barrier()


def _budget_spent(config: PretrainConfig, train_seconds: float) -> bool:
    """True once the run's wall-clock budget (``minutes``), if it has one, is used up."""
    return config.minutes is not None and train_seconds >= 60.0 * config.minutes


def _learning_rate(config: PretrainConfig, step: int, train_seconds: float) -> float:
    """The schedule's lr: over the steps, or over the wall-clock budget when there is one."""
    if config.minutes is None:
        return warmup_cosine(step, config.steps, config.warmup_steps, config.lr)
    progress = budget_progress(step, config.steps, train_seconds, 60.0 * config.minutes)
    return warmup_cosine_progress(step, progress, config.warmup_steps, config.lr)


def _agreed_seconds(seconds: float, config: PretrainConfig) -> float:
    """A step's duration; under a time budget, the slowest rank's on every rank.

    So all ranks end the budget together; without a budget, no collective is spent on it.
    """
    if config.minutes is None or rank_and_world()[1] == 1:
        return seconds
    import torch.distributed as dist

    value = torch.tensor([seconds], dtype=torch.float64)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return float(value.item())


def _barrier() -> None:
    """Under torchrun: wait until rank 0 has written everything, so no rank leaves early."""
    if rank_and_world()[1] > 1:
        import torch.distributed as dist

        dist.barrier()


def _finish(run: Run, config: PretrainConfig) -> None:
    """summary.json and the "done" state, from the metrics as written."""
    metrics = run.metrics()
    last = metrics[-1] if metrics else {}
    run.write_summary(
        {
            "steps": last.get("step", 0),
            "final_loss": last.get("loss"),
            "probe_accuracy": last.get("probe_accuracy"),
            "knn_accuracy": last.get("knn_accuracy"),
            "seconds": sum(r.get("seconds", 0.0) for r in metrics),
        }
    )
    run.set_status("done")
