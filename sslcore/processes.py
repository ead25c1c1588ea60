"""Is a process alive, and is it the one we think? pid checks through /proc (Linux), no psutil.

Used by sslcore.jobs to tell a running run from one whose process died (kill -9, a reboot) or
whose pid was reused by an unrelated process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["alive_since", "is_alive", "log_tail", "process_start_time"]

_START_SLACK_S = 5.0  # /proc start times are only as exact as the boot time (whole seconds)


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3… of /proc/<pid>/stat (state first), or None where there is no such file."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and ")"


def is_alive(pid: Any) -> bool:
    """True if `pid` is a process that exists and is not a zombie (finished, not yet reaped)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    fields = _proc_stat(pid)
    return fields is None or fields[0] not in ("Z", "X")


def process_start_time(pid: int) -> float | None:
    """When process `pid` started (Unix time, ±1 s), or None where /proc cannot tell."""
    fields = _proc_stat(pid)
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        boot = next(int(line.split()[1]) for line in lines if line.startswith("btime "))
        ticks = int(fields[19]) if fields else None  # field 22, starttime, in clock ticks
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return None if ticks is None else boot + ticks / os.sysconf("SC_CLK_TCK")


def alive_since(pid: Any, written: float | None) -> bool:
    """`pid` is alive and is the process that wrote a record at time `written` (or later)."""
    if not is_alive(pid):
        return False
    started = process_start_time(pid)
    return started is None or written is None or started <= written + _START_SLACK_S


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file ("" if there is none)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])
