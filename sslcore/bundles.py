"""Run bundles: a run as one zip another user opens in their dashboard, validated on import.

``export_run`` packs a run's record (config, metrics, status, summary, adaptation, transfer and
landscape tables) and its final checkpoint with a manifest of sizes and SHA-256 digests. The
digests detect a damaged or truncated bundle; they are not a signature: anyone can write a bundle
whose digests match, so they say nothing about who made it.

``import_run`` therefore treats every bundle as someone else's records:

* members: names from a fixed list (no path traversal, links or extra files), stored or deflated
  and not encrypted, sizes and expansion ratios capped before anything is read; each member is
  streamed in chunks into a staging folder, never the whole bundle in memory;
* JSON: each record's size and nesting are capped before it is parsed (bounded memory, no deep
  recursion), then every record is validated by ``Run.check`` in the staging folder;
* config: a valid PretrainConfig whose size-like fields stay within ``IMPORT_LIMITS``; the data
  options of an embedded dataset pass ``sslcore.data.validate_options``;
* data: a bundle carries no data. A config naming an embedded dataset keeps it; any other
  ``data`` (a path on the exporter's disk) becomes ``DATA_NOT_INCLUDED``, so no tool on the
  importer's machine ever reads a path a bundle chose. Tools that would load the data (resume,
  the report's gallery and maps, the Embeddings page) then stop with a one-line "unknown dataset
  '(data not included)'" error; the status message keeps the original name for the record;
* checkpoint: exactly one, loaded ``weights_only`` (plain tensors, never pickled objects) and
  memory-mapped, with a bounded sample shape.

The checks beyond the zip are in ``sslcore.bundle_checks``. Any failure is a BundleError (a
DataError) naming the bundle and what is wrong. The staging
folder is renamed into the store only after every check, so an import is complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from sslcore.bundle_checks import (
    DATA_NOT_INCLUDED,
    IMPORT_LIMITS,
    BundleError,
    StagedRun,
    check_checkpoint,
    check_config,
    check_json_sizes,
    one_line,
    parse_json,
    settle_status,
)
from sslcore.errors import DataError
from sslcore.runs import Run, RunStore

__all__ = [
    "BUNDLE_FORMAT",
    "DATA_NOT_INCLUDED",
    "IMPORT_LIMITS",
    "BundleError",
    "export_run",
    "import_run",
]

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
# fullmatch everywhere: "$" would also accept a name or id that ends in a newline.
CHECKPOINT = re.compile(r"checkpoints/step-\d{6,9}\.pt")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

MAX_FILE = 512 * 2**20  # bytes, uncompressed, per member
MAX_TOTAL = 1 * 2**30
MAX_RATIO = 200  # uncompressed / compressed: above this a member is treated as a zip bomb
MAX_MANIFEST = 64 * 2**10
CHUNK = 2**20  # bytes copied at a time from the zip to the staging folder
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what export_run writes
# What zipfile, zlib and the JSON decoder raise on a damaged or unusual zip (unsupported method,
# encrypted member, corrupt deflate stream, cut-short file, undecodable name).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    RecursionError,
    UnicodeDecodeError,
    ValueError,
    OSError,
)


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


# ---- the zip: names, sizes, methods, digests ---------------------------------------------------


def _allowed(name: str) -> bool:
    return name == MANIFEST or name in RECORDS or bool(CHECKPOINT.fullmatch(name))


def _check_members(infos: list[zipfile.ZipInfo], source: str) -> None:
    """Names, counts, methods and sizes from the central directory, before reading anything."""
    bad = [i.filename for i in infos if not _allowed(i.filename) or i.is_dir()]
    if bad:
        raise BundleError(f"{source}: unexpected member(s) {bad[:5]}: not a run bundle")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise BundleError(f"{source}: duplicate member names")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise BundleError(f"{source}: {info.filename} is encrypted: not a run bundle")
        if info.compress_type not in ZIP_METHODS:
            raise BundleError(
                f"{source}: {info.filename} uses compression method {info.compress_type} "
                "(a bundle is stored or deflated)"
            )
        if info.file_size > MAX_FILE:
            raise BundleError(
                f"{source}: {info.filename} is {info.file_size} bytes (max {MAX_FILE})"
            )
        if info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BundleError(f"{source}: {info.filename} expands {MAX_RATIO}× or more: refused")
        total += info.file_size
    if total > MAX_TOTAL:
        raise BundleError(f"{source}: {total} bytes uncompressed (max {MAX_TOTAL})")


def _copy(src: IO[bytes], dst: IO[bytes], size: int, name: str, source: str) -> str:
    """Copies `src` to `dst` in chunks, refusing more or fewer than `size` bytes; its SHA-256."""
    digest, copied = hashlib.sha256(), 0
    while chunk := src.read(min(CHUNK, size + 1 - copied)):  # the header's size may lie
        copied += len(chunk)
        if copied > size:
            break
        digest.update(chunk)
        dst.write(chunk)
    if copied != size:
        raise BundleError(f"{source}: {name} is not the size its header says")
    return digest.hexdigest()


def _read_manifest(bundle: zipfile.ZipFile, source: str) -> dict[str, Any]:
    """The manifest: format, version, a valid run id and one size and digest per member."""
    try:
        info = bundle.getinfo(MANIFEST)
    except KeyError:
        raise BundleError(f"{source}: no {MANIFEST}: not an sslcore run bundle") from None
    if info.file_size > MAX_MANIFEST:
        raise BundleError(f"{source}: {MANIFEST} is {info.file_size} bytes (max {MAX_MANIFEST})")
    manifest = parse_json(bundle.read(info), MANIFEST, source)
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{source}: {MANIFEST} does not describe an {BUNDLE_FORMAT}")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{source}: bundle version {manifest.get('version')!r}, need {VERSION}")
    files, run_id = manifest.get("files"), manifest.get("run")
    if not isinstance(files, dict) or not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise BundleError(f"{source}: {MANIFEST} lacks a valid run id and file list")
    listed, present = set(files), set(bundle.namelist()) - {MANIFEST}
    if listed != present:
        raise BundleError(
            f"{source}: members {sorted(present ^ listed)} differ from the manifest's list"
        )
    for name, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BundleError(f"{source}: {MANIFEST} lacks the SHA-256 of {name}")
        if entry.get("size") != bundle.getinfo(name).file_size:
            raise BundleError(f"{source}: {name} is not the size {MANIFEST} lists (altered?)")
    return manifest


def _unpack(bundle: zipfile.ZipFile, manifest: dict[str, Any], folder: Path, source: str) -> None:
    """Streams every member into `folder`, checking each one's size and SHA-256."""
    for info in bundle.infolist():
        if info.filename == MANIFEST:
            continue
        target = folder / info.filename  # names are from the allowlist: no "..", no absolute
        target.parent.mkdir(parents=True, exist_ok=True)
        with bundle.open(info) as src, open(target, "xb") as dst:
            digest = _copy(src, dst, info.file_size, info.filename, source)
        if digest != manifest["files"][info.filename]["sha256"]:
            raise BundleError(
                f"{source}: {info.filename} does not match its SHA-256 in the manifest"
            )


def _stage(source: Path, folder: Path, label: str) -> str:
    """Checks the zip and streams its members into `folder`/<run id>; returns the run id."""
    try:
        with zipfile.ZipFile(source) as bundle:
            _check_members(bundle.infolist(), label)
            manifest = _read_manifest(bundle, label)
            _unpack(bundle, manifest, folder / manifest["run"], label)
    except FileNotFoundError:
        raise BundleError(f"{label}: no such file") from None
    except BundleError:
        raise
    except ZIP_ERRORS as error:  # encrypted, unsupported method, corrupt stream, truncated
        raise BundleError(f"{label}: not a zip file or a damaged one ({one_line(error)})") from None
    return manifest["run"]


def _check_run(run: Run, label: str) -> str | None:
    """Validates the staged run record by record; the data name not included, if any."""
    check_json_sizes(run.path, label)
    data = check_config(run.path, label)
    try:
        run.check()
    except DataError as error:
        raise BundleError(f"{label}: {error}") from None
    check_checkpoint(run.path, label)
    return data


def _land(folder: Path, store: RunStore, run_id: str) -> Path:
    """Renames the staged run into the store under its id, or ``<id>-imported[-k]`` if taken."""
    for k in range(1000):
        suffix = "" if k == 0 else "-imported" if k == 1 else f"-imported-{k}"
        final = store.root / f"{run_id}{suffix}"
        if not final.exists():
            os.rename(folder, final)
            return final
    raise BundleError(f"run {run_id} has been imported 1000 times already")


def import_run(source: Path | str, store: RunStore | None = None) -> Run:
    """Validates the bundle zip `source` and adds its run to `store` (complete, or not at all).

    The run keeps its id, with ``-imported``, ``-imported-2``, … appended if the store already
    has one of that id. Raises BundleError naming what is wrong.
    """
    store = store or RunStore()
    source = Path(source)
    store.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=store.root))
    try:  # staged as <root>/.import-XXXX/<run id>: never listed, and errors name the run id
        run = StagedRun(staging / _stage(source, staging, str(source)))
        data = _check_run(run, str(source))
        settle_status(run, source.name, data)
        return Run(_land(run.path, store, run.id))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
