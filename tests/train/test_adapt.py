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
    encoder, head, record = adapt_models(run, "linear", 1.0)
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
    record = adapt(None, "linear", 1.0, config=CONFIG)
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
    records = sweep(run, fractions=(0.1, 1.0), modes=ADAPT_MODES, steps=5)
    assert [(r["label_fraction"], r["mode"]) for r in records] == [
        (f, m) for f in (0.1, 1.0) for m in ADAPT_MODES
    ]
    saved = json.loads((run.path / "adapt.json").read_text())
    assert len(saved) == len(before) + len(records)


def test_linear_head_standardises_with_the_pool_statistics_and_is_the_probe():
    """g_φ of the linear mode is linear_probe_accuracy's classifier, standardised by the pool."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from sslcore.eval.probe import fit_linear_probe, linear_probe_accuracy

    rng = np.random.default_rng(0)
    pool = rng.normal(2.0, 3.0, (200, 4)).astype(np.float32)
    y = (pool[:, 0] > 2.0).astype(np.int64)
    labeled, labels = pool[:20], y[:20]
    scaler = StandardScaler().fit(pool)
    head = fit_linear_probe(labeled, labels, 3, scaler)  # class 2 never seen
    torch.testing.assert_close(head[0].mean, torch.from_numpy(pool.mean(0)))
    logits = head(torch.from_numpy(pool))
    assert (logits[:, 2] < -1e3).all()  # an absent class is never predicted
    accuracy = float((logits.argmax(1).numpy() == y).mean())
    assert accuracy == pytest.approx(linear_probe_accuracy(labeled, labels, pool, y, scaler))


def test_draws_give_the_mean_and_spread_over_label_draws(run):
    record = adapt(run, "linear", 0.2, draws=4, save=False)
    accuracies = record["accuracies"]
    assert record["draws"] == 4 and len(accuracies) == 4
    assert record["accuracy"] == pytest.approx(sum(accuracies) / 4)
    assert record["accuracy_min"] == min(accuracies) <= max(accuracies) == record["accuracy_max"]
    singles = [adapt(run, "linear", 0.2, seed=d, save=False)["accuracy"] for d in range(4)]
    assert singles == pytest.approx(accuracies)  # draw d is the draw of seed d
    assert adapt(run, "knn", 1.0, draws=4, save=False)["draws"] == 1  # all labels: one draw


def test_scratch_sees_augmented_images():
    from sslcore.train.adapt import _augmenter

    x = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    views = _augmenter(x.shape[1:])
    a = views(x, torch.Generator().manual_seed(0))
    b = views(x, torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 8, 8) and a.dtype == torch.float32 and not torch.equal(a, b)
    vectors = torch.randn(4, 13)
    assert torch.equal(_augmenter((13,))(vectors, torch.Generator()), vectors)


def _counting(monkeypatch):
    """Counts the label draws actually computed (not reused) by adapt."""
    from sslcore.train import adapt as module

    calls = []
    real = module._adapt_draw
    monkeypatch.setattr(
        module, "_adapt_draw", lambda prep, mode, *a: calls.append(mode) or real(prep, mode, *a)
    )
    return calls


def test_a_sweep_reuses_the_draws_the_run_holds(tmp_path, monkeypatch):
    run = pretrain(CONFIG, store=RunStore(tmp_path), progress=False)
    calls = _counting(monkeypatch)
    first = sweep(run, fractions=(0.3,), modes=("linear", "scratch"), draws=2, steps=5)
    assert calls == ["linear", "linear", "scratch", "scratch"]
    calls.clear()
    more = sweep(run, fractions=(0.3,), modes=("linear", "scratch"), draws=3, steps=5)
    assert calls == ["linear", "scratch"]  # only the third draw of each
    for old, new in zip(first, more, strict=True):
        assert new["accuracies"][:2] == old["accuracies"] and new["reused_draws"] == 2
    saved = run.adapt_records()  # one record per setting, the one with most draws
    assert [(r["mode"], r["draws"]) for r in saved] == [("linear", 3), ("scratch", 3)]
    calls.clear()
    sweep(run, fractions=(0.3,), modes=("linear", "scratch"), draws=3, steps=6)
    assert calls == ["scratch"] * 3  # another training budget is another setting
    calls.clear()
    sweep(run, fractions=(0.3,), modes=("linear",), draws=2, steps=5, reuse=False)
    assert calls == ["linear"] * 2


def test_an_interrupted_adapt_keeps_its_finished_draws(tmp_path, monkeypatch):
    from sslcore.train import adapt as module

    run = pretrain(CONFIG, store=RunStore(tmp_path), progress=False)
    real, done = module._adapt_draw, []

    def failing(*args):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(1)
        return real(*args)

    monkeypatch.setattr(module, "_adapt_draw", failing)
    with pytest.raises(KeyboardInterrupt):
        adapt(run, "linear", 0.3, draws=5)
    assert [r["draws"] for r in run.adapt_records()] == [2]
    monkeypatch.setattr(module, "_adapt_draw", real)
    record = adapt(run, "linear", 0.3, draws=5, reuse=True)
    assert record["reused_draws"] == 2 and record["draws"] == 5
    fresh = adapt(run, "linear", 0.3, draws=5, save=False)
    assert record["accuracies"] == pytest.approx(fresh["accuracies"])


def test_plateau_steps_are_400_epochs_of_the_labels_within_bounds():
    from sslcore.train.adapt import plateau_steps

    assert plateau_steps(13, 128) == 400  # few labels: the floor
    assert plateau_steps(700, 128) == 2188  # shapes at 10 %: ceil(400 · 700 / 128)
    assert plateau_steps(7000, 128) == 2400  # the ceiling
    assert plateau_steps(700, 64) == 2400


def test_scratch_trains_to_the_plateau_unless_steps_are_given(run, monkeypatch):
    from sslcore.train import adapt as module

    budgets = []
    real = module._finetune
    monkeypatch.setattr(module, "_finetune", lambda *a, **k: budgets.append(a[4]) or real(*a, **k))
    monkeypatch.setattr(module, "plateau_steps", lambda labels, batch: labels + batch)
    record = adapt(run, "scratch", 0.5, save=False, batch_size=8)
    assert budgets == [record["labels"] + 8] and record["budget"]["steps"] is None
    adapt(run, "scratch", 0.5, save=False, steps=3)
    assert budgets[-1] == 3
    with pytest.raises(ValueError, match="steps"):
        adapt(run, "scratch", 0.5, steps=0)
