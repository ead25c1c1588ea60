"""The run store: folders, atomic files, metrics that survive a cut-off line, checkpoints."""

import json

import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.runs import RunNotFound, RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_create_open_list(store):
    config = PretrainConfig(task="rotation", steps=5)
    first, second = store.create(config), store.create(config)
    assert first.id != second.id
    assert [r.id for r in store.list()] == sorted([first.id, second.id])
    assert store.open(first.id).config == config
    assert store.open(first.path).id == first.id  # a path works too
    assert first.status()["state"] == "created"
    with pytest.raises(RunNotFound, match="not found"):
        store.open("nope")


def test_metrics_skip_an_unfinished_last_line_and_name_a_corrupt_one(store):
    run = store.create(PretrainConfig())
    for step in (1, 2, 3):
        run.append_metrics({"step": step, "loss": 1.0 / step})
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 4, "lo')  # a kill in mid-write
    assert [r["step"] for r in run.metrics()] == [1, 2, 3]
    run.truncate_metrics(2)
    assert [r["step"] for r in run.metrics()] == [1, 2]
    run.metrics_path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(DataError, match="line 2 is corrupt"):
        run.metrics()


def test_checkpoints_are_atomic_and_corruption_is_an_error(store):
    run = store.create(PretrainConfig())
    with pytest.raises(DataError, match="no checkpoint"):
        run.load_checkpoint()
    run.save_checkpoint(5, {"step": 5, "w": torch.ones(2)})
    run.save_checkpoint(10, {"step": 10, "w": torch.zeros(2)})
    assert [s for s, _ in run.checkpoints()] == [5, 10]
    assert run.load_checkpoint()["step"] == 10 and run.load_checkpoint(5)["step"] == 5
    assert not list(run.path.rglob("*.tmp"))
    (run.checkpoint_dir / "step-000010.pt").write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt"):
        run.load_checkpoint()
    with pytest.raises(DataError, match="no checkpoint at step 7"):
        run.load_checkpoint(7)


def test_status_summary_and_bad_config(store):
    run = store.create(PretrainConfig())
    run.set_status("running", pid=123)
    assert run.status()["state"] == "running" and run.status()["pid"] == 123
    with pytest.raises(ValueError, match="state"):
        run.set_status("flying")
    assert run.summary() is None
    run.write_summary({"final_loss": 0.5})
    assert run.summary() == {"final_loss": 0.5}
    (run.path / "config.json").write_text(json.dumps({"steps": -1}))
    with pytest.raises(DataError, match=r"config\.json is invalid"):
        _ = run.config
    (run.path / "config.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        _ = run.config
