"""Broken and hostile run folders: every record validated, one bad run never breaks the store.

And one writer per run: the writer lock refuses a second writer, and a killed holder leaves no
stale lock behind.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from sslcore import jobs
from sslcore.cli import main
from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.runs import RunLocked, RunStore

TINY = {"task": "vime", "data": "wine", "batch_size": 16, "width": 16, "seed": 1}
LANDSCAPE = {"plane": "pca", "steps": [0, 2], "a": [0, 1], "b": [0, 1]}
LANDSCAPE |= {"loss": [[1.0, 2.0], [3.0, 4.0]], "coords": [[0.0, 0.0], [1.0, 1.0]]}

# (file, content, what the DataError says): each one breaks exactly one record of a run.
BROKEN = [
    ("config.json", '{"task": "vime", "da', "config.json is not valid JSON"),
    ("config.json", "[1]", "config.json is invalid"),
    ("status.json", "", "status.json is not valid JSON"),
    ("status.json", "{}", "status.json: field 'state' is missing"),
    ("status.json", '{"state": "flying"}', "field 'state': expected one of"),
    ("status.json", '{"state": "running", "pid": "1"}', "field 'pid'"),
    ("summary.json", "[1]", "summary.json: expected a JSON object, got list"),
    ("summary.json", '{"probe_accuracy": "high"}', "field 'probe_accuracy'"),
    ("metrics.jsonl", '{"step": 1, "loss": 1.0}\n[1]\n', "metrics.jsonl line 2: expected a JSON"),
    ("metrics.jsonl", "1\n", "metrics.jsonl line 1: expected a JSON object, got int"),
    ("metrics.jsonl", '{"loss": 1.0}\n', "field 'step' is missing"),
    ("metrics.jsonl", '{"step": "3"}\n', "field 'step'"),
    ("metrics.jsonl", '{"step": 1, "loss": "x"}\n', "field 'loss'"),
    ("metrics.jsonl", "not json\n", "line 1 is corrupt"),
    ("metrics.jsonl", "[" * 100_000 + "\n", "line 1 is corrupt"),  # nesting: RecursionError
    ("adapt.json", "[1]", "adapt.json record 0: expected a JSON object"),
    ("adapt.json", '{"mode": "knn"}', "adapt.json: expected a JSON list"),
    ("adapt.json", '[{"mode": "knn", "label_fraction": 5, "accuracy": 1}]', "label_fraction"),
    (
        "adapt.json",
        '[{"mode": "knn", "label_fraction": 1, "accuracy": 1, "draw_scores": [{"accuracy": 1}]}]',
        "field 'draw_scores'",
    ),
    (
        "adapt.json",
        '[{"mode": "knn", "label_fraction": 1, "accuracy": 1, "budget": {"steps": -1}}]',
        "field 'budget'",
    ),
    ("transfer.json", '[{"step": 1}]', "field 'pretext_loss' is missing"),
    ("landscape-pca.json", "[]", "landscape-pca.json: expected a JSON object"),
    ("landscape-pca.json", json.dumps(LANDSCAPE | {"loss": [[1.0]]}), "is not a 2 × 2 grid"),
    ("checkpoints/evil.txt", "x", "'evil.txt' is not a checkpoint file"),
    ("checkpoints/step-+5.pt", "x", "is not a checkpoint file"),
]


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def good_run(store):
    """A run with every record, all valid (no training: records written by hand)."""
    run = store.create(PretrainConfig(**TINY, steps=4))
    run.append_metrics({"step": 1, "loss": 1.5, "lr": 0.001, "probe_accuracy": None})
    run.set_status("done")
    run.write_summary({"steps": 4, "final_loss": 1.5, "probe_accuracy": 0.5, "seconds": 1.0})
    record = {"mode": "knn", "label_fraction": 1.0, "labels": 10, "accuracy": 0.5}
    (run.path / "adapt.json").write_text(json.dumps([record | {"test_loss": None}]))
    run.write_transfer_rows([{"step": 0, "pretext_loss": 1.0, "adapt_train_loss": 2.0}])
    (run.path / "landscape-pca.json").write_text(json.dumps(LANDSCAPE))
    run.save_checkpoint(2, {"step": 2})
    return run


def test_a_complete_run_passes_check_and_lists_as_readable(store):
    run = good_run(store)
    run.check()
    listing = store.listing()
    assert [r.id for r in listing.readable] == [run.id] and listing.unreadable == []


@pytest.mark.parametrize(("name", "content", "message"), BROKEN)
def test_a_broken_record_is_named_and_never_breaks_the_listing(store, name, content, message):
    good, bad = good_run(store), good_run(store)
    (bad.path / name).write_text(content)
    with pytest.raises(DataError, match=message) as error:
        bad.check()
    assert bad.id in str(error.value) and len(str(error.value).splitlines()) == 1
    listing = store.listing()
    assert [r.id for r in listing.readable] == [good.id]
    [unreadable] = listing.unreadable
    assert unreadable.id == bad.id and message in unreadable.reason
    good.check()


@pytest.mark.parametrize(
    ("name", "content", "read"),
    [
        ("summary.json", "[1]", lambda run: run.summary()),
        ("status.json", "{}", lambda run: run.status()),
        ("status.json", "{}", jobs.run_state),  # "unreadable", never a KeyError
        ("metrics.jsonl", "[1]\n", lambda run: run.metrics()),
        ("adapt.json", "[1]", lambda run: run.adapt_records()),
        ("transfer.json", '{"step": 1}', lambda run: run.transfer_rows()),
    ],
)
def test_every_reader_raises_a_data_error_naming_the_file(store, name, content, read):
    run = good_run(store)
    (run.path / name).write_text(content)
    try:
        result = read(run)
    except DataError as error:
        assert run.id in str(error) and name in str(error)
    else:
        assert result == "unreadable"


def test_hidden_folders_are_not_runs_and_a_missing_status_is_created(store):
    run = store.create(PretrainConfig(**TINY))
    staging = store.root / ".import-abc"  # an import being unpacked
    staging.mkdir()
    (staging / "config.json").write_text("{")
    assert [r.id for r in store.list()] == [run.id]
    assert run.status()["state"] == "created" and store.listing().unreadable == []


def test_sslcore_runs_lists_unreadable_runs_with_their_reason(store, capsys):
    good = good_run(store)
    bad_summary, bad_status, bad_metrics = good_run(store), good_run(store), good_run(store)
    (bad_summary.path / "summary.json").write_text("[1]")
    (bad_status.path / "status.json").write_text("{}")
    (bad_metrics.path / "metrics.jsonl").write_text('{"step": 1}\n"text"\n')
    assert main(["runs", "--out", str(store.root), "--json"]) == 0
    rows = {r["run"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[good.id]["state"] == "done" and rows[good.id]["done_steps"] == 2
    for bad, file in [
        (bad_summary, "summary.json"),
        (bad_status, "status.json"),
        (bad_metrics, "metrics.jsonl"),
    ]:
        assert rows[bad.id]["state"] == "unreadable" and file in rows[bad.id]["reason"]
    assert main(["runs", "--out", str(store.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert sum("unreadable: run " in line for line in lines) == 3


def test_sweep_job_records_of_the_wrong_shape_are_no_sweep(store):
    run = good_run(store)
    for record in ([1], {"pid": 1}, {"pid": 1, "started": 0, "output": "../../etc/passwd"}):
        (run.path / jobs.SWEEP_JOB).write_text(json.dumps(record))
        assert jobs.sweep_job(run) is None
    job = {"pid": 2**22 + 12345, "started": 0.0, "fractions": [1.0], "modes": ["knn"]}
    (run.path / jobs.SWEEP_JOB).write_text(json.dumps(job | {"output": "sweep-1-2.json"}))
    (run.path / "sweep-1-2.json").write_text('[{"mode": 1}]')
    assert jobs.sweep_job(run)["results"] is None  # results that are not records: not shown


# ---- one writer per run ---------------------------------------------------------------------


def test_the_writer_lock_refuses_a_second_writer_and_is_released(store):
    run = store.create(PretrainConfig(**TINY))
    assert run.writer() is None
    with run.lock():
        assert run.writer() == f"pid {os.getpid()}"
        held = rf"being written by another process \(pid {os.getpid()}\)"
        with pytest.raises(RunLocked, match=held):
            with run.lock():
                pass
    assert run.writer() is None
    with run.lock():  # free again
        pass


HOLD = textwrap.dedent(
    """
    import sys, time
    from sslcore.runs import Run
    with Run(sys.argv[1]).lock():
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_killed_writer_leaves_no_stale_lock(store):
    run = store.create(PretrainConfig(**TINY))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert run.writer() == f"pid {holder.pid}"
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
            with run.lock():
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert run.writer() is None  # the OS released it with the process: nothing stale
    with run.lock():
        pass
