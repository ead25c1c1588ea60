"""Adaptation: each mode trains (or freezes) what it should; the sweep covers modes × labels."""

import json

import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.runs import RunStore
from sslcore.train.adapt import ADAPT_MODES, adapt, adapt_models, sweep
from sslcore.train.pretrain import pretrain

CONFIG = PretrainConfig(task="vime", data="wine", batch_size=16, width=16, steps=30, seed=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return pretrain(CONFIG, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)


def same(state_a, state_b):
    return all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_linear_probe_keeps_theta_star_frozen(run):
    encoder, head, record = adapt_models(run, "linear", 1.0, epochs=50)
    assert same(encoder.state_dict(), run.load_checkpoint()["encoder"])
    assert not any(p.requires_grad for p in encoder.parameters())
    assert head is not None and record["checkpoint_step"] == CONFIG.steps
    assert 0.0 <= record["accuracy"] <= 1.0 and record["test_loss"] > 0


def test_finetune_trains_theta_star_and_the_head(run):
    encoder, head, record = adapt_models(run, "finetune", 1.0, steps=20)
    assert not same(encoder.state_dict(), run.load_checkpoint()["encoder"])
    assert record["train_loss"] is not None and head is not None


def test_scratch_starts_from_random_weights_with_the_same_budget(run, monkeypatch):
    from sslcore.train import adapt as module

    budgets = []
    real = module._finetune
    monkeypatch.setattr(module, "_finetune", lambda *a, **k: budgets.append(a[4]) or real(*a, **k))
    adapt_models(run, "finetune", 0.5, steps=7)
    encoder, _, record = adapt_models(run, "scratch", 0.5, steps=7)
    assert budgets == [7, 7]
    assert record["checkpoint_step"] is None
    assert not same(encoder.state_dict(), run.load_checkpoint()["encoder"])


def test_knn_has_no_head(run):
    _, head, record = adapt_models(run, "knn", 0.1)
    assert head is None and record["test_loss"] is None and 0 <= record["accuracy"] <= 1
    assert record["labels"] >= 3  # at least one per class


def test_random_init_encoder_needs_a_config():
    with pytest.raises(ValueError, match="config"):
        adapt(None, "linear")
    record = adapt(None, "linear", 1.0, config=CONFIG, epochs=20)
    assert record["checkpoint_step"] is None


@pytest.mark.parametrize(
    ("mode", "fraction", "match"),
    [("probe", 1.0, "mode"), ("linear", 0.0, "label_fraction"), ("linear", 1.5, "label_fraction")],
)
def test_bad_arguments(run, mode, fraction, match):
    with pytest.raises(ValueError, match=match):
        adapt(run, mode, fraction)


def test_results_are_saved_and_the_sweep_covers_modes_and_fractions(run):
    before = (
        json.loads((run.path / "adapt.json").read_text())
        if (run.path / "adapt.json").exists()
        else []
    )
    records = sweep(run, fractions=(0.1, 1.0), modes=ADAPT_MODES, steps=5, epochs=20)
    assert [(r["label_fraction"], r["mode"]) for r in records] == [
        (f, m) for f in (0.1, 1.0) for m in ADAPT_MODES
    ]
    saved = json.loads((run.path / "adapt.json").read_text())
    assert len(saved) == len(before) + len(records)


def test_linear_head_standardises_with_the_unlabeled_statistics():
    import numpy as np

    from sslcore.train.adapt import _train_head_on_features

    rng = np.random.default_rng(0)
    unlabeled = rng.normal(2.0, 3.0, (200, 4)).astype(np.float32)
    labeled = unlabeled[:2]  # one label per class: their own std would be meaningless
    head = _train_head_on_features(labeled, np.array([0, 1]), 2, 5, 0, unlabeled)
    standardise = head[0]
    torch.testing.assert_close(standardise.mean, torch.from_numpy(unlabeled).mean(0))
    torch.testing.assert_close(standardise.std, torch.from_numpy(unlabeled).std(0))
    alone = _train_head_on_features(labeled, np.array([0, 1]), 2, 5, 0)
    torch.testing.assert_close(alone[0].mean, torch.from_numpy(labeled).mean(0))
