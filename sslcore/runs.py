"""The run store: one folder per run, every write atomic, readable while the run is going.

    <root>/<run id>/config.json       the PretrainConfig
                    metrics.jsonl     one JSON object per line, appended as training goes
                    checkpoints/      step-000100.pt, ... (written to a temporary file, renamed)
                    status.json       state (created/running/done/failed/cancelled), pid, message
                    summary.json      final figures
                    .writer.lock      flock'ed by the one process writing the run (see Run.lock)

A reader (the dashboard, ``sslcore runs``) never sees half a file: JSON files and checkpoints are
renamed into place, and a metrics line cut short by a kill is ignored and dropped on resume.
Every record is someone else's (another process, an imported bundle): each reader validates
what it parsed (``sslcore.run_records``) and raises a DataError naming the run and the file, and
``RunStore.listing`` lists an unreadable run with its reason instead of failing the whole store.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sslcore import run_records
from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError
from sslcore.run_records import STATES

__all__ = [
    "Run",
    "RunListing",
    "RunLocked",
    "RunNotFound",
    "RunStore",
    "UnreadableRun",
    "atomic_write_text",
    "default_root",
]

RUNS_ENV = "SSLCORE_RUNS"
LOCK_NAME = ".writer.lock"
CHECKPOINT_NAME = re.compile(r"step-(\d{1,12})\.pt")  # what save_checkpoint writes
# The JSON records besides config, status, summary and metrics, with their validators.
TABLES: dict[str, Callable[[Any, str], Any]] = {
    "adapt.json": run_records.adapt_records,
    "transfer.json": run_records.transfer_rows,
    "landscape-pca.json": run_records.landscape_record,
    "landscape-random.json": run_records.landscape_record,
}


class RunNotFound(SslcoreError, LookupError):
    """No run of that id in the store."""


class RunLocked(SslcoreError):
    """Another process is writing the run (pretraining or resuming it): one writer per run."""


def default_root() -> Path:
    """$SSLCORE_RUNS, else ``runs/`` in the current directory."""
    return Path(os.environ.get(RUNS_ENV, "runs"))


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_text(path: Path, text: str) -> None:
    """Writes `text` to `path` through a temporary file renamed into place (fsynced first)."""
    tmp = _temporary(path)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_json(path: Path, what: str) -> Any:
    """The JSON value in `path`; DataError naming it when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what}: {path.name} is missing") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise DataError(f"{what}: {path.name} is not valid JSON ({error})") from None
    except OSError as error:  # a folder, no permission
        raise DataError(f"{what}: {path.name} cannot be read ({error})") from None


def _flock(handle: Any) -> bool:
    """Takes an exclusive flock on the open file without waiting; False if another holds one."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock to take
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_holder(path: Path) -> str:
    """The holder's pid from a lock file as ' (pid N)', or '' when it names none."""
    with contextlib.suppress(OSError, ValueError):
        return f" (pid {int(path.read_text(encoding='utf-8').strip())})"
    return ""


class Run:
    """One run folder. Cheap to construct; every property reads the files afresh."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.id = self.path.name

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    # ---- config, status, summary ---------------------------------------------------------------

    @property
    def config(self) -> PretrainConfig:
        """The run's PretrainConfig (a clear DataError if config.json is missing or invalid)."""
        values = _read_json(self.path / "config.json", f"run {self.id}")
        try:
            return PretrainConfig.from_dict(values)
        except (TypeError, ValueError, RecursionError) as error:
            raise DataError(f"run {self.id}: config.json is invalid: {error}") from None

    def _record(self, name: str, validate: Callable[[Any, str], Any]) -> Any:
        """The validated JSON record `name`, or None when the file does not exist."""
        path = self.path / name
        if not path.exists():
            return None
        return validate(_read_json(path, f"run {self.id}"), f"run {self.id}: {name}")

    def status(self) -> dict[str, Any]:
        """``{"state", "pid", "message", "updated"}``; state "created" before the run starts.

        Also ``previous`` while a dashboard resume is starting (the status it replaced).
        """
        record = self._record("status.json", run_records.status_record)
        return record or {"state": "created", "pid": None, "message": "", "updated": None}

    def set_status(
        self,
        state: str,
        message: str = "",
        pid: int | None = None,
        previous: dict[str, Any] | None = None,
    ) -> None:
        """Records the run's state (atomically); `previous`: the status this one replaces."""
        if state not in STATES:
            raise ValueError(f"state: expected one of {STATES}, got {state!r}")
        record = {"state": state, "pid": pid, "message": message, "updated": time.time()}
        if previous is not None:
            record["previous"] = {k: previous.get(k) for k in ("state", "message", "updated")}
        atomic_write_text(self.path / "status.json", json.dumps(record))

    def summary(self) -> dict[str, Any] | None:
        """The final figures, or None while the run has not finished."""
        return self._record("summary.json", run_records.summary_record)

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Writes summary.json (atomically)."""
        atomic_write_text(self.path / "summary.json", json.dumps(summary, indent=2))

    def adapt_records(self) -> list[dict[str, Any]]:
        """The adaptation results appended by ``sslcore.train.adapt`` (adapt.json), oldest first."""
        return self._record("adapt.json", TABLES["adapt.json"]) or []

    def transfer_rows(self) -> list[dict[str, Any]]:
        """L_pre and L*_adapt per checkpoint from ``sslcore.eval.transfer`` (transfer.json)."""
        return self._record("transfer.json", TABLES["transfer.json"]) or []

    def write_transfer_rows(self, rows: list[dict[str, Any]]) -> None:
        """Writes transfer.json (atomically)."""
        atomic_write_text(self.path / "transfer.json", json.dumps(rows, indent=1))

    def check(self) -> None:
        """Reads every record of the run and raises a DataError naming the first bad one.

        Config, status, summary, every metrics line, the checkpoints' names, and the stored
        tables (adapt.json, transfer.json, landscapes). What an imported bundle must pass before
        it lands, and what makes a run "readable" in ``RunStore.listing``. Checkpoints are not
        loaded (slow); ``load_checkpoint`` names a corrupt one.
        """
        _ = self.config
        self.status()
        self.summary()
        for _ in self.iter_metrics():  # validated line by line, none kept
            pass
        self._check_checkpoint_names()
        for name, validate in TABLES.items():
            self._record(name, validate)

    def _check_checkpoint_names(self) -> None:
        """Every entry of checkpoints/ is a plain file named step-<digits>.pt.

        Hidden files (a save's temporary, a corrupt checkpoint set aside) are left alone.
        """
        folder = self.checkpoint_dir
        if not folder.exists() and not folder.is_symlink():
            return
        if folder.is_symlink() or not folder.is_dir():
            raise DataError(f"run {self.id}: checkpoints is not a folder")
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if not CHECKPOINT_NAME.fullmatch(path.name) or path.is_symlink() or not path.is_file():
                raise DataError(
                    f"run {self.id}: checkpoints/{path.name!r} is not a checkpoint file "
                    "(expected plain files named step-<step>.pt)"
                )

    # ---- metrics ------------------------------------------------------------------------------

    @property
    def metrics_path(self) -> Path:
        """The run's metrics.jsonl."""
        return self.path / "metrics.jsonl"

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Appends one JSON line (flushed; a kill can cut only this last line short)."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def metrics(self) -> list[dict[str, Any]]:
        """Every complete metrics line, in order (see `iter_metrics`)."""
        return list(self.iter_metrics())

    def iter_metrics(self) -> Iterator[dict[str, Any]]:
        """Every complete metrics line, in order, read one line at a time.

        An unfinished last line (a kill mid-write) is left out; a corrupt line elsewhere, or one
        that is not a record (an object with an integer ``step`` and numbers), is a DataError
        naming it. ``check`` streams through it, so listing a store holds one line per run.
        """
        if not self.metrics_path.exists():
            return
        try:
            with open(self.metrics_path, encoding="utf-8", newline="\n") as f:
                for number, line in enumerate(f, 1):
                    if not line.endswith("\n"):
                        return  # text after the last newline is unfinished
                    if not line.strip():
                        continue
                    where = f"run {self.id}: metrics.jsonl line {number}"
                    try:
                        value = json.loads(line)
                    except (ValueError, RecursionError):
                        raise DataError(f"{where} is corrupt: {line[:80]!r}") from None
                    yield run_records.metrics_record(value, where)
        except DataError:
            raise
        except (OSError, ValueError) as error:  # a folder, binary bytes
            raise DataError(f"run {self.id}: metrics.jsonl cannot be read ({error})") from None

    def truncate_metrics(self, last_step: int) -> None:
        """Keeps the metrics of steps ≤ `last_step`.

        A resume from that checkpoint redoes the later steps, so their lines are dropped and the
        log continues exactly.
        """
        kept = [r for r in self.metrics() if int(r.get("step", 0)) <= last_step]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    # ---- checkpoints ----------------------------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        """The run's checkpoints/ folder."""
        return self.path / "checkpoints"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every complete checkpoint, by step (step-<digits>.pt files only)."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for path in self.checkpoint_dir.glob("step-*.pt"):
            match = CHECKPOINT_NAME.fullmatch(path.name)
            if match and path.is_file():
                found.append((int(match.group(1)), path))
        return sorted(found)

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> Path:
        """torch.save(state) as checkpoints/step-<step>.pt, atomically; returns its path."""
        self.checkpoint_dir.mkdir(exist_ok=True)
        path = self.checkpoint_dir / f"step-{step:06d}.pt"
        tmp = _temporary(path)
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    def load_checkpoint(self, step: int | None = None) -> dict[str, Any]:
        """The state saved at `step` (default: the last). DataError if none or corrupt."""
        points = self.checkpoints()
        if not points:
            raise DataError(f"run {self.id}: has no checkpoint yet")
        chosen = points[-1] if step is None else next((p for p in points if p[0] == step), None)
        if chosen is None:
            raise DataError(
                f"run {self.id}: no checkpoint at step {step}; have {[s for s, _ in points]}"
            )
        try:
            return torch.load(chosen[1], map_location="cpu", weights_only=True)
        except Exception as error:  # a truncated or foreign file: say which, never crash
            raise DataError(
                f"run {self.id}: checkpoint {chosen[1].name} is corrupt ({error})"
            ) from None

    # ---- one writer -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the run's writer lock while the block runs; RunLocked at once if it is held.

        ``fcntl.flock`` on ``.writer.lock`` in the run folder: it works across processes and the
        OS releases it when its holder exits however it ends (kill -9 included), so a crash
        leaves no stale lock. The holder's pid is written into the file only to name it in the
        refusal. Without fcntl (Windows) one writer per run is not enforced.
        """
        path = self.path / LOCK_NAME
        with open(path, "a+", encoding="utf-8") as handle:
            if not _flock(handle):
                raise RunLocked(
                    f"run {self.id} is being written by another process{_lock_holder(path)}: "
                    "wait for it to end or cancel it"
                )
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield  # closing the file releases the lock

    def writer(self) -> str | None:
        """Who holds the writer lock ("pid N" or "another process"), or None if no one does."""
        path = self.path / LOCK_NAME
        try:
            with open(path, "a+", encoding="utf-8") as handle:
                if _flock(handle):
                    return None  # free (released again as the file closes)
        except OSError:  # a read-only or vanished folder: no writer can be using it either
            return None
        return _lock_holder(path).strip(" ()") or "another process"


class RunStore:
    """The runs under one root folder.

    Args:
        root: the folder (created when a run is); default `default_root()`.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def create(self, config: PretrainConfig) -> Run:
        """A new run folder named ``<time>-<task>-<data>-s<seed>`` with its config.json."""
        stem = time.strftime("%Y%m%d-%H%M%S")
        data = Path(config.data).name.replace(" ", "_") or "data"
        base = f"{stem}-{config.task}-{data}-s{config.seed}"
        self.root.mkdir(parents=True, exist_ok=True)
        for k in range(1000):
            path = self.root / (base if k == 0 else f"{base}-{k}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - a thousand runs in one second
            raise SslcoreError(f"cannot create a run folder under {self.root}")
        run = Run(path)
        atomic_write_text(path / "config.json", json.dumps(config.to_dict(), indent=2))
        return run

    def open(self, run_id: str | Path) -> Run:
        """The run `run_id` (a folder name in the store, or a path to a run folder)."""
        candidate = Path(run_id)
        path = candidate if (candidate / "config.json").exists() else self.root / str(run_id)
        if not (path / "config.json").exists():
            known = [r.id for r in self.list()]
            hint = f"; runs in {self.root}: {', '.join(known[-5:])}" if known else ""
            raise RunNotFound(f"run {str(run_id)!r} not found{hint}")
        return Run(path)

    def list(self) -> list[Run]:
        """Every run folder in the store, oldest first, readable or not (see `listing`)."""
        return sorted(self._iter(), key=lambda r: r.id)

    def listing(self) -> RunListing:
        """The store's runs split into readable ones and unreadable ones with the reason.

        What ``sslcore runs`` and every dashboard page list: a run whose records fail
        `Run.check` is shown as unreadable and never breaks the others.
        """
        readable, unreadable = [], []
        for run in self.list():
            try:
                run.check()
            except DataError as error:
                unreadable.append(UnreadableRun(run, str(error)))
            else:
                readable.append(run)
        return RunListing(readable, unreadable)

    def _iter(self) -> Iterator[Run]:
        """Folders with a config.json; hidden ones (an import being unpacked) are not runs."""
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if path.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                if path.is_dir() and (path / "config.json").exists():
                    yield Run(path)


@dataclass(frozen=True)
class UnreadableRun:
    """A run folder some record of which cannot be read, and why (`Run.check`'s message)."""

    run: Run
    reason: str

    @property
    def id(self) -> str:
        """The run's id (its folder name)."""
        return self.run.id


@dataclass(frozen=True)
class RunListing:
    """`RunStore.listing`: the readable runs and the unreadable ones, each oldest first."""

    readable: list[Run]
    unreadable: list[UnreadableRun]
