"""The transfer interface: L_pre and L*_adapt per checkpoint, their rank correlation, breaks."""

import numpy as np
import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.eval.transfer import (
    TransferError,
    adaptation_loss,
    compare_runs,
    pooled_correlation,
    rank_correlation,
    relation_breaks,
    rescaled_pretext_loss,
    transfer_table,
)
from sslcore.runs import RunStore
from sslcore.train.pretrain import pretrain


def _blobs(n, k, d, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 10
    y = np.arange(n) % k
    return (centres[y] + spread * rng.normal(size=(n, d))).astype(np.float32), y


def test_separable_features_adapt_with_small_loss_and_noise_with_log_k():
    x, y = _blobs(200, 4, 8, 0.1, 0)
    good = adaptation_loss(x[:100], y[:100], x[100:], y[100:])
    assert good["accuracy"] == 1.0 and good["adapt_train_loss"] < 0.05
    noise = np.random.default_rng(1).normal(size=(400, 8)).astype(np.float32)
    bad = adaptation_loss(noise[:200], y[:100].repeat(2), noise[200:], y[:100].repeat(2))
    assert bad["adapt_test_loss"] > 0.9 * np.log(4) and bad["accuracy"] < 0.45


def test_a_class_unseen_in_training_costs_a_bounded_loss():
    x, y = _blobs(60, 3, 4, 0.1, 2)
    seen = y < 2
    out = adaptation_loss(x[seen], y[seen], x, y)
    assert np.isfinite(out["adapt_test_loss"]) and out["adapt_test_loss"] > 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features_are_named(bad):
    x, y = _blobs(20, 2, 3, 0.1, 0)
    x[3, 1] = bad
    with pytest.raises(TransferError, match="NaN or inf"):
        adaptation_loss(x, y, x, y)


def test_one_class_is_refused():
    x, _ = _blobs(10, 2, 3, 0.1, 0)
    with pytest.raises(TransferError, match="two classes"):
        adaptation_loss(x, np.zeros(10, int), x, np.zeros(10, int))


def _rows(pre, adapt, task="t"):
    return [
        {"step": i, "task": task, "pretext_loss": a, "adapt_train_loss": b, "accuracy": 0.5}
        for i, (a, b) in enumerate(zip(pre, adapt, strict=True))
    ]


def test_rank_correlation_follows_the_order_not_the_scale():
    assert rank_correlation(_rows([3, 2, 1, 0.5], [9, 4, 1, 0.1])) == pytest.approx(1.0)
    assert rank_correlation(_rows([3, 2, 1, 0.5], [0.1, 1, 4, 9])) == pytest.approx(-1.0)
    assert rank_correlation(_rows([3, 2], [2, 1])) is None  # too few
    assert rank_correlation(_rows([1, 1, 1], [3, 2, 1])) is None  # constant


def test_a_break_is_stated_only_when_l_pre_falls_and_l_adapt_does_not():
    message = relation_breaks(_rows([5, 3, 1], [1.0, 1.0, 1.01], task="rotation"))
    assert message and "rotation" in message and "breaks" in message
    assert relation_breaks(_rows([5, 3, 1], [2.0, 1.5, 1.0])) is None
    assert relation_breaks(_rows([5, 5, 5], [1.0, 1.0, 1.0])) is None


def test_rescaled_l_pre_spans_zero_to_one_whatever_the_sign():
    assert rescaled_pretext_loss(_rows([-0.1, -0.7, -0.4], [1, 1, 1])) == pytest.approx([1, 0, 0.5])
    assert rescaled_pretext_loss(_rows([2, 2], [1, 1])) == [0.0, 0.0]


def test_pooled_correlation_falls_when_one_task_breaks_the_relation():
    a = _rows([10, 5, 2], [2.0, 1.0, 0.5])
    holds = _rows([-0.1, -0.5, -0.7], [1.8, 1.2, 0.6])  # a negative loss (SimSiam-like)
    breaks = _rows([1.0, 0.5, 0.2], [1.8, 1.9, 2.0])  # L_pre falls, L*_adapt rises
    good = pooled_correlation({"a": a, "b": holds})
    assert good > 0.8 and pooled_correlation({"a": a, "b": breaks}) < good - 0.5
    assert pooled_correlation({"a": _rows([1, 2], [1, 2])}) is None


def test_compare_runs_ranks_by_final_adapt_loss():
    summary = compare_runs(
        {"a": _rows([3, 2, 1], [3, 2, 1.5], "x"), "b": _rows([9, 8, 7], [2, 1, 0.5], "y")}
    )
    ranks = {r["run"]: r["adapt_rank"] for r in summary}
    assert ranks == {"b": 1, "a": 2} and summary[0]["spearman"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.set_num_threads(1)
    config = PretrainConfig(
        task="rotation",
        data="shapes",
        data_options={"n": 160, "size": 16},
        steps=4,
        batch_size=16,
        eval_every=4,
        checkpoint_every=2,
    )
    return pretrain(config, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)


def test_one_row_per_checkpoint_plus_the_initialisation_stored_in_the_run(tiny_run):
    rows = transfer_table(tiny_run, batches=2)
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert tiny_run.transfer_rows() == rows
    for r in rows:
        assert np.isfinite(r["pretext_loss"]) and np.isfinite(r["adapt_train_loss"])
        assert 0 <= r["accuracy"] <= 1 and r["task"] == "rotation"
    assert rows[0]["pretext_loss"] != rows[-1]["pretext_loss"]  # the weights moved


def test_l_pre_is_deterministic_for_a_checkpoint(tiny_run):
    a = transfer_table(tiny_run, steps=[2], batches=2, save=False)
    b = transfer_table(tiny_run, steps=[2], batches=2, save=False)
    assert a[0]["pretext_loss"] == b[0]["pretext_loss"]


def test_missing_checkpoints_are_named(tiny_run, tmp_path):
    with pytest.raises(TransferError, match=r"no checkpoint at step\(s\) \[3\]"):
        transfer_table(tiny_run, steps=[3], save=False)
    empty = RunStore(tmp_path).create(PretrainConfig(steps=2))
    with pytest.raises(TransferError, match="no checkpoints yet"):
        transfer_table(empty)
