"""torchrun: 2 CPU processes (gloo, DDP, SyncBatchNorm, gathered negatives) train as 1 would.

The same config on the same global batch gives the same losses and encoder weights within float
tolerance; rank 0 alone writes the run store, which holds one intact run; a resume under torchrun
repeats the lost step exactly; a global batch that does not split over the ranks is refused.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from sslcore.cli import main
from sslcore.runs import RunStore

ARGS = [
    "pretrain",
    "--task",
    "contrastive",
    "--data",
    "shapes",
    "--data-opt",
    "n=96",
    "--data-opt",
    "size=16",
    "--steps",
    "3",
    "--batch-size",
    "16",
    "--width",
    "4",
    "--eval-every",
    "3",
    "--checkpoint-every",
    "1",
    "--quiet",
]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    return subprocess.run(
        [*command, "-m", "sslcore", *args], env=env, capture_output=True, text=True, timeout=240
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(the single-process run, the 2-process run) of ARGS."""
    root = tmp_path_factory.mktemp("torchrun")
    torch.set_num_threads(1)
    assert main([*ARGS, "--out", str(root / "one")]) == 0
    done = torchrun(*ARGS, "--out", str(root / "two"))
    assert done.returncode == 0, done.stderr[-3000:]
    (single,), (double,) = RunStore(root / "one").list(), RunStore(root / "two").list()
    return single, double


def _losses(run):
    return [(r["step"], r["loss"], r["accuracy"]) for r in run.metrics()]


@pytest.mark.timeout(300)
def test_two_ranks_equal_one_process_on_the_same_global_batch(runs):
    single, double = runs
    for (s1, l1, a1), (s2, l2, a2) in zip(_losses(single), _losses(double), strict=True):
        assert s1 == s2 and l2 == pytest.approx(l1, rel=1e-5) and a1 == a2
    a, b = single.load_checkpoint(), double.load_checkpoint()
    assert a["encoder"].keys() == b["encoder"].keys()
    for key, value in a["encoder"].items():
        torch.testing.assert_close(b["encoder"][key], value, atol=1e-5, rtol=1e-4, msg=key)
    assert torch.equal(a["generator"], b["generator"])  # every rank drew the same batches


@pytest.mark.timeout(300)
def test_rank_zero_leaves_one_intact_run(runs):
    _, double = runs
    store = RunStore(double.path.parent)
    assert [r.id for r in store.list()] == [double.id]
    assert double.status()["state"] == "done" and double.summary()["steps"] == 3
    assert [s for s, _ in double.checkpoints()] == [1, 2, 3]
    assert [r["step"] for r in double.metrics()] == [1, 2, 3]  # one line per step, not per rank
    assert not list(double.path.rglob("*.tmp*"))


@pytest.mark.timeout(300)
def test_a_resume_under_torchrun_repeats_the_lost_step(runs, tmp_path):
    _, double = runs
    copy = tmp_path / "two" / double.id
    shutil.copytree(double.path, copy)
    (copy / "checkpoints" / "step-000003.pt").unlink()  # as if killed after step 2's checkpoint
    (copy / "summary.json").unlink()
    done = torchrun("pretrain", "--resume", double.id, "--out", str(tmp_path / "two"), "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = RunStore(tmp_path / "two").open(double.id)
    got, expected = _losses(resumed), _losses(double)
    assert [(s, a) for s, _, a in got] == [(s, a) for s, _, a in expected]
    losses = [loss for _, loss, _ in expected]
    assert [loss for _, loss, _ in got] == pytest.approx(losses, rel=1e-6)
    assert json.loads(done.stdout.strip().splitlines()[-1])["run"] == double.id  # rank 0 only


@pytest.mark.timeout(300)
def test_a_batch_that_does_not_split_over_the_ranks_is_refused(tmp_path):
    args = [a if a != "16" else "15" for a in ARGS]  # the batch size
    done = torchrun(*args, "--out", str(tmp_path))
    assert done.returncode != 0
    assert "does not split over 2 ranks" in done.stderr
    assert not RunStore(tmp_path).list()  # nothing written
