"""The run store: one folder per run, every write atomic, readable while the run is going.

    <root>/<run id>/config.json       the PretrainConfig
                    metrics.jsonl     one JSON object per line, appended as training goes
                    checkpoints/      step-000100.pt, ... (written to a temporary file, renamed)
                    status.json       state (created/running/done/failed/cancelled), pid, message
                    summary.json      final figures

A reader (the dashboard, ``sslcore runs``) never sees half a file: JSON files and checkpoints are
renamed into place, and a metrics line cut short by a kill is ignored and dropped on resume.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError

__all__ = ["Run", "RunNotFound", "RunStore", "atomic_write_text", "default_root"]

RUNS_ENV = "SSLCORE_RUNS"
STATES = ("created", "running", "done", "failed", "cancelled")


class RunNotFound(SslcoreError, LookupError):
    """No run of that id in the store."""


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
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{what}: {path} is not valid JSON ({error})") from None


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
        except (TypeError, ValueError) as error:
            raise DataError(f"run {self.id}: config.json is invalid: {error}") from None

    def status(self) -> dict[str, Any]:
        """``{"state", "pid", "message", "updated"}``; state "created" before the run starts."""
        path = self.path / "status.json"
        if not path.exists():
            return {"state": "created", "pid": None, "message": "", "updated": None}
        return _read_json(path, f"run {self.id}")

    def set_status(self, state: str, message: str = "", pid: int | None = None) -> None:
        """Records the run's state (atomically)."""
        if state not in STATES:
            raise ValueError(f"state: expected one of {STATES}, got {state!r}")
        record = {"state": state, "pid": pid, "message": message, "updated": time.time()}
        atomic_write_text(self.path / "status.json", json.dumps(record))

    def summary(self) -> dict[str, Any] | None:
        """The final figures, or None while the run has not finished."""
        path = self.path / "summary.json"
        return _read_json(path, f"run {self.id}") if path.exists() else None

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Writes summary.json (atomically)."""
        atomic_write_text(self.path / "summary.json", json.dumps(summary, indent=2))

    def adapt_records(self) -> list[dict[str, Any]]:
        """The adaptation results appended by ``sslcore.train.adapt`` (adapt.json), oldest first."""
        path = self.path / "adapt.json"
        return _read_json(path, f"run {self.id}") if path.exists() else []

    def transfer_rows(self) -> list[dict[str, Any]]:
        """L_pre and L*_adapt per checkpoint from ``sslcore.eval.transfer`` (transfer.json)."""
        path = self.path / "transfer.json"
        return _read_json(path, f"run {self.id}") if path.exists() else []

    def write_transfer_rows(self, rows: list[dict[str, Any]]) -> None:
        """Writes transfer.json (atomically)."""
        atomic_write_text(self.path / "transfer.json", json.dumps(rows, indent=1))

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
        """Every complete metrics line, in order.

        An unfinished last line (a kill mid-write) is left out; a corrupt line elsewhere is a
        DataError naming it.
        """
        if not self.metrics_path.exists():
            return []
        lines = self.metrics_path.read_text(encoding="utf-8").split("\n")
        complete, rest = lines[:-1], lines[-1]  # text after the last newline is unfinished
        records = []
        for number, line in enumerate(complete, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataError(
                    f"run {self.id}: metrics.jsonl line {number} is corrupt: {line[:80]!r}"
                ) from None
        del rest
        return records

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
        """(step, path) of every complete checkpoint, by step."""
        if not self.checkpoint_dir.exists():
            return []
        found = []
        for path in self.checkpoint_dir.glob("step-*.pt"):
            try:
                found.append((int(path.stem.removeprefix("step-")), path))
            except ValueError:
                continue
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
        """Every run in the store, oldest first."""
        return sorted(self._iter(), key=lambda r: r.id)

    def _iter(self) -> Iterator[Run]:
        if not self.root.exists():
            return
        for path in self.root.iterdir():
            if path.is_dir() and (path / "config.json").exists():
                yield Run(path)
