"""Run bundles: a run as one zip another user opens in their dashboard, validated on import.

``export_run`` packs a run's record (config, metrics, status, summary, adaptation, transfer and
landscape tables) and its final checkpoint with a manifest of sizes and SHA-256 digests.
``import_run`` trusts nothing in a zip: every member name must be one of the names a bundle can
hold (so no path traversal, links or extra files), sizes are capped before anything is read,
digests must match, the config must be a valid PretrainConfig and the checkpoint must load as
plain tensors (``weights_only``). It unpacks into a temporary folder in the store and renames it
into place, so an import is complete or absent.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.runs import Run, RunStore

__all__ = ["BUNDLE_FORMAT", "BundleError", "export_run", "import_run"]

BUNDLE_FORMAT = "sslcore-run-bundle"
VERSION = 1
MANIFEST = "bundle.json"
RECORDS = (
    "config.json",
    "metrics.jsonl",
    "status.json",
    "summary.json",
    "adapt.json",
    "transfer.json",
    "landscape-pca.json",
    "landscape-random.json",
)
CHECKPOINT = re.compile(r"^checkpoints/step-\d{6,9}\.pt$")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_FILE = 512 * 2**20  # bytes, uncompressed, per member
MAX_TOTAL = 1 * 2**30
MAX_RATIO = 200  # uncompressed / compressed: above this a member is treated as a zip bomb


class BundleError(DataError):
    """A bundle that cannot be exported or must not be imported; the message says why."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_run(run: Run, out: Path | str) -> Path:
    """Writes `run` as a bundle zip at `out` (atomically): its records and final checkpoint."""
    config = run.config  # a DataError if the run is unreadable
    points = run.checkpoints()
    if not points:
        raise BundleError(f"run {run.id} has no checkpoint to export yet")
    names = [n for n in RECORDS if (run.path / n).exists()]
    step, last = points[-1]
    members = {n: (run.path / n).read_bytes() for n in names}
    members[f"checkpoints/{last.name}"] = last.read_bytes()
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": VERSION,
        "run": run.id,
        "task": config.task,
        "step": step,
        "files": {n: {"size": len(b), "sha256": _digest(b)} for n, b in members.items()},
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for name, data in members.items():
            bundle.writestr(name, data)
    os.replace(tmp, out)
    return out


def _allowed(name: str) -> bool:
    return name == MANIFEST or name in RECORDS or bool(CHECKPOINT.match(name))


def _read_members(bundle: zipfile.ZipFile, source: str) -> dict[str, bytes]:
    """Every member's bytes, after checking names, counts and sizes (before reading any)."""
    infos = bundle.infolist()
    bad = [i.filename for i in infos if not _allowed(i.filename) or i.is_dir()]
    if bad:
        raise BundleError(f"{source}: unexpected member(s) {bad[:5]}: not a run bundle")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise BundleError(f"{source}: duplicate member names")
    total = 0
    for info in infos:
        if info.file_size > MAX_FILE:
            raise BundleError(
                f"{source}: {info.filename} is {info.file_size} bytes (max {MAX_FILE})"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise BundleError(f"{source}: {info.filename} expands {MAX_RATIO}× or more: refused")
        total += info.file_size
    if total > MAX_TOTAL:
        raise BundleError(f"{source}: {total} bytes uncompressed (max {MAX_TOTAL})")
    out = {}
    for info in infos:
        with bundle.open(info) as f:
            data = f.read(MAX_FILE + 1)  # the header's size may lie: never read past the cap
        if len(data) != info.file_size:
            raise BundleError(f"{source}: {info.filename} is not the size its header says")
        out[info.filename] = data
    return out


def _check_manifest(members: dict[str, bytes], source: str) -> dict[str, Any]:
    if MANIFEST not in members:
        raise BundleError(f"{source}: no {MANIFEST}: not an sslcore run bundle")
    try:
        manifest = json.loads(members[MANIFEST])
    except ValueError as error:
        raise BundleError(f"{source}: {MANIFEST} is not JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{source}: {MANIFEST} does not describe an {BUNDLE_FORMAT}")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{source}: bundle version {manifest.get('version')!r}, need {VERSION}")
    files = manifest.get("files")
    run_id = manifest.get("run")
    if not isinstance(files, dict) or not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise BundleError(f"{source}: {MANIFEST} lacks a valid run id and file list")
    listed, present = set(files), set(members) - {MANIFEST}
    if listed != present:
        raise BundleError(
            f"{source}: members {sorted(present ^ listed)} differ from the manifest's list"
        )
    for name, entry in files.items():
        data = members[name]
        if not isinstance(entry, dict) or entry.get("sha256") != _digest(data):
            raise BundleError(f"{source}: {name} does not match its SHA-256 in the manifest")
    return manifest


def _check_content(members: dict[str, bytes], source: str) -> None:
    """The config is a PretrainConfig, JSON records parse, the checkpoint holds plain tensors."""
    if "config.json" not in members:
        raise BundleError(f"{source}: the bundle has no config.json")
    try:
        PretrainConfig.from_dict(json.loads(members["config.json"]))
    except (ValueError, TypeError) as error:
        raise BundleError(f"{source}: config.json is not a valid run config: {error}") from None
    for name, data in members.items():
        if name.endswith(".json") and name != MANIFEST:
            try:
                json.loads(data)
            except ValueError:
                raise BundleError(f"{source}: {name} is not JSON") from None
        if name == "metrics.jsonl":
            try:
                [json.loads(line) for line in data.decode().splitlines() if line.strip()]
            except ValueError:
                raise BundleError(f"{source}: metrics.jsonl has a line that is not JSON") from None
    checkpoints = [n for n in members if CHECKPOINT.match(n)]
    if len(checkpoints) != 1:
        raise BundleError(f"{source}: expected one checkpoint, found {len(checkpoints)}")
    try:  # weights_only: tensors and plain containers, never arbitrary pickled objects
        state = torch.load(
            io.BytesIO(members[checkpoints[0]]), map_location="cpu", weights_only=True
        )
    except Exception as error:
        raise BundleError(f"{source}: {checkpoints[0]} does not load safely ({error})") from None
    if not isinstance(state, dict) or not {"step", "encoder", "head"} <= set(state):
        raise BundleError(f"{source}: {checkpoints[0]} is not an sslcore checkpoint")


def import_run(source: Path | str, store: RunStore | None = None) -> Run:
    """Validates the bundle zip `source` and adds its run to `store` (complete, or not at all).

    The run keeps its id, with ``-imported``, ``-imported-2``, … appended if the store already
    has one of that id. Raises BundleError naming what is wrong.
    """
    store = store or RunStore()
    source = Path(source)
    label = str(source)
    try:
        with zipfile.ZipFile(source) as bundle:
            members = _read_members(bundle, label)
    except FileNotFoundError:
        raise BundleError(f"{label}: no such file") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleError(f"{label}: not a zip file ({error})") from None
    manifest = _check_manifest(members, label)
    _check_content(members, label)
    store.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=store.root))
    try:
        for name, data in members.items():
            if name == MANIFEST:
                continue
            target = staging / name  # names are from the allowlist: no "..", no absolute paths
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        run_id = manifest["run"]
        for k in range(1000):
            suffix = "" if k == 0 else "-imported" if k == 1 else f"-imported-{k}"
            final = store.root / f"{run_id}{suffix}"
            if not final.exists():
                break
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    run = Run(final)
    if run.status()["state"] in ("created", "running"):  # its process lives on another machine
        run.set_status("cancelled", f"imported from {source.name} while it was running")
    return run
