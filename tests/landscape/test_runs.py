"""A run's landscape end to end: the grid and the projected path, saved in the run; the CLI."""

import json

import numpy as np
import pytest
import torch

from sslcore.cli import main
from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.landscape.runs import landscapes, run_landscape, save_landscape
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain

TINY = PretrainConfig(
    task="rotation",
    data="shapes",
    data_options={"n": 64, "size": 16},
    steps=4,
    batch_size=8,
    width=4,
    lr=1e-2,
    warmup_steps=0,
    eval_every=4,
    checkpoint_every=2,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    return pretrain(TINY, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)


@pytest.mark.parametrize("plane", ["pca", "random"])
def test_grid_and_path_with_the_last_checkpoint_at_the_origin(run, plane):
    result = run_landscape(run, plane, resolution=3)
    assert result["steps"] == [0, 2, 4] and result["center"] == 4
    loss = np.asarray(result["loss"])
    assert loss.shape == (3, 3) and np.isfinite(loss).all()
    coords = np.asarray(result["coords"])
    assert coords.shape == (3, 2)
    np.testing.assert_allclose(coords[-1], [0.0, 0.0], atol=1e-5)
    if plane == "pca":
        assert sum(result["explained_variance_ratio"]) == pytest.approx(1.0, abs=1e-6)
        assert max(result["a"]) == pytest.approx(1.25 * np.abs(coords).max(), rel=1e-5)
    else:
        assert result["explained_variance_ratio"] is None and result["a"] == [-1.0, 0.0, 1.0]


def test_saved_into_the_run_and_read_back(run):
    result = run_landscape(run, "pca", resolution=3)
    assert save_landscape(run, result) == "landscape-pca.json"
    assert landscapes(run)["pca"]["loss"] == result["loss"]
    (run.path / "landscape-random.json").write_text("{not json")
    with pytest.raises(DataError, match=r"landscape-random\.json"):
        landscapes(run)
    (run.path / "landscape-random.json").unlink()


def test_cli_writes_the_landscape_and_names_bad_input(run, capsys, tmp_path):
    store = str(run.path.parent)
    assert (
        main(["landscape", run.id, "--out", store, "--resolution", "3", "--plane", "random"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["plane"] == "random" and (run.path / "landscape-random.json").exists()
    assert main(["landscape", run.id, "--out", store, "--resolution", "1"]) == 2
    assert "resolution" in capsys.readouterr().err
    assert main(["landscape", run.id, "--out", store, "--span", "1,x"]) == 2
    assert "--span" in capsys.readouterr().err
    empty = RunStore(tmp_path).create(TINY)
    assert main(["landscape", empty.id, "--out", str(tmp_path)]) == 2
    assert "no checkpoints" in capsys.readouterr().err
