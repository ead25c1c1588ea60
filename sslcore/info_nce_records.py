"""Timing records of the InfoNCE benchmark: checked, tabulated and compared.

A record is the dict ``sslcore.info_nce_timing.measure_in_subprocess`` returns and
``benchmarks/bench_info_nce.py --json`` writes under ``"records"``. The dashboard reads uploaded
JSON through `parse_benchmark_json`, which names what is wrong with a file instead of failing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["check_records", "contender_ratios", "failed", "parse_benchmark_json", "timing_rows"]

_REQUIRED = ("N", "D", "contender", "ms", "peak_mb", "error")
_OPTIONAL_NUMBERS = ("threads", "rss_mb", "gflop", "gflops")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_record(record: Any, i: int) -> dict[str, Any]:
    where = f"records[{i}]"
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected an object, got {_json_type(record)}")
    missing = [k for k in _REQUIRED if k not in record]
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(repr(k) for k in missing)}")
    for key in ("N", "D"):
        value = record[key]
        if not (isinstance(value, int) and not isinstance(value, bool)) or value < 1:
            raise ValueError(f"{where}: {key!r} should be an integer >= 1, got {value!r}")
    if not isinstance(record["contender"], str) or not record["contender"]:
        raise ValueError(f"{where}: 'contender' should be a name, got {record['contender']!r}")
    error = record["error"]
    if error is not None and not isinstance(error, str):
        raise ValueError(f"{where}: 'error' should be null or a string, got {_json_type(error)}")
    for key in ("ms", "peak_mb", *_OPTIONAL_NUMBERS):
        value = record.get(key)
        if value is not None and not _is_number(value):
            raise ValueError(f"{where}: {key!r} should be a number or null, got {value!r}")
    if error is None:
        ms, peak = record["ms"], record["peak_mb"]
        if ms is None or not math.isfinite(ms) or ms < 0:
            raise ValueError(f"{where}: 'ms' should be a time >= 0 when 'error' is null, got {ms}")
        if peak is not None and (not math.isfinite(peak) or peak < 0):
            raise ValueError(f"{where}: 'peak_mb' should be >= 0 or null, got {peak}")
    return {**dict.fromkeys(_OPTIONAL_NUMBERS), **record}


def check_records(records: Any) -> list[dict[str, Any]]:
    """Validated copies of timing records (a list of dicts); the optional numbers default to None.

    Raises:
        ValueError: not a non-empty list, or a record lacks a key or has a value of the wrong
            type; the message names the record and the key.
    """
    if not isinstance(records, (list, tuple)):
        raise ValueError(f"'records' should be an array of records, got {_json_type(records)}")
    if not records:
        raise ValueError("'records' is empty: the benchmark measured nothing")
    return [_check_record(r, i) for i, r in enumerate(records)]


def parse_benchmark_json(data: bytes) -> list[dict[str, Any]]:
    """The records of the JSON ``benchmarks/bench_info_nce.py --json`` writes.

    The file is ``{"benchmark": "info_nce", "meta": {...}, "records": [{"N", "D", "contender",
    "ms", "peak_mb", "error", ...}, ...], ...}``; a record with an ``error`` (e.g. out of memory)
    may have null numbers. Other keys are ignored.

    Raises:
        ValueError: the bytes are not UTF-8 JSON of that structure; the message says what is wrong.
    """
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object with 'meta' and 'records', got {_json_type(doc)}")
    if doc.get("benchmark", "info_nce") != "info_nce":
        raise ValueError(
            f"this is the {doc['benchmark']!r} benchmark's JSON, not bench_info_nce.py's "
            "('info_nce')"
        )
    if "records" not in doc:
        raise ValueError(
            f"missing 'records': expected {{'meta': {{...}}, 'records': [...]}}, "
            f"found keys {sorted(doc)}"
        )
    if doc.get("meta") is not None and not isinstance(doc["meta"], dict):
        raise ValueError(f"'meta' should be an object, got {_json_type(doc['meta'])}")
    return check_records(doc["records"])


def failed(record: Mapping[str, Any]) -> bool:
    """Whether a record carries an error instead of numbers."""
    return record.get("error") is not None


def _round(value: Any, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def timing_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Timing records as table rows: the numbers rounded, none for a record with an error."""
    rows = []
    for r in records:
        bad = failed(r)
        rows.append(
            {
                "N": int(r["N"]),
                "D": int(r["D"]),
                "contender": r["contender"],
                "threads": r.get("threads"),
                "ms / step": None if bad else _round(r.get("ms"), 3),
                "peak MB": None if bad else _round(r.get("peak_mb"), 2),
                "RSS MB": None if bad else _round(r.get("rss_mb"), 1),
                "GFLOP/s": None if bad else _round(r.get("gflops"), 2),
                "error": r.get("error"),
            }
        )
    return rows


def contender_ratios(
    records: Sequence[Mapping[str, Any]], ours: str = "sslcore"
) -> list[dict[str, Any]]:
    """Per size and other contender: its time and peak memory over ours (> 1: ours is better).

    Returns:
        One dict per (N, D, threads, other contender), sorted by N: ``N``, ``D``, ``threads``,
        ``contender``, ``speed`` (other ms / our ms), ``memory`` (other peak / our peak), each
        None where either side failed or has no positive number, and ``error`` (either side's).
    """
    by_key: dict[tuple, dict[str, Mapping[str, Any]]] = {}
    for r in records:
        by_key.setdefault((int(r["N"]), int(r["D"]), r.get("threads")), {})[r["contender"]] = r

    def ratio(theirs: Mapping[str, Any], mine: Mapping[str, Any], metric: str) -> float | None:
        a, b = theirs.get(metric), mine.get(metric)
        if failed(theirs) or failed(mine) or a is None or b is None or not b > 0:
            return None
        return float(a) / float(b)

    rows = []
    for (n, d, threads), found in sorted(by_key.items(), key=lambda kv: kv[0][:2]):
        mine = found.get(ours)
        if mine is None:
            continue
        for name, theirs in found.items():
            if name == ours:
                continue
            rows.append(
                {
                    "N": n,
                    "D": d,
                    "threads": threads,
                    "contender": name,
                    "speed": ratio(theirs, mine, "ms"),
                    "memory": ratio(theirs, mine, "peak_mb"),
                    "error": theirs.get("error") or mine.get("error"),
                }
            )
    return rows
