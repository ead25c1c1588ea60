"""Pretraining writes a complete run, stops cleanly on NaN, and resumes after kill -9 exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.errors import SslcoreError
from sslcore.runs import RunStore
from sslcore.train.pretrain import TIMING_FIELDS, TrainingError, pretrain
from sslcore.train.schedules import warmup_cosine

TINY = {"task": "vime", "data": "wine", "batch_size": 16, "width": 16, "seed": 3}


def comparable(metrics):
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in metrics]


def test_a_run_logs_evaluates_checkpoints_and_summarises(tmp_path):
    config = PretrainConfig(**TINY, steps=12, eval_every=5, checkpoint_every=4, warmup_steps=2)
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    metrics = run.metrics()
    assert [r["step"] for r in metrics] == list(range(1, 13))
    assert {"loss", "lr", "samples_per_s"} <= set(metrics[0])
    assert [r["step"] for r in metrics if "probe_accuracy" in r] == [5, 10, 12]
    assert [s for s, _ in run.checkpoints()] == [4, 8, 12]
    assert run.status()["state"] == "done"
    assert run.summary()["final_loss"] == metrics[-1]["loss"]
    assert metrics[0]["lr"] == pytest.approx(warmup_cosine(0, 12, 2, config.lr))


def test_the_same_config_gives_the_same_metrics(tmp_path):
    config = PretrainConfig(**TINY, steps=6, eval_every=3)
    a = pretrain(config, store=RunStore(tmp_path / "a"), progress=False)
    b = pretrain(config, store=RunStore(tmp_path / "b"), progress=False)
    assert comparable(a.metrics()) == comparable(b.metrics())


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    config = PretrainConfig(**TINY, steps=10, checkpoint_every=2)
    from sslcore.pretext.base import PretextLoss
    from sslcore.train import pretrain as module

    real_build = module.build

    def build_with_a_nan_at_step_5(cfg):
        setup = real_build(cfg)
        loss_fn, calls = setup.task.loss, {"n": 0}

        def loss(outputs, batch):
            calls["n"] += 1
            result = loss_fn(outputs, batch)
            if calls["n"] == 5:
                return PretextLoss(result.loss * float("nan"), result.metrics)
            return result

        setup.task.loss = loss
        return setup

    monkeypatch.setattr(module, "build", build_with_a_nan_at_step_5)
    store = RunStore(tmp_path)
    with pytest.raises(TrainingError, match=r"step 5: L_pre is nan.*step 4"):
        pretrain(config, store=store, progress=False)
    run = store.list()[0]
    assert run.status()["state"] == "failed" and "L_pre is nan" in run.status()["message"]
    assert [s for s, _ in run.checkpoints()] == [2, 4]
    assert torch.isfinite(run.load_checkpoint()["encoder"]["net.0.weight"]).all()


def test_resume_refuses_another_config(tmp_path):
    store = RunStore(tmp_path)
    run = pretrain(PretrainConfig(**TINY, steps=2), store=store, progress=False)
    with pytest.raises(SslcoreError, match="another config"):
        pretrain(PretrainConfig(**TINY, steps=2, lr=0.5), store=store, resume=run, progress=False)


@pytest.mark.timeout(240)
def test_resume_after_kill_9_continues_the_metrics_exactly(tmp_path):
    steps, every = 1500, 50
    args = ["--task", "vime", "--data", "wine", "--batch-size", "16", "--width", "16"]
    args += ["--seed", "3", "--steps", str(steps), "--checkpoint-every", str(every)]
    args += ["--eval-every", "500", "--quiet"]
    env = os.environ | {"OMP_NUM_THREADS": "1"}

    def cli(*extra, store):
        return [sys.executable, "-m", "sslcore", "pretrain", *args, "--out", str(store), *extra]

    whole = tmp_path / "whole"
    subprocess.run(cli(store=whole), check=True, env=env, capture_output=True, timeout=200)
    expected = comparable(RunStore(whole).list()[0].metrics())

    cut = tmp_path / "cut"
    process = subprocess.Popen(cli(store=cut), env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        runs = RunStore(cut).list()
        if runs and len(runs[0].checkpoints()) >= 3:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    run = RunStore(cut).list()[0]
    assert run.status()["state"] == "running"  # killed: it never got to say otherwise
    killed_at = len(run.metrics())
    assert 0 < killed_at < steps, "the run finished before it could be killed"
    done = subprocess.run(
        cli("--resume", run.id, store=cut), env=env, capture_output=True, text=True, timeout=200
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["run"] == run.id
    assert comparable(run.metrics()) == expected
    assert run.status()["state"] == "done"


def test_a_time_budget_ends_the_run_and_spreads_the_schedule_over_it(tmp_path, monkeypatch):
    """With ``minutes``, the run stops once its training seconds reach the budget."""
    from sslcore.train import pretrain as module

    clock = {"t": 0.0}

    def fake_clock():  # every reading advances 0.25 s: a step (two readings) takes 0.25 s
        clock["t"] += 0.25
        return clock["t"]

    monkeypatch.setattr(module.time, "perf_counter", fake_clock)
    config = PretrainConfig(**TINY, steps=1000, minutes=0.05, eval_every=1000, warmup_steps=1)
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    metrics = run.metrics()
    assert len(metrics) == 12  # 3 s of budget, 0.25 s per step
    assert run.status()["state"] == "done" and run.summary()["steps"] == 12
    assert "probe_accuracy" in metrics[-1]  # the last step is evaluated and checkpointed
    assert [s for s, _ in run.checkpoints()] == [12]
    lrs = [r["lr"] for r in metrics]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.1 * config.lr  # decays to ~0
    assert run.load_checkpoint()["train_seconds"] == pytest.approx(3.0)


def test_budget_progress_takes_the_further_of_steps_and_time():
    from sslcore.train.schedules import budget_progress, warmup_cosine_progress

    assert budget_progress(10, 100, 30.0, 60.0) == 0.5
    assert budget_progress(90, 100, 30.0, 60.0) == 0.9
    assert budget_progress(10, 100, 90.0, 60.0) == 1.0
    assert warmup_cosine_progress(0, 0.0, 4, 1.0) == pytest.approx(0.25)
    assert warmup_cosine_progress(9, 0.5, 4, 1.0) == pytest.approx(0.5)
    assert warmup_cosine_progress(9, 1.0, 4, 1.0) == pytest.approx(0.0)


def test_online_evaluation_uses_a_fixed_stratified_subset_of_a_large_split(monkeypatch):
    """Watching a run stays cheap: at most ONLINE_TRAIN / ONLINE_TEST samples are probed."""
    from sslcore.data import load_dataset, protocol_split
    from sslcore.models import make_encoder
    from sslcore.train import pretrain as module

    split = protocol_split(load_dataset("wine"), "in_domain", test_fraction=0.3, seed=0)
    monkeypatch.setattr(module, "ONLINE_TRAIN", 40)
    monkeypatch.setattr(module, "ONLINE_TEST", 20)
    sizes = []
    real = module.extract_features
    monkeypatch.setattr(
        module, "extract_features", lambda e, x, **k: sizes.append(len(x)) or real(e, x, **k)
    )
    scores = module.evaluate(make_encoder((13,), 8), split)
    assert sizes == [40, 20] and 0 <= scores["probe_accuracy"] <= 1
    subset = module._online_subset(split.target_train, 40)
    assert len(set(subset.y.tolist())) == 3  # every class is kept
    again = module._online_subset(split.target_train, 40)
    assert torch.equal(subset.x, again.x)  # the same samples at every evaluation
