"""One attempt at writing a run: open and lock it, note its status, record how the attempt ended.

``sslcore.train.pretrain`` calls these around its loop. The writer lock (``Run.lock``) is taken
before anything of the run is read, so a second writer changes nothing; a resume must keep the
run's config but for more steps; an attempt that fails before its first step removes a run it
created and leaves a resumed run's state as it was (a done run never becomes failed because a
resume could not start).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any

from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError
from sslcore.runs import Run, RunStore

__all__ = ["KEPT_STATES", "ended", "not_started", "open_run", "status_before"]

# States a failed resume attempt leaves as they were: the run's steps are all still there.
KEPT_STATES = ("done", "cancelled", "failed")


def status_before(run: Run) -> dict[str, Any]:
    """The run's status before this attempt (what a dashboard resume's "starting" replaced)."""
    try:
        status = run.status()
    except DataError:  # unreadable: a failed attempt records "failed" over it
        return {"state": "created"}
    if status["state"] == "running" and status["pid"] == os.getpid() and "previous" in status:
        return status["previous"]
    return status


def not_started(run: Run, created: bool, before: dict[str, Any], error: BaseException) -> None:
    """A run this call created goes (nothing was done); a resumed one keeps its state."""
    if created:
        shutil.rmtree(run.path, ignore_errors=True)
        return
    reason = f"{type(error).__name__}: {error}"
    if before.get("state") in KEPT_STATES:
        run.set_status(before["state"], f"a resume did not start: {reason}")
    else:
        run.set_status("failed", reason)


def ended(run: Run, created: bool, state: str, message: str) -> None:
    """Records how training ended; a run this call created that logged no step is removed."""
    if created and not _logged_a_step(run):
        shutil.rmtree(run.path, ignore_errors=True)
    else:
        run.set_status(state, message)


def _logged_a_step(run: Run) -> bool:
    """Whether the run's metrics hold a line (an unreadable log counts: keep the folder)."""
    try:
        return bool(run.metrics())
    except DataError:
        return True


def open_run(
    store: RunStore, config: PretrainConfig, resume: Run | str | None, held: contextlib.ExitStack
) -> Run:
    """The run to train, its writer lock taken into `held`: `resume` or a new one.

    A resumed run's config must equal `config` but for ``steps``, which may only grow past the
    steps already checkpointed, and ``minutes`` (a time budget a resume may extend); nothing is
    written here.
    """
    if resume is None:
        run = store.create(config)
        held.enter_context(run.lock())
        return run
    run = resume if isinstance(resume, Run) else store.open(resume)
    held.enter_context(run.lock())  # a second writer stops here, before it reads or writes
    saved, wanted = run.config.to_dict(), config.to_dict()
    extendable = ("steps", "minutes")
    diff = {
        k: (saved.get(k), v) for k, v in wanted.items() if k not in extendable and saved.get(k) != v
    }
    if diff:
        raise SslcoreError(f"resume: run {run.id} was made with another config: {diff}")
    done = run.checkpoints()[-1][0] if run.checkpoints() else 0
    if config.steps < done:
        raise SslcoreError(
            f"steps: run {run.id} has done {done} steps; expected steps >= {done}, "
            f"got {config.steps}"
        )
    return run
