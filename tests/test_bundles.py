"""Run bundles: export → import round trip; hostile or broken zips refused, nothing written."""

import hashlib
import io
import json
import zipfile

import pytest
import torch

import sslcore.bundles as bundles
from sslcore.bundles import BundleError, export_run, import_run
from sslcore.cli import main
from sslcore.config import PretrainConfig
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain

TINY = PretrainConfig(
    task="vime", data="wine", steps=4, batch_size=8, width=8, eval_every=2, checkpoint_every=2
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    return pretrain(TINY, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)


@pytest.fixture(scope="module")
def bundle(run, tmp_path_factory):
    return export_run(run, tmp_path_factory.mktemp("out") / "run.zip")


def members(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def rewrite(path, out, change):
    """A copy of the bundle at `path` with `change(members)` applied and its digests recomputed."""
    files = members(path)
    change(files)
    manifest = json.loads(files["bundle.json"])
    manifest["files"] = {
        n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
        for n, b in files.items()
        if n != "bundle.json"
    }
    files["bundle.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return out


def test_round_trip_keeps_the_record_and_the_final_checkpoint(run, bundle, tmp_path):
    names = set(members(bundle))
    assert {"bundle.json", "config.json", "metrics.jsonl", "checkpoints/step-000004.pt"} <= names
    assert "checkpoints/step-000002.pt" not in names  # the final checkpoint only
    store = RunStore(tmp_path / "other")
    copy = import_run(bundle, store)
    assert copy.id == run.id and copy.config == run.config and copy.metrics() == run.metrics()
    assert copy.load_checkpoint()["step"] == 4 and copy.status()["state"] == "done"
    again = import_run(bundle, store)
    assert again.id == f"{run.id}-imported"  # never over an existing run
    assert not [p for p in store.root.iterdir() if p.name.startswith(".import-")]


def test_a_run_imported_while_running_is_not_taken_for_a_live_one(run, bundle, tmp_path):
    status = json.dumps({"state": "running", "pid": 1, "message": "", "updated": 0}).encode()
    hot = rewrite(bundle, tmp_path / "hot.zip", lambda f: f.__setitem__("status.json", status))
    assert import_run(hot, RunStore(tmp_path / "s")).status()["state"] == "cancelled"


def _add(name, data=b"x"):
    return lambda files: files.__setitem__(name, data)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_add("../evil.txt"), "unexpected member"),
        (_add("/tmp/evil.txt"), "unexpected member"),
        (_add("checkpoints/../../evil.pt"), "unexpected member"),
        (_add("notes.txt"), "unexpected member"),
        (lambda f: f.pop("config.json"), "no config.json"),
        (_add("config.json", b'{"stepz": 3}'), "not a valid run config"),
        (_add("summary.json", b"{nope"), "summary.json is not valid JSON"),
        (_add("metrics.jsonl", b'{"step": 1}\nnot json\n'), "metrics.jsonl"),
        (_add("checkpoints/step-000004.pt", b"garbage"), "does not load safely"),
        (_add("checkpoints/step-000006.pt", b"x"), "one checkpoint"),
    ],
)
def test_hostile_or_broken_bundles_are_refused_and_write_nothing(bundle, tmp_path, change, match):
    bad = rewrite(bundle, tmp_path / "bad.zip", change)
    store = RunStore(tmp_path / "store")
    with pytest.raises(BundleError, match=match):
        import_run(bad, store)
    assert not (tmp_path / "evil.txt").exists()
    assert not store.root.exists() or not list(store.root.iterdir())


def test_a_pickled_object_in_a_checkpoint_is_refused(bundle, tmp_path):
    buffer = io.BytesIO()
    torch.save({"step": 4, "encoder": {}, "head": {}, "payload": print}, buffer)
    bad = rewrite(
        bundle, tmp_path / "bad.zip", _add("checkpoints/step-000004.pt", buffer.getvalue())
    )
    with pytest.raises(BundleError, match="does not load safely"):
        import_run(bad, RunStore(tmp_path / "store"))


def test_manifest_tampering_is_refused(bundle, tmp_path):
    files = members(bundle)
    metrics = files["metrics.jsonl"]
    for changed, match in (
        (metrics + b'{"step": 99, "loss": 0.0}\n', "not the size bundle.json lists"),
        (metrics.replace(b'"step": 1', b'"step": 7', 1), "SHA-256"),  # same size, new bytes
    ):
        assert changed != metrics
        with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:  # changed after export
            for n, b in (files | {"metrics.jsonl": changed}).items():
                z.writestr(n, b)
        with pytest.raises(BundleError, match=match):
            import_run(tmp_path / "t.zip", RunStore(tmp_path / "store"))
    manifest = json.loads(files["bundle.json"])
    for key, value, match in (("format", "zip", "does not describe"), ("version", 9, "version")):
        changed = dict(files, **{"bundle.json": json.dumps(manifest | {key: value}).encode()})
        with zipfile.ZipFile(tmp_path / "m.zip", "w") as z:
            for n, b in changed.items():
                z.writestr(n, b)
        with pytest.raises(BundleError, match=match):
            import_run(tmp_path / "m.zip", RunStore(tmp_path / "store"))


def test_huge_and_bomb_members_are_refused_before_reading(bundle, tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bundle.json", "{}")
        z.writestr("summary.json", b" " * (20 * 2**20))  # 20 MB of spaces: ~1000× smaller zipped
    with pytest.raises(BundleError, match="expands"):
        import_run(bomb, RunStore(tmp_path / "store"))
    monkeypatch.setattr(bundles, "MAX_FILE", 100)
    with pytest.raises(BundleError, match="bytes \\(max 100\\)"):
        import_run(bundle, RunStore(tmp_path / "store"))


def test_not_a_zip_and_no_file_are_named(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"PK but not really")
    with pytest.raises(BundleError, match="not a zip"):
        import_run(tmp_path / "x.zip", RunStore(tmp_path / "store"))
    with pytest.raises(BundleError, match="no such file"):
        import_run(tmp_path / "missing.zip", RunStore(tmp_path / "store"))


def test_a_run_without_checkpoints_cannot_be_exported(tmp_path):
    empty = RunStore(tmp_path).create(TINY)
    with pytest.raises(BundleError, match="no checkpoint"):
        export_run(empty, tmp_path / "e.zip")
    assert not (tmp_path / "e.zip").exists()


def test_cli_export_then_import(run, tmp_path, capsys):
    out = tmp_path / "b.zip"
    assert main(["export", run.id, "--store", str(run.path.parent), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["bytes"] == out.stat().st_size
    assert main(["import", str(out), "--out", str(tmp_path / "s")]) == 0
    assert json.loads(capsys.readouterr().out)["run"] == run.id
    (tmp_path / "junk.zip").write_text("no")
    assert main(["import", str(tmp_path / "junk.zip"), "--out", str(tmp_path / "s")]) == 2
    assert "not a zip" in capsys.readouterr().err


def test_cli_report_writes_one_html_file_and_names_a_missing_run(run, tmp_path, capsys):
    out = tmp_path / "r.html"
    args = ["report", run.id, "--store", str(run.path.parent), "--out", str(out)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["bytes"] == out.stat().st_size
    assert run.id in out.read_text() and "<script src=" not in out.read_text()
    assert main(["report", "nope", "--store", str(run.path.parent)]) == 2
    assert "nope" in capsys.readouterr().err
