"""Attempts that must not damage a run: a truncated checkpoint, a second writer, a failed start.

A resume falls back past an unloadable last checkpoint; a done run stays done when a resume
cannot start; a second writer is refused and changes nothing; a pretrain that fails before
training leaves no folder; a resume never shrinks the steps; adaptation refuses a budget of 0.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sslcore import jobs
from sslcore.cli import main
from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError
from sslcore.runs import RunLocked, RunStore
from sslcore.train.adapt import adapt
from sslcore.train.pretrain import TIMING_FIELDS, pretrain

TINY = {"task": "vime", "data": "wine", "batch_size": 16, "width": 16, "seed": 3}
CONFIG = PretrainConfig(**TINY, steps=8, eval_every=4, checkpoint_every=2)


def comparable(metrics):
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in metrics]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 8-step run (checkpoints 2, 4, 6, 8), trained once: tests copy its folder."""
    store = RunStore(tmp_path_factory.mktemp("finished"))
    return pretrain(CONFIG, store=store, progress=False)


@pytest.fixture
def run(finished, tmp_path):
    import shutil

    shutil.copytree(finished.path, tmp_path / "runs" / finished.id)
    return RunStore(tmp_path / "runs").open(finished.id)


def snapshot(run):
    """What a refused attempt must leave exactly as it was."""
    files = ("config.json", "status.json", "metrics.jsonl", "summary.json")
    return {name: (run.path / name).read_bytes() for name in files} | {
        "checkpoints": [p.name for _, p in run.checkpoints()]
    }


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_resume_falls_back_past_a_truncated_last_checkpoint(finished, run):
    truncate(run.checkpoint_dir / "step-000008.pt")
    pretrain(CONFIG, store=RunStore(run.path.parent), resume=run.id, progress=False)
    assert comparable(run.metrics()) == comparable(finished.metrics())  # 7 and 8 redone exactly
    assert run.status()["state"] == "done"
    assert run.load_checkpoint(8)["step"] == 8  # written afresh
    assert (run.checkpoint_dir / ".step-000008.pt.corrupt").exists()  # set aside, not deleted
    run.check()


def test_a_done_run_stays_done_when_a_resume_cannot_start(run):
    for _, path in run.checkpoints():
        truncate(path)
    before = snapshot(run)
    with pytest.raises(DataError, match="no checkpoint can be loaded"):
        pretrain(CONFIG, store=RunStore(run.path.parent), resume=run, progress=False)
    status = run.status()
    assert status["state"] == "done" and status["message"].startswith("a resume did not start")
    assert {k: v for k, v in snapshot(run).items() if k != "status.json"} == {
        k: v for k, v in before.items() if k != "status.json"
    }


def test_a_dashboard_resume_that_cannot_start_puts_the_done_state_back(run):
    # As jobs.resume records its child: running, "starting", with the status it replaced.
    run.set_status("running", "starting", pid=os.getpid(), previous=run.status())
    for _, path in run.checkpoints():
        truncate(path)
    with pytest.raises(DataError):
        pretrain(CONFIG, store=RunStore(run.path.parent), resume=run, progress=False)
    assert run.status()["state"] == "done"


def test_a_child_that_dies_while_starting_leaves_a_done_run_done(run):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.set_status("running", "starting", pid=dead.pid, previous=run.status())
    jobs._settle(run, dead.pid, 2, run.path.parent)
    status = run.status()
    assert status["state"] == "done" and "exited with code 2" in status["message"]


def test_a_second_writer_is_refused_and_changes_nothing(run, capsys):
    before = snapshot(run)
    store = RunStore(run.path.parent)
    with run.lock():  # the first writer
        with pytest.raises(RunLocked, match="being written by another process"):
            pretrain(CONFIG, store=store, resume=run, progress=False)
        argv = ["pretrain", "--resume", run.id, "--steps", "10", "--out", str(store.root)]
        assert main([*argv, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "being written by another process" in err and len(err.splitlines()) == 1
        with pytest.raises(jobs.JobError, match="being written by another process"):
            jobs.resume(run, store, steps=10)  # the dashboard's resume beside a CLI one
    assert snapshot(run) == before


def test_resume_refuses_fewer_steps_than_done_and_keeps_the_config(run, capsys):
    before = snapshot(run)
    store = RunStore(run.path.parent)
    argv = ["pretrain", "--resume", run.id, "--steps", "5", "--out", str(store.root), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "steps:" in err and "has done 8 steps" in err and len(err.splitlines()) == 1
    with pytest.raises(SslcoreError, match="has done 8 steps"):
        pretrain(dataclasses.replace(CONFIG, steps=5), store=store, resume=run, progress=False)
    with pytest.raises(jobs.JobError, match="has done 8 steps"):
        jobs.resume(run, store, steps=5)
    assert snapshot(run) == before and run.config.steps == 8
    assert main(["runs", "--out", str(store.root), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["state"], row["done_steps"], row["steps"]) == ("done", 8, 8)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"data": "nowhere/none.csv"}, "nowhere"),
        ({"task": "rotation"}, "works on image"),  # a task for images on a table
    ],
)
def test_a_pretrain_that_fails_before_training_leaves_no_folder(tmp_path, settings, message):
    store = RunStore(tmp_path / "runs")
    config = PretrainConfig(**(TINY | {"batch_size": None} | settings), steps=2)
    for _ in range(2):
        with pytest.raises((SslcoreError, ValueError), match=message):
            pretrain(config, store=store, progress=False)
    assert not store.root.exists() or not list(store.root.iterdir())


def test_a_new_run_that_fails_in_its_first_step_leaves_no_folder(tmp_path, monkeypatch):
    from sslcore.train import pretrain as module

    real_build = module.build

    def build_with_a_broken_loss(cfg):
        setup = real_build(cfg)

        def loss(outputs, batch):
            raise RuntimeError("shapes do not fit")

        setup.task.loss = loss
        return setup

    monkeypatch.setattr(module, "build", build_with_a_broken_loss)
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RuntimeError, match="shapes do not fit"):
        pretrain(CONFIG, store=store, progress=False)
    assert not list(store.root.iterdir())


def test_a_cli_pretrain_that_fails_leaves_no_folder(tmp_path, capsys):
    store = tmp_path / "runs"
    argv = ["pretrain", "--task", "vime", "--data", "no_such_dataset", "--out", str(store)]
    for _ in range(2):
        assert main([*argv, "--quiet"]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not store.exists() or not list(store.iterdir())


def test_adaptation_refuses_a_budget_that_trains_nothing(run, capsys):
    store = str(run.path.parent)
    for command in ("adapt", "sweep"):  # 0 is the plateau (adapt.plateau_steps)
        argv = [command, run.id, "--adapt-steps", "-1", "--out", store]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "--adapt-steps: expected an integer >= 0" in err and len(err.splitlines()) == 1
    for option in ({"steps": -1}, {"steps": 0}, {"draws": 0}, {"batch_size": 0}, {"lr": -1.0}):
        with pytest.raises(ValueError, match=next(iter(option))):
            adapt(run, "finetune", 1.0, **option)
    assert run.adapt_records() == []
    with pytest.raises(jobs.JobError, match="adapt_steps"):
        jobs.launch_sweep(run, RunStore(store), [1.0], ["knn"], adapt_steps=-1)  # 0: the plateau


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_cli_resumes_of_a_running_run_one_is_refused(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = PretrainConfig(**TINY, steps=100_000, eval_every=100_000, checkpoint_every=20)
    run = store.create(config)  # as the dashboard creates it: the CLI resumes it from step 0
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    cli = [sys.executable, "-m", "sslcore", "pretrain", "--resume", run.id]
    cli += ["--out", str(store.root)]
    first = subprocess.Popen([*cli, "--quiet"], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not run.checkpoints():
            assert time.monotonic() < deadline and first.poll() is None, "the first never trained"
            time.sleep(0.1)
        second = subprocess.run(
            [*cli, "--quiet"], env=env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 2
        assert "being written by another process" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert run.status()["pid"] == first.pid and jobs.run_state(run) == "running"
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    steps = [r["step"] for r in run.metrics()]
    assert steps == list(range(1, len(steps) + 1))  # one writer: no interleaved, repeated step
    assert run.status()["state"] == "cancelled"
