"""What an imported run may hold beyond its records' schemas: bounded sizes, data, weights.

``sslcore.bundles.import_run`` stages a bundle's members in a folder and passes them through
these checks before the run lands in the store. The schemas of the records are
``Run.check``'s; here are the importer's own rules: JSON whose bytes and nesting are capped
before it is parsed (a 3-byte ``{},`` parses into a 64-byte dict, so bytes alone do not bound
memory), a config whose size-like fields stay within ``IMPORT_LIMITS``, data that is an embedded
dataset or ``DATA_NOT_INCLUDED`` (never a path on the importer's disk), one weights-only
checkpoint with a bounded sample shape, and a status that is never live.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from sslcore import run_records
from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.runs import Run, atomic_write_text

__all__ = [
    "DATA_NOT_INCLUDED",
    "IMPORT_LIMITS",
    "BundleError",
    "StagedRun",
    "check_checkpoint",
    "check_config",
    "check_json_sizes",
    "check_nesting",
    "one_line",
    "parse_json",
    "settle_status",
]

DATA_NOT_INCLUDED = "(data not included)"
MAX_RECORD = 2 * 2**20  # bytes of one JSON record (config, status, summary, tables)
MAX_METRICS = 32 * 2**20  # bytes of metrics.jsonl: ~150,000 steps of typical lines
MAX_LINE = 64 * 2**10  # bytes of one metrics line
MAX_DEPTH = 32  # nesting of [ and {: real records nest 4 deep at most
# Parsed JSON takes up to ~25x its text: capping the containers as well as the bytes keeps
# parsing one record within tens of MB.
MAX_CONTAINERS = 50_000
# Size-like config fields: what a resume, the report or a dashboard page would allocate or run.
IMPORT_LIMITS = {
    "steps": 1_000_000,
    "warmup_steps": 1_000_000,
    "eval_every": 1_000_000,
    "checkpoint_every": 1_000_000,
    "batch_size": 4096,
    "width": 1024,
    "seed": 2**63 - 2,  # torch generators take seed + 1 as a signed 64-bit value
}
MAX_OPTION_INT = 4096  # any integer in task_options (head widths, permutations, view size...)
MAX_SAMPLE_SIDE = 4096  # a checkpoint's sample_shape: channels, height, width or features
MAX_SAMPLE_VALUES = 2**24


class BundleError(DataError):
    """A bundle that cannot be exported or must not be imported; the message says why."""


# ---- JSON in bounded memory -------------------------------------------------------------------

# A JSON string (skipped: brackets inside it do not count) or one bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")
_DECODER = json.JSONDecoder()


def check_nesting(data: bytes, limit: int, where: str) -> None:
    """Refuses JSON text with more than `limit` containers or deeper than MAX_DEPTH, unparsed.

    One regex pass over the text, allocating nothing per token, so a hostile record is refused
    before ``json.loads`` builds or recurses into it. `where` names the text in the message.
    """
    depth = containers = 0
    for match in _TOKEN.finditer(data):
        byte = data[match.start()]
        if byte == ord('"'):
            continue
        if byte in _OPENING:
            depth, containers = depth + 1, containers + 1
            if depth > MAX_DEPTH:
                raise BundleError(f"{where} nests deeper than {MAX_DEPTH} levels")
            if containers > limit:
                raise BundleError(f"{where} holds more than {limit} JSON arrays/objects")
        else:
            depth -= 1


def parse_json(data: bytes, name: str, source: str) -> Any:
    """`data` parsed after the nesting check; BundleError if it is not JSON."""
    check_nesting(data, MAX_CONTAINERS, f"{source}: {name}")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise BundleError(f"{source}: {name} is not JSON ({error})") from None


def check_json_sizes(folder: Path, source: str) -> None:
    """Caps every staged JSON record's bytes and nesting; metrics.jsonl only in bytes here.

    Its lines are checked one at a time by StagedRun.metrics.
    """
    for path in sorted([*folder.glob("*.json"), folder / "metrics.jsonl"]):
        if not path.exists():
            continue
        cap = MAX_METRICS if path.name == "metrics.jsonl" else MAX_RECORD
        if path.stat().st_size > cap:
            raise BundleError(f"{source}: {path.name} is {path.stat().st_size} bytes (max {cap})")
        if path.name != "metrics.jsonl":
            check_nesting(path.read_bytes(), MAX_CONTAINERS, f"{source}: {path.name}")


class StagedRun(Run):
    """A run folder being imported: ``check`` validates its metrics without keeping them.

    Each line is also capped (length, nesting, count: someone else's file), parsed, validated by
    the same ``run_records.metrics_record`` and dropped, so checking a bundle's metrics takes one
    line's memory whatever their number.
    """

    def iter_metrics(self) -> Iterator[dict[str, Any]]:
        """Validates every complete metrics line with the import's caps; yields nothing.

        Lines are read as ``Run.iter_metrics`` reads them, all before this returns.
        """
        if not self.metrics_path.exists():
            return iter(())
        with open(self.metrics_path, "rb") as f:
            for number, line in enumerate(iter(lambda: f.readline(MAX_LINE + 1), b""), 1):
                where = f"run {self.id}: metrics.jsonl line {number}"
                if len(line) > MAX_LINE:
                    raise BundleError(f"{where} is longer than {MAX_LINE} bytes")
                if number > IMPORT_LIMITS["steps"] + 1:
                    raise BundleError(f"{where}: more lines than the most steps an import accepts")
                if not line.endswith(b"\n") or not line.strip():
                    continue  # unfinished (a kill mid-write) or blank: Run.metrics skips it too
                if line.count(b"[") + line.count(b"{") > MAX_DEPTH:  # a metrics line is flat
                    raise BundleError(f"{where} holds more than {MAX_DEPTH} JSON arrays/objects")
                try:
                    value = _DECODER.decode(line.decode("utf-8"))  # json.loads, less per call
                except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                    raise BundleError(f"{where} is corrupt: {line[:80]!r}") from None
                run_records.metrics_record(value, where)
        return iter(())


# ---- config, checkpoint, status --------------------------------------------------------------


def one_line(error: BaseException) -> str:
    """The first line of an exception's message (torch's can run to a page), at most 200 chars."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


def _check_bounded(value: Any, where: str, source: str, key: str = "") -> None:
    """Every number in an options tree is finite, every integer within MAX_OPTION_INT.

    Applied to task_options (the task checks names and types; the bound is the importer's) and
    to the data_options of data not included. Seeds may be any 64-bit value.
    """
    if isinstance(value, dict):
        for k, v in value.items():
            _check_bounded(v, f"{where}[{k!r}]", source, str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_bounded(v, f"{where}[{i}]", source, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        cap = IMPORT_LIMITS["seed"] if key.endswith("seed") else MAX_OPTION_INT
        if abs(value) > cap:
            raise BundleError(f"{source}: config.json {where} = {value} is beyond ±{cap}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise BundleError(f"{source}: config.json {where} is {value}: expected a finite number")


def check_config(folder: Path, source: str) -> str | None:
    """Validates and bounds config.json; replaces data that is not embedded by DATA_NOT_INCLUDED.

    Returns the data name that was replaced, or None when the config keeps its data.
    """
    from sslcore.data import dataset_names, validate_options
    from sslcore.pretext import PRETEXT_TASKS

    path = folder / "config.json"
    if not path.exists():
        raise BundleError(f"{source}: the bundle has no config.json")
    try:
        config = PretrainConfig.from_dict(parse_json(path.read_bytes(), "config.json", source))
    except (ValueError, TypeError) as error:
        raise BundleError(f"{source}: config.json is not a valid run config: {error}") from None
    if config.task not in PRETEXT_TASKS:
        raise BundleError(f"{source}: config.json task {config.task[:60]!r} is not a known task")
    for field, cap in IMPORT_LIMITS.items():
        value = getattr(config, field)
        if value is not None and value > cap:
            raise BundleError(f"{source}: config.json {field} = {value} is above {cap}")
    _check_bounded(config.task_options, "task_options", source)
    if config.data in dataset_names():
        try:
            validate_options(config.data, config.data_options)
        except (ValueError, TypeError) as error:  # DataError is a ValueError
            raise BundleError(f"{source}: config.json data_options: {error}") from None
        return None
    _check_bounded(config.data_options, "data_options", source)
    if config.data == DATA_NOT_INCLUDED:  # a bundle of an imported run
        return None
    original, config.data = config.data, DATA_NOT_INCLUDED
    atomic_write_text(path, json.dumps(config.to_dict(), indent=2))
    return original


def _check_sample_shape(shape: Any, name: str, source: str) -> None:
    """A checkpoint's sample shape ((C, H, W) or (D,)) rebuilds models without data: bounded."""
    ok = (
        isinstance(shape, (list, tuple))
        and len(shape) in (1, 3)
        and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
        and all(1 <= s <= MAX_SAMPLE_SIDE for s in shape)
        and math.prod(shape) <= MAX_SAMPLE_VALUES
    )
    if not ok:
        raise BundleError(
            f"{source}: {name} sample_shape {str(shape)[:60]} is not (C, H, W) or (D,) "
            f"of sides 1..{MAX_SAMPLE_SIDE}"
        )


def check_checkpoint(folder: Path, source: str) -> None:
    """One checkpoint, plain tensors only, its step the one in its name, a bounded sample shape."""
    points = sorted((folder / "checkpoints").glob("step-*.pt"))
    if len(points) != 1:
        raise BundleError(f"{source}: expected one checkpoint, found {len(points)}")
    path, name = points[0], f"checkpoints/{points[0].name}"
    try:  # weights_only: tensors and plain containers; mmap: tensors stay on disk
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:
        raise BundleError(f"{source}: {name} does not load safely ({one_line(error)})") from None
    if not isinstance(state, dict) or not {"step", "encoder", "head"} <= set(state):
        raise BundleError(f"{source}: {name} is not an sslcore checkpoint")
    step = state["step"]  # compared only once known to be an int (a tensor's == is a tensor)
    if not isinstance(step, int) or isinstance(step, bool) or step != int(path.stem[5:]):
        raise BundleError(f"{source}: {name} holds step {str(state['step'])[:30]}, not its own")
    if "sample_shape" in state:
        _check_sample_shape(state["sample_shape"], name, source)


def settle_status(run: Run, bundle_name: str, data: str | None) -> None:
    """Rewrites the imported status: no pid (it lives on another machine), never live.

    A run exported while running or not yet started becomes "cancelled"; the message notes
    that, and the data name when the data is not included.
    """
    status = run.status()
    state, notes = status["state"], []
    if state in ("created", "running"):
        state = "cancelled"
        notes.append(f"imported from {bundle_name[:100]!r} while it was {status['state']}")
    if data is not None:
        notes.append(f"its data {data[:100]!r} is not included")
    kept = "".join(c if c.isprintable() else " " for c in status["message"][:500])  # no escapes
    message = "; ".join([*notes, kept] if kept else notes)
    run.set_status(state, message)
