"""Run stores for the dashboard tests: never the developer's ./runs."""

import os
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
    protocol="transfer",  # source, target train and test: three different splits to show
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


CHROMIUM = os.environ.get("SSLCORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright: one for every browser test module."""
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` as root")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()
