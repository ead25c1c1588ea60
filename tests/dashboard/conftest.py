"""Run stores for the dashboard tests: never the developer's ./runs."""

import shutil
from pathlib import Path

import pytest

from sslcore.config import PretrainConfig
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain

# A rotation run small enough to train in a second or two: 4 steps, a 4-wide encoder.
TINY_ROTATION = PretrainConfig(
    task="rotation",
    data="shapes",
    data_options={"n": 200},
    steps=4,
    batch_size=8,
    width=4,
    eval_every=2,
    checkpoint_every=2,
)


@pytest.fixture(autouse=True)
def run_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """An empty run store, the pages' default ($SSLCORE_RUNS) in every dashboard test."""
    root = tmp_path / "runs"
    monkeypatch.setenv("SSLCORE_RUNS", str(root))
    return RunStore(root)


@pytest.fixture(scope="session")
def tiny_rotation_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one finished TINY_ROTATION run, trained once per session."""
    root = tmp_path_factory.mktemp("tiny-rotation")
    pretrain(TINY_ROTATION, store=RunStore(root), progress=False)
    return root


@pytest.fixture
def trained_store(run_store: RunStore, tiny_rotation_root: Path) -> RunStore:
    """The default run store, holding a copy of the tiny rotation run (tests may change it)."""
    shutil.copytree(tiny_rotation_root, run_store.root)
    return run_store
