"""Pretraining and adaptation in their own processes: launch, find, cancel.

"Training runs in its own process": :func:`launch` starts ``python -m sslcore pretrain`` as a
detached subprocess (a new session, so a signal to the dashboard never reaches it; output to a
log file in the run folder). The caller keeps nothing but the run id: everything else is read
back from the run store, so a page rerun or a closed tab never kills, restarts or duplicates a
run. The run folder is created here, before the process starts (its config.json written), and
the CLI is told to ``--resume`` it: a run without a checkpoint resumes from step 0, and the run
id is known at once.

A run is *active* when its status.json says "running" with a pid that is alive: the process
exists, is not a zombie and, where /proc tells, started before that status was written, so a pid
reused by an unrelated process after a crash is not taken for the run. An identical config is
refused while one is active (checked and created under a lock file in the store).

:func:`cancel` sends SIGINT: ``sslcore pretrain`` then finishes its current step, checkpoints it
and marks the run "cancelled" before it exits (it treats SIGTERM the same way), so a cancel loses
nothing. Process liveness checks live in sslcore.processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sslcore.cli_runs import ADAPT_STEPS, SWEEP_DRAWS
from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError
from sslcore.processes import alive_since, is_alive, log_tail, process_start_time
from sslcore.run_records import adapt_records
from sslcore.runs import Run, RunStore, atomic_write_text
from sslcore.train.attempt import KEPT_STATES

__all__ = [
    "LOG_NAME",
    "SWEEP_JOB",
    "JobError",
    "active_runs",
    "cancel",
    "is_alive",
    "launch",
    "launch_sweep",
    "log_tail",
    "pretrain_command",
    "process_start_time",
    "resume",
    "run_is_active",
    "run_state",
    "sweep_command",
    "sweep_job",
]

LOG_NAME = "pretrain.log"  # the pretraining process's stdout and stderr, in its run folder
SWEEP_JOB = "sweep-job.json"  # the last adaptation sweep's pid, settings and output file
SWEEP_LOG = "sweep.log"
_SWEEP_OUTPUT = re.compile(r"sweep-[A-Za-z0-9_.-]{1,64}\.json")  # a file name in the run folder
_LOCK_NAME = ".jobs.lock"
_REPO = Path(__file__).resolve().parent.parent


class JobError(SslcoreError):
    """A job cannot be started or stopped (one is already running, none is, nothing to adapt)."""


@contextlib.contextmanager
def _store_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the store (a lock file under it), so check-then-start is atomic."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK_NAME, "a") as handle:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the check is only best effort there
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _spawn(argv: Sequence[str], stdout: Path, stderr: Path | None = None) -> subprocess.Popen:
    """Starts `argv` detached (new session, no stdin), output appended to the given files.

    The child imports the same sslcore as this process (its folder goes first on PYTHONPATH).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(stdout, "ab"))
        err = files.enter_context(open(stderr, "ab")) if stderr else subprocess.STDOUT
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # a closed terminal or a killed dashboard leaves it running
            close_fds=True,
            env=env,
        )


def _reap(proc: subprocess.Popen, run: Run, root: Path) -> None:
    """Waits for a pretraining process in the background; records an end it could not record.

    The thread reaps the child (no zombie lingers) and, if the process died while its status
    still says "running" with its pid (it failed before training started, or was killed), marks
    the run cancelled (interrupted) or failed, naming the exit code and the log.
    """

    def wait() -> None:
        code = proc.wait()
        with contextlib.suppress(Exception):  # the run folder may be gone; nothing to record
            _settle(run, proc.pid, code, root)

    threading.Thread(target=wait, name=f"sslcore-job-{proc.pid}", daemon=True).start()


def _settle(run: Run, pid: int, code: int | None, root: Path) -> None:
    """Records the end of a process that died while the run's status named it running.

    A dashboard resume that never started training (refused, or its checkpoint unreadable)
    puts back the state it replaced when that was done/cancelled/failed: an attempt never
    turns a finished run into a failed one.
    """
    with _store_lock(root):
        status = run.status()
        if status.get("state") != "running" or status.get("pid") != pid or is_alive(pid):
            return
        previous = status.get("previous") or {}
        if code in (None, 130, -signal.SIGINT):
            state, message = "cancelled", "interrupted before it recorded an end"
        else:
            state, message = "failed", f"the process exited with code {code}; see {LOG_NAME}"
        if previous.get("state") in KEPT_STATES:
            state, message = previous["state"], f"a resume did not start: {message}"
        run.set_status(state, message)


# ---- runs --------------------------------------------------------------------------------------


def run_is_active(run: Run) -> bool:
    """True when the run's status is "running" and its process is alive."""
    try:
        status = run.status()
    except DataError:
        return False
    return status.get("state") == "running" and alive_since(
        status.get("pid"), status.get("updated")
    )


def run_state(run: Run) -> str:
    """The run's state from status.json; "interrupted" when it says running but nothing runs.

    An interrupted run was killed (kill -9, a reboot) or is unreadable; it can be resumed.
    """
    try:
        state = run.status().get("state", "created")
    except DataError:
        return "unreadable"
    if state == "running" and not run_is_active(run):
        return "interrupted"
    return state


def active_runs(store: RunStore) -> list[Run]:
    """The store's runs whose process is running now."""
    return [run for run in store.list() if run_is_active(run)]


def pretrain_command(run_id: str, root: Path | str, steps: int | None = None) -> list[str]:
    """``python -m sslcore pretrain --resume RUN --out ROOT --quiet [--steps N]``."""
    argv = [sys.executable, "-m", "sslcore", "pretrain", "--resume", str(run_id)]
    argv += ["--out", str(Path(root).resolve()), "--quiet"]
    return argv + (["--steps", str(int(steps))] if steps is not None else [])


def launch(config: PretrainConfig, store: RunStore) -> Run:
    """Creates a run of `config` in `store` and starts its pretraining process; returns the run.

    Raises:
        JobError: a run of the same config is running now, or the process could not start.
    """
    wanted = config.to_dict()
    with _store_lock(store.root):
        for other in active_runs(store):
            with contextlib.suppress(DataError):
                if other.config.to_dict() == wanted:
                    raise JobError(
                        f"an identical run is already running: {other.id} (pid "
                        f"{other.status().get('pid')}); cancel it or change a setting"
                    )
        run = store.create(config)
        _start_pretraining(run, store.root, None)
    return run


def resume(run: Run, store: RunStore, steps: int | None = None) -> Run:
    """Starts `run`'s pretraining again from its last checkpoint (up to `steps` if given).

    Raises:
        JobError: the run is running or another process writes it (a CLI resume, say), `steps`
            is below the steps it has done, or the process could not start.
    """
    with _store_lock(store.root):
        if run_is_active(run):
            raise JobError(f"run {run.id} is already running (pid {run.status().get('pid')})")
        writer = run.writer()
        if writer is not None:
            raise JobError(f"run {run.id} is being written by another process ({writer})")
        done = run.checkpoints()[-1][0] if run.checkpoints() else 0
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
            raise JobError(f"steps: expected an integer >= {max(done, 1)}, got {steps!r}")
        if steps is not None and steps < max(done, 1):
            raise JobError(f"steps: run {run.id} has done {done} steps; expected >= {done}")
        _start_pretraining(run, store.root, steps)
    return run


def _start_pretraining(run: Run, root: Path, steps: int | None) -> None:
    """Spawns the CLI on `run` and records it running (called under the store lock).

    The status it replaces goes along as ``previous``: the child puts it back if it cannot
    start training (``sslcore.train.pretrain``), and so does `_settle` if the child dies first.
    """
    try:
        previous = run.status()
    except DataError:
        previous = None
    try:
        proc = _spawn(pretrain_command(run.id, root, steps), run.path / LOG_NAME)
    except OSError as error:
        if (previous or {}).get("state") not in KEPT_STATES:
            run.set_status("failed", f"could not start the process: {error}")
        raise JobError(f"run {run.id}: could not start the process: {error}") from None
    # Written after the child started, so its start time precedes it; the child writes its own
    # "running" (same pid) once it has imported torch, seconds later.
    run.set_status("running", "starting", pid=proc.pid, previous=previous)
    _reap(proc, run, root)


def _wait_for_exit(pid: int, seconds: float) -> bool:
    """Waits up to `seconds` for `pid` to exit; True when it has."""
    deadline = time.monotonic() + seconds
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not is_alive(pid)


def cancel(run: Run, timeout: float = 10.0) -> str:
    """Asks the run's process to stop; waits up to `timeout` s for it; returns the state.

    SIGINT first; after half of `timeout`, SIGTERM, which pretraining handles alike (it finishes
    its step, marks the run "cancelled" and exits) but which a process started from a background
    shell does not ignore, as it does SIGINT. "running" is returned if it has not exited within
    `timeout`.

    Raises:
        JobError: the run is not running.
    """
    if not run_is_active(run):
        raise JobError(f"run {run.id} is not running (state: {run_state(run)})")
    pid = int(run.status()["pid"])
    os.kill(pid, signal.SIGINT)
    if not _wait_for_exit(pid, timeout / 2):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_for_exit(pid, timeout / 2):
            return "running"
    _settle(run, pid, None, run.path.parent)  # it died before pretrain could record it
    return run_state(run)


# ---- adaptation sweeps -------------------------------------------------------------------------


def sweep_command(
    run_id: str,
    root: Path | str,
    fractions: Sequence[float],
    modes: Sequence[str],
    adapt_steps: int = ADAPT_STEPS,
    draws: int = SWEEP_DRAWS,
) -> list[str]:
    """The sweep's argv: ``python -m sslcore sweep RUN --json --labels F,… --modes M,… …``."""
    return [
        *(sys.executable, "-m", "sslcore", "sweep", str(run_id), "--json"),
        *("--labels", ",".join(f"{float(f):g}" for f in fractions)),
        *("--modes", ",".join(modes)),
        *("--adapt-steps", str(int(adapt_steps))),
        *("--draws", str(int(draws))),
        *("--out", str(Path(root).resolve())),
    ]


def sweep_job(run: Run) -> dict[str, Any] | None:
    """The run's last sweep: its record, ``alive``, and ``results`` (its JSON, once written).

    ``results`` is None while the sweep runs and if it failed (then ``log`` holds the end of
    its log). None when there is no sweep record or it is not one (a foreign or broken file).
    """
    try:
        job = _sweep_record(json.loads((run.path / SWEEP_JOB).read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        return None
    if job is None:
        return None
    job["alive"] = alive_since(job["pid"], job["started"])
    job.setdefault("draws", 1)  # a sweep recorded before label draws were averaged
    try:
        results = json.loads((run.path / job["output"]).read_text(encoding="utf-8"))
        job["results"] = adapt_records(results, f"run {run.id}: {job['output']}")
    except (OSError, ValueError, RecursionError):  # running, or failed before printing
        job["results"] = None
    job["log"] = log_tail(run.path / SWEEP_LOG) if job["results"] is None else ""
    return job


def _sweep_record(job: Any) -> dict[str, Any] | None:
    """sweep-job.json if it holds what launch_sweep writes (output: a sweep-*.json name)."""

    def numbers(v: Any) -> bool:
        return isinstance(v, list) and all(
            isinstance(f, (int, float)) and not isinstance(f, bool) for f in v
        )

    if not isinstance(job, dict):
        return None
    pid, started, output = job.get("pid"), job.get("started"), job.get("output")
    checks = (
        isinstance(pid, int) and not isinstance(pid, bool),
        isinstance(started, (int, float)) and not isinstance(started, bool),
        isinstance(output, str) and _SWEEP_OUTPUT.fullmatch(output) is not None,
        numbers(job.get("fractions")),
        isinstance(job.get("modes"), list) and all(isinstance(m, str) for m in job["modes"]),
        "draws" not in job or _count(job["draws"]),
    )
    return job if all(checks) else None


def _count(value: Any) -> bool:
    """Whether `value` is an integer >= 1 (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def launch_sweep(
    run: Run,
    store: RunStore,
    fractions: Sequence[float],
    modes: Sequence[str],
    adapt_steps: int = ADAPT_STEPS,
    draws: int = SWEEP_DRAWS,
) -> dict[str, Any]:
    """Starts ``sslcore sweep`` on `run` in the background; its JSON goes to a file in the run.

    Each fraction below 100 % is adapted on `draws` label draws (its record holds their mean and
    std); finetune and scratch train `adapt_steps` steps (0: ``adapt.plateau_steps``). The
    records also land in the run's adapt.json, one by one, as the sweep goes, and its log
    (``sweep.log``) gets a progress line for each.

    Raises:
        JobError: a sweep of this run is running, the run has no checkpoint, or the settings
            are invalid.
    """
    from sslcore.train.adapt import ADAPT_MODES

    if not fractions or any(not 0 < float(f) <= 1 for f in fractions):
        raise JobError(f"label fractions: expected numbers in (0, 1], got {list(fractions)}")
    if not modes or any(m not in ADAPT_MODES for m in modes):
        raise JobError(f"modes: expected some of {ADAPT_MODES}, got {list(modes)}")
    if not _count(draws):
        raise JobError(f"draws: expected an integer >= 1, got {draws!r}")
    if not (_count(adapt_steps) or (type(adapt_steps) is int and adapt_steps == 0)):  # 0: plateau
        raise JobError(f"adapt_steps: expected an integer >= 0, got {adapt_steps!r}")
    with _store_lock(store.root):
        job = sweep_job(run)
        if job is not None and job["alive"]:
            raise JobError(f"run {run.id}: a sweep is already running (pid {job['pid']})")
        if not run.checkpoints():
            raise JobError(f"run {run.id} has no checkpoint to adapt yet")
        output = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}.json"
        argv = sweep_command(run.id, store.root, fractions, modes, adapt_steps, draws)
        try:
            proc = _spawn(argv, run.path / output, run.path / SWEEP_LOG)
        except OSError as error:
            raise JobError(f"run {run.id}: could not start the sweep: {error}") from None
        threading.Thread(target=proc.wait, daemon=True).start()  # reaps it when it ends
        record = {
            "pid": proc.pid,
            "started": time.time(),
            "fractions": [float(f) for f in fractions],
            "modes": list(modes),
            "adapt_steps": int(adapt_steps),
            "draws": int(draws),
            "output": output,
        }
        atomic_write_text(run.path / SWEEP_JOB, json.dumps(record))
    return sweep_job(run) or record
