"""What each record of a run folder must hold: one validator per file, naming the bad field.

Run folders are written by this machine's runs, by other processes and by imported bundles
(someone else's files), so every reader in ``sslcore.runs`` passes what it parsed through one of
these before any code relies on a field. A wrong type is then a DataError naming the run, the
file and the field, never a KeyError or AttributeError far downstream. Fields a reader does not
use are allowed (newer versions may add some); the ones it uses are typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sslcore.errors import DataError

__all__ = [
    "STATES",
    "adapt_records",
    "landscape_record",
    "metrics_record",
    "status_record",
    "summary_record",
    "transfer_rows",
]

STATES = ("created", "running", "done", "failed", "cancelled")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_optional_number(value: Any) -> bool:
    return value is None or _is_number(value)


def _is_step(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataError(f"{where}: expected a JSON list, got {type(value).__name__}")
    return value


def _fields(
    record: dict[str, Any],
    where: str,
    required: dict[str, tuple[Callable[[Any], bool], str]],
    optional: dict[str, tuple[Callable[[Any], bool], str]] | None = None,
) -> dict[str, Any]:
    """Checks `record`'s required and (when present) optional fields; returns it."""
    for name, (_, expected) in required.items():
        if name not in record:
            raise DataError(f"{where}: field {name!r} is missing (expected {expected})")
    for name, (ok, expected) in (required | (optional or {})).items():
        if name in record and not ok(record[name]):
            raise DataError(
                f"{where}: field {name!r}: expected {expected}, got {_show(record[name])}"
            )
    return record


_STATUS_OPTIONAL = {
    "pid": (lambda v: v is None or (_is_int(v) and v > 0), "a process id or null"),
    "message": (lambda v: isinstance(v, str), "a string"),
    "updated": (_is_optional_number, "a time or null"),
}


def status_record(value: Any, where: str) -> dict[str, Any]:
    """status.json: ``state`` (one of STATES), ``pid``, ``message``, ``updated``, ``previous``.

    ``previous`` is the status that a dashboard resume replaced (put back if the resume never
    starts). The result always has the first four keys.
    """
    record = _object(value, where)
    in_states = (lambda v: v in STATES, f"one of {STATES}")
    _fields(record, where, {"state": in_states}, _STATUS_OPTIONAL)
    out = {"state": record["state"], "pid": record.get("pid")}
    out |= {"message": record.get("message", ""), "updated": record.get("updated")}
    previous = record.get("previous")
    if previous is not None:
        at = f"{where} field 'previous'"
        out["previous"] = _fields(_object(previous, at), at, {"state": in_states}, _STATUS_OPTIONAL)
    return out


_SUMMARY = {
    "steps": (_is_step, "an integer >= 0"),
    "final_loss": (_is_optional_number, "a number or null"),
    "probe_accuracy": (_is_optional_number, "a number or null"),
    "knn_accuracy": (_is_optional_number, "a number or null"),
    "seconds": (_is_optional_number, "a number or null"),
}


def summary_record(value: Any, where: str) -> dict[str, Any]:
    """summary.json: an object whose figures (steps, losses, accuracies, seconds) are numbers."""
    return _fields(_object(value, where), where, {}, _SUMMARY)


def metrics_record(value: Any, where: str) -> dict[str, Any]:
    """One metrics.jsonl line: ``step`` (int >= 0) and numbers (or null) for every other field."""
    record = _fields(_object(value, where), where, {"step": (_is_step, "an integer >= 0")})
    for name, item in record.items():
        if name != "step" and not _is_optional_number(item):
            raise DataError(f"{where}: field {name!r}: expected a number, got {_show(item)}")
    return record


def _adapt_budget(value: Any) -> bool:
    """A finetune/scratch budget of an adapt.json record: ``{steps, batch_size, lr}``."""
    return (
        isinstance(value, dict)
        and set(value) == {"steps", "batch_size", "lr"}
        and (value["steps"] is None or _is_step(value["steps"]))
        and _is_step(value["batch_size"])
        and _is_number(value["lr"])
    )


def _draw_score(value: Any) -> bool:
    """One label draw's scores in an adapt.json record (what a later sweep reuses)."""
    return (
        isinstance(value, dict)
        and set(value) == {"labels", "accuracy", "test_loss", "train_loss"}
        and _is_step(value["labels"])
        and _is_number(value["accuracy"])
        and _is_optional_number(value["test_loss"])
        and _is_optional_number(value["train_loss"])
    )


_ADAPT_REQUIRED = {
    "mode": (lambda v: isinstance(v, str), "a string"),
    "label_fraction": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "accuracy": (_is_number, "a number"),
}
_ADAPT_OPTIONAL = {
    "labels": (_is_step, "an integer >= 0"),
    "test_loss": (_is_optional_number, "a number or null"),
    "train_loss": (_is_optional_number, "a number or null"),
    "seconds": (_is_optional_number, "a number or null"),
    "checkpoint_step": (lambda v: v is None or _is_step(v), "a step or null"),
    "seed": (_is_step, "an integer >= 0"),
    "draws": (lambda v: _is_step(v) and v >= 1, "an integer >= 1"),
    "budget": (lambda v: v is None or _adapt_budget(v), "null or {steps, batch_size, lr}"),
    "draw_scores": (
        lambda v: isinstance(v, list) and all(_draw_score(s) for s in v),
        "a list of {labels, accuracy, test_loss, train_loss}",
    ),
}


def _rows(value: Any, where: str, item: str, required: dict, optional: dict) -> list[Any]:
    """A JSON list of objects, each checked with `required` and `optional` fields."""
    rows = _list(value, where)
    for i, row in enumerate(rows):
        at = f"{where} {item} {i}"
        _fields(_object(row, at), at, required, optional)
    return rows


def adapt_records(value: Any, where: str) -> list[dict[str, Any]]:
    """adapt.json: a list of objects with ``mode``, ``label_fraction`` and ``accuracy``."""
    return _rows(value, where, "record", _ADAPT_REQUIRED, _ADAPT_OPTIONAL)


_TRANSFER_REQUIRED = {
    "step": (_is_step, "an integer >= 0"),
    "pretext_loss": (_is_number, "a number"),
    "adapt_train_loss": (_is_number, "a number"),
}
_TRANSFER_OPTIONAL = {
    "task": (lambda v: isinstance(v, str), "a string"),
    "adapt_test_loss": (_is_optional_number, "a number or null"),
    "accuracy": (_is_optional_number, "a number or null"),
    "seconds": (_is_optional_number, "a number or null"),
}


def transfer_rows(value: Any, where: str) -> list[dict[str, Any]]:
    """transfer.json: a list of objects with ``step``, ``pretext_loss``, ``adapt_train_loss``."""
    return _rows(value, where, "row", _TRANSFER_REQUIRED, _TRANSFER_OPTIONAL)


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value)


def _pairs(value: Any) -> bool:
    return isinstance(value, list) and all(_numbers(p) and len(p) == 2 for p in value)


_LANDSCAPE = {
    "plane": (lambda v: isinstance(v, str), "a string"),
    "steps": (lambda v: isinstance(v, list) and all(_is_step(s) for s in v), "a list of steps"),
    "a": (_numbers, "a list of numbers"),
    "b": (_numbers, "a list of numbers"),
    "loss": (lambda v: isinstance(v, list) and all(_numbers(r) for r in v), "a grid of numbers"),
    "coords": (_pairs, "a list of (a, b) pairs"),
}


def landscape_record(value: Any, where: str) -> dict[str, Any]:
    """landscape-<plane>.json: the grid ``a`` × ``b`` of ``loss`` and the path's ``coords``."""
    record = _fields(_object(value, where), where, _LANDSCAPE)
    loss, a, b = record["loss"], record["a"], record["b"]
    if len(loss) != len(a) or any(len(row) != len(b) for row in loss):
        raise DataError(f"{where}: 'loss' is not a {len(a)} × {len(b)} grid (len(a) × len(b))")
    if len(record["coords"]) != len(record["steps"]):
        raise DataError(f"{where}: 'coords' and 'steps' differ in length")
    return record
