"""Runs in their own processes: real tiny pretraining and sweep subprocesses, cancel, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sslcore import jobs, processes
from sslcore.config import PretrainConfig
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain

# VIME on wine: a step takes milliseconds, so a real run's process starts in a few seconds.
TINY = {"task": "vime", "data": "wine", "batch_size": 16, "width": 16, "seed": 1}
PROC = Path("/proc/self/stat").exists()


def wait_for(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_is_alive():
    assert jobs.is_alive(os.getpid())
    for pid in (None, 0, -1, True, "12", 2**22 + 12345):
        assert not jobs.is_alive(pid), pid
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert not jobs.is_alive(done.pid)


@pytest.mark.skipif(not PROC, reason="needs /proc")
def test_a_zombie_is_not_alive_and_start_times_are_read():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = jobs.process_start_time(child.pid)
    assert started is not None and abs(started - time.time()) < 10
    wait_for(lambda: processes._proc_stat(child.pid)[0] == "Z", 30, "the child to exit")
    assert not jobs.is_alive(child.pid)  # exited, not yet reaped
    child.wait()


@pytest.mark.skipif(not PROC, reason="needs /proc")
def test_a_reused_pid_is_not_taken_for_the_run(tmp_path):
    run = RunStore(tmp_path).create(PretrainConfig(**TINY, steps=3))
    run.set_status("running", pid=os.getpid())
    assert jobs.run_is_active(run) and jobs.run_state(run) == "running"
    status = json.loads((run.path / "status.json").read_text())
    status["updated"] = jobs.process_start_time(os.getpid()) - 60  # written before we started
    (run.path / "status.json").write_text(json.dumps(status))
    assert not jobs.run_is_active(run) and jobs.run_state(run) == "interrupted"


def test_commands():
    argv = jobs.pretrain_command("r1", "store", steps=50)
    assert argv[:6] == [sys.executable, "-m", "sslcore", "pretrain", "--resume", "r1"]
    assert argv[6:] == ["--out", str(Path("store").resolve()), "--quiet", "--steps", "50"]
    argv = jobs.sweep_command("r1", "/s", [0.01, 1.0], ["linear", "knn"], 20, draws=3)
    assert argv[3:] == [
        *("sweep", "r1", "--json", "--labels", "0.01,1", "--modes", "linear,knn"),
        *("--adapt-steps", "20", "--draws", "3", "--out", "/s"),
    ]
    argv = jobs.sweep_command("r1", "/s", [1.0], ["knn"])
    assert argv[argv.index("--draws") + 1] == "10"  # a sweep averages 10 label draws


def test_a_sweep_refuses_draws_that_adapt_nothing(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(PretrainConfig(**TINY, steps=2))
    for draws in (0, -1, True, 2.5):
        with pytest.raises(jobs.JobError, match="draws: expected an integer >= 1"):
            jobs.launch_sweep(run, store, [0.5], ["knn"], draws=draws)
    assert jobs.sweep_job(run) is None  # nothing was started


@pytest.mark.slow
def test_launch_lists_refuses_a_twin_and_cancels_with_a_checkpoint(tmp_path):
    store = RunStore(tmp_path)
    config = PretrainConfig(**TINY, steps=5000, eval_every=5000, checkpoint_every=5)
    run = jobs.launch(config, store)
    assert run.status()["state"] == "running"  # recorded before the process has even started
    assert [r.id for r in jobs.active_runs(store)] == [run.id]
    with pytest.raises(jobs.JobError, match="identical run is already running"):
        jobs.launch(config, store)
    assert len(store.list()) == 1
    wait_for(lambda: run.checkpoints(), what="the first checkpoint")
    assert jobs.run_state(run) == "running"

    assert jobs.cancel(run, timeout=30) == "cancelled"
    assert not jobs.is_alive(run.status()["pid"] or -1)
    assert run.status()["state"] == "cancelled" and run.checkpoints()
    # The CLI turns SIGINT into a stop after the current step, checkpointed: nothing is lost.
    assert run.checkpoints()[-1][0] == run.metrics()[-1]["step"]
    assert run.status()["message"].startswith("stopped at step")
    assert jobs.active_runs(store) == []
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.cancel(run)

    # Resumed for two more steps past its last checkpoint, it finishes with an unbroken log.
    last = run.checkpoints()[-1][0]
    jobs.resume(run, store, steps=last + 2)
    wait_for(lambda: not jobs.run_is_active(run), what="the resumed run")
    assert run.status()["state"] == "done" and run.config.steps == last + 2
    assert [r["step"] for r in run.metrics()] == list(range(1, last + 3))


@pytest.mark.slow
def test_a_process_that_dies_before_pretraining_is_marked_cancelled(tmp_path):
    run = RunStore(tmp_path).create(PretrainConfig(**TINY, steps=3))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run.set_status("running", pid=sleeper.pid)  # as launch records it, before pretrain starts
    assert jobs.cancel(run, timeout=30) == "cancelled"
    assert sleeper.wait(timeout=30) != 0
    assert run.status()["message"] == "interrupted before it recorded an end"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under `nohup ... &` from a script


@pytest.mark.slow
def test_a_process_that_ignores_sigint_is_still_cancelled(tmp_path):
    run = RunStore(tmp_path).create(PretrainConfig(**TINY, steps=3))
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=_ignore_sigint
    )
    try:
        run.set_status("running", pid=sleeper.pid)
        assert jobs.cancel(run, timeout=20) == "cancelled"
        assert sleeper.wait(timeout=30) == -signal.SIGTERM
    finally:
        sleeper.kill()


@pytest.mark.slow
def test_sweep_runs_in_the_background_into_adapt_json(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(jobs.JobError, match="no checkpoint"):
        jobs.launch_sweep(store.create(PretrainConfig(**TINY, steps=2)), store, [1.0], ["knn"])
    run = pretrain(PretrainConfig(**TINY, steps=4), store=store, progress=False)
    with pytest.raises(jobs.JobError, match="label fractions"):
        jobs.launch_sweep(run, store, [0.0], ["knn"])
    with pytest.raises(jobs.JobError, match="modes"):
        jobs.launch_sweep(run, store, [1.0], ["nope"])
    job = jobs.launch_sweep(run, store, [0.5, 1.0], ["knn"], draws=3)
    assert job["fractions"] == [0.5, 1.0] and job["modes"] == ["knn"] and job["draws"] == 3
    if jobs.sweep_job(run)["alive"]:
        with pytest.raises(jobs.JobError, match="already running"):
            jobs.launch_sweep(run, store, [1.0], ["knn"])
    wait_for(lambda: not jobs.sweep_job(run)["alive"], what="the sweep")
    results = jobs.sweep_job(run)["results"]
    saved = json.loads((run.path / "adapt.json").read_text())
    assert [(r["mode"], r["label_fraction"]) for r in results] == [("knn", 0.5), ("knn", 1.0)]
    assert [r["draws"] for r in results] == [3, 1] and len(results[0]["accuracies"]) == 3
    assert saved == results
    assert all(0 <= r["accuracy"] <= 1 for r in results)
    log = (run.path / jobs.SWEEP_LOG).read_text()  # the progress lines, one per record
    assert "sweep: 1/2 knn 50 %: " in log and "(3 draws, " in log and "sweep: 2/2 knn 100 %" in log


def test_cancel_sends_sigint_then_sigterm(tmp_path, monkeypatch):
    run = RunStore(tmp_path).create(PretrainConfig(**TINY, steps=3))
    run.set_status("running", pid=os.getpid())
    sent = []
    monkeypatch.setattr(jobs.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    assert jobs.cancel(run, timeout=0.2) == "running"  # "this process" ignores the fake signal
    signals = [s for s in sent if s[1] != 0]  # 0: is it alive?
    assert signals == [(os.getpid(), signal.SIGINT), (os.getpid(), signal.SIGTERM)]
