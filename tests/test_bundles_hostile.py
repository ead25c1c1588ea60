"""Bundles whose digests match but whose content is hostile: refused in one line, store untouched.

Each bundle is built in tmp_path from a real export with its manifest's digests recomputed, so
only the checks of the content (records, config, data, checkpoint, zip structure) can stop it.
"""

import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch

from sslcore.bundle_checks import DATA_NOT_INCLUDED, MAX_DEPTH, MAX_LINE
from sslcore.bundles import BundleError, export_run, import_run
from sslcore.cli import main
from sslcore.data import load_dataset
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain
from tests.test_bundles import TINY, members, rewrite


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    torch.set_num_threads(1)
    run = pretrain(TINY, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)
    return export_run(run, tmp_path_factory.mktemp("out") / "run.zip")


def _set(name, value):
    """A change for `rewrite`: member `name` becomes `value` (bytes, or JSON of it)."""
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return lambda files: files.__setitem__(name, data)


def _config(**fields):
    """A change for `rewrite`: config.json with `fields` replaced."""

    def change(files):
        files["config.json"] = json.dumps(json.loads(files["config.json"]) | fields).encode()

    return change


def _refused(path, store_root, match):
    """import_run(path) is a one-line BundleError matching `match`; nothing lands in the store."""
    store = RunStore(store_root)
    with pytest.raises(BundleError, match=match) as error:
        import_run(path, store)
    assert "\n" not in str(error.value)
    assert not store.root.exists() or not list(store.root.iterdir())  # no staging left either
    return error.value


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_set("summary.json", [1]), "summary.json: expected a JSON object"),
        (_set("metrics.jsonl", b'{"step": 1}\n[1]\n"x"\n'), "metrics.jsonl line 2"),
        (_set("metrics.jsonl", b'{"step": 1, "loss": "high"}\n'), "metrics.jsonl line 1"),
        (_set("status.json", {}), "status.json: field 'state' is missing"),
        (_set("status.json", {"state": "exploded"}), "status.json: field 'state'"),
        (_set("adapt.json", {"mode": 1}), "adapt.json: expected a JSON list"),
    ],
)
def test_records_of_the_wrong_shape_never_land(bundle, tmp_path, change, match):
    _refused(rewrite(bundle, tmp_path / "bad.zip", change), tmp_path / "store", match)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (b'{"step": 1, "loss": ' + b" " * MAX_LINE + b"1}\n", "longer than"),
        (b'{"step": 1, "x": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}\n", "JSON"),
    ],
    ids=["long-line", "deep-line"],
)
def test_metrics_lines_get_the_import_caps(bundle, tmp_path, line, match):
    """The import's own caps on metrics lines hold when Run.check reads them."""
    _refused(
        rewrite(bundle, tmp_path / "bad.zip", _set("metrics.jsonl", line)), tmp_path / "s", match
    )


def test_a_status_of_the_wrong_shape_is_one_line_on_the_cli(bundle, tmp_path, capsys):
    bad = rewrite(bundle, tmp_path / "bad.zip", _set("status.json", {}))
    assert main(["import", str(bad), "--out", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "status.json" in err and "Traceback" not in err
    assert not list((tmp_path / "store").iterdir())


def test_data_at_a_path_is_never_read_on_the_importers_disk(bundle, tmp_path):
    secret = tmp_path / "secret.npz"  # data the bundle points at on the importer's machine
    np.savez(secret, x=np.ones((20, 4), np.float32), y=np.arange(20) % 2)
    bad = rewrite(bundle, tmp_path / "bad.zip", _config(data=str(secret), data_options={}))
    run = import_run(bad, RunStore(tmp_path / "store"))
    assert run.config.data == DATA_NOT_INCLUDED
    assert str(secret) not in (run.path / "config.json").read_text()
    assert "not included" in run.status()["message"] and run.status()["state"] == "done"
    with pytest.raises(ValueError, match="data not included") as error:
        load_dataset(run.config.data, **run.config.data_options)  # what resume, report... call
    assert "\n" not in str(error.value)
    again = import_run(export_run(run, tmp_path / "again.zip"), RunStore(tmp_path / "store2"))
    assert again.config.data == DATA_NOT_INCLUDED  # a re-exported import keeps its marker


def test_an_embedded_dataset_keeps_its_name(bundle, tmp_path):
    run = import_run(bundle, RunStore(tmp_path / "store"))
    assert run.config.data == "wine" and run.status()["message"] == ""


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_config(data="shapes", data_options={"n": 10**9}), "data_options"),
        (_config(data="shapes", data_options={"n": 1e9}), "data_options"),
        (_config(data="/elsewhere", data_options={"n": 10**9}), r"data_options\['n'\]"),
        (_config(steps=10**9), "steps = 1000000000 is above"),
        (_config(batch_size=10**7), "batch_size"),
        (_config(width=10**6), "width"),
        (_config(seed=2**70), "seed"),
        (_config(task_options={"hidden": 10**9}), r"task_options\['hidden'\]"),
        (_config(task_options={"spec": {"size": [10**6, 10**6]}}), r"\['size'\]\[0\]"),
        (_config(task="no-such-task"), "not a known task"),
    ],
)
def test_size_like_config_fields_are_bounded(bundle, tmp_path, change, match):
    _refused(rewrite(bundle, tmp_path / "bad.zip", change), tmp_path / "store", match)


def _checkpoint_with(bundle, **changes):
    """A change for `rewrite`: the bundle's checkpoint with `changes` applied to its state."""
    name = next(n for n in members(bundle) if n.startswith("checkpoints/"))
    state = torch.load(io.BytesIO(members(bundle)[name]), weights_only=True) | changes
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return _set(name, buffer.getvalue())


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"sample_shape": [10**6, 10**6, 3]}, "sample_shape"),
        ({"sample_shape": [13, 2]}, "sample_shape"),
        ({"step": 10**6}, "holds step"),
        ({"step": torch.tensor([4, 4])}, "holds step"),
    ],
)
def test_a_checkpoint_that_would_rebuild_something_else_is_refused(
    bundle, tmp_path, changes, match
):
    bad = rewrite(bundle, tmp_path / "bad.zip", _checkpoint_with(bundle, **changes))
    _refused(bad, tmp_path / "store", match)


def test_imported_status_is_never_live_and_has_no_pid(bundle, tmp_path):
    status = {"state": "done", "pid": 1, "message": "ok\x1b[2J", "updated": 0}  # pid 1: init here
    run = import_run(
        rewrite(bundle, tmp_path / "b.zip", _set("status.json", status)), RunStore(tmp_path / "s")
    )
    assert run.status()["pid"] is None and run.status()["state"] == "done"
    assert run.status()["message"] == "ok [2J"  # kept, without the terminal escape


# ---- run ids and member names match whole strings ---------------------------------------------


def test_a_run_id_ending_in_a_newline_is_refused(bundle, tmp_path):
    def evil_id(files):
        files["bundle.json"] = json.dumps(json.loads(files["bundle.json"]) | {"run": "evilrun\n"})

    files = members(bundle)
    evil_id(files)
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    _refused(tmp_path / "bad.zip", tmp_path / "store", "valid run id")


def test_a_checkpoint_name_ending_in_a_newline_is_refused(bundle, tmp_path):
    def renamed(files):
        name = next(n for n in files if n.startswith("checkpoints/"))
        files[name + "\n"] = files.pop(name)

    bad = rewrite(bundle, tmp_path / "bad.zip", renamed)
    _refused(bad, tmp_path / "store", "unexpected member")


# ---- damaged or unusual zips: one line, exit 2 -----------------------------------------------


def _patch_member(path, name, local_offset, central_offset, value):
    """Writes the 2-byte `value` at a field of `name`'s local header and central directory entry.

    Local header: flags at 6, method at 8; central directory entry: flags at 8, method at 10.
    """
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(name).header_offset
    struct.pack_into("<H", data, local + local_offset, value)
    (central,) = struct.unpack_from("<I", data, data.rindex(b"PK\x05\x06") + 16)
    while True:  # walk the central directory to `name`'s entry
        n, m, k = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + n] == name.encode():
            break
        central += 46 + n + m + k
    struct.pack_into("<H", data, central + central_offset, value)
    path.write_bytes(bytes(data))
    return path


def _deflated(bundle, out):
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, b in members(bundle).items():
            z.writestr(n, b)
    return out


def _encrypted(bundle, tmp_path):
    return _patch_member(_deflated(bundle, tmp_path / "z.zip"), "summary.json", 6, 8, 0x1)


def _method_99(bundle, tmp_path):
    return _patch_member(_deflated(bundle, tmp_path / "z.zip"), "summary.json", 8, 10, 99)


def _lzma(bundle, tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w", compression=zipfile.ZIP_LZMA) as z:
        for n, b in members(bundle).items():
            z.writestr(n, b)
    return tmp_path / "z.zip"


def _corrupt_deflate(bundle, tmp_path):
    path = _deflated(bundle, tmp_path / "z.zip")
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("config.json")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start : start + 8] = b"\xff" * 8  # deflate block type 3: invalid
    path.write_bytes(bytes(data))
    return path


def _truncated(bundle, tmp_path):
    path = tmp_path / "z.zip"
    path.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    return path


def _nested(name):
    deep = b"[" * 5000 + b"]" * 5000  # past the recursion limit; stored: no ratio check

    def make(bundle, tmp_path):
        if name == "metrics.jsonl":  # a complete line (an unfinished last one is skipped)
            return rewrite(bundle, tmp_path / "z.zip", _set(name, deep + b"\n"))
        if name != "bundle.json":
            return rewrite(bundle, tmp_path / "z.zip", _set(name, deep))
        with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
            for n, b in (members(bundle) | {name: deep}).items():
                z.writestr(n, b)
        return tmp_path / "z.zip"

    return make


DAMAGED = {
    "encrypted": (_encrypted, "encrypted"),
    "method 99": (_method_99, "compression method 99"),
    "lzma": (_lzma, "compression method 14"),
    "corrupt deflate": (_corrupt_deflate, "damaged"),
    "truncated": (_truncated, "not a zip file"),
    "nested config": (_nested("config.json"), "nests deeper"),
    "nested summary": (_nested("summary.json"), "nests deeper"),
    "nested metrics": (_nested("metrics.jsonl"), "metrics.jsonl line 1"),
    "nested manifest": (_nested("bundle.json"), "nests deeper"),
}


@pytest.mark.parametrize("kind", DAMAGED)
def test_a_damaged_or_unusual_zip_is_one_line_and_exit_2(bundle, tmp_path, capsys, kind):
    make, match = DAMAGED[kind]
    path = make(bundle, tmp_path)
    _refused(path, tmp_path / "api", match)
    assert main(["import", str(path), "--out", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sslcore: error: ") and err.count("\n") == 1 and match.split()[0] in err


# ---- bounded memory ---------------------------------------------------------------------------

MEASURE = textwrap.dedent(
    """
    import gc, sys
    import sslcore.data, sslcore.pretext
    from sslcore.bundles import import_run
    from sslcore.runs import RunStore

    def status(key):  # KiB
        return int(open("/proc/self/status").read().split(key + ":")[1].split()[0])

    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the resident size now
    before = status("VmRSS")
    try:
        import_run(sys.argv[1], RunStore(sys.argv[2]))
        outcome = "imported"
    except Exception as error:
        outcome = type(error).__name__
    print(outcome, (status("VmHWM") - before) // 1024)
    """
)
SEVENTEEN_MB = 17 * 2**20


def _metrics_of(line):
    return _set("metrics.jsonl", line * (SEVENTEEN_MB // len(line)))


@pytest.mark.skipif(sys.platform != "linux", reason="reads and resets the peak in /proc/self")
@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (_metrics_of(b'{"step": 1, "a": 0.5, "b": 0.25, "c": 0.125}\n'), "imported"),  # 400k
        (_metrics_of(b"{}\n"), "BundleError"),
        (_set("summary.json", b"[" + b"[]," * (SEVENTEEN_MB // 3) + b"[]]"), "BundleError"),
        (_set("adapt.json", b"[" + b"{}," * (2**20 // 3) + b"{}]"), "BundleError"),  # 1 MB
    ],
)
def test_a_17_mb_bundle_is_checked_in_bounded_memory(bundle, tmp_path, change, outcome):
    bad = rewrite(bundle, tmp_path / "big.zip", change)  # stored: 17 MB on disk too
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(bad), str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result, grown_mb = done.stdout.split()
    assert result == outcome
    assert int(grown_mb) < 32  # a few MB here; parsing it all at once took +76 to +350 MB
