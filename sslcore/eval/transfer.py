"""The pretraining–adaptation interface: does a small L_pre imply a small L*_adapt?

For every checkpoint of a run (and its seeded initialisation, step 0) this measures
- ``pretext_loss``: L_pre of k_γ(h_θ(x̃)) on held-out unlabeled data (the target set's inputs,
  never seen in pretraining), on pretext batches drawn from one fixed seed, so every checkpoint
  answers the same questions;
- ``adapt_train_loss`` = L*_adapt: the smallest cross-entropy a linear head g_φ reaches on the
  frozen features of the labeled target train set (an L2-regularised logistic regression fit to
  convergence, so the minimum exists even when the classes are separable), with
  ``adapt_test_loss`` and ``accuracy`` of that head on the target test split.
Across checkpoints the Spearman rank correlation of the two tells whether ranking checkpoints by
L_pre ranks them by L*_adapt; a pretext whose loss falls while L*_adapt does not is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sslcore.errors import DataError, SslcoreError
from sslcore.eval.probe import extract_features
from sslcore.runs import Run

__all__ = [
    "TransferError",
    "adaptation_loss",
    "compare_runs",
    "pooled_correlation",
    "pretext_loss",
    "rank_correlation",
    "relation_breaks",
    "rescaled_pretext_loss",
    "transfer_table",
]


class TransferError(SslcoreError):
    """The transfer table cannot be measured (e.g. a run without checkpoints)."""


@torch.no_grad()
def pretext_loss(
    task: Any,
    encoder: torch.nn.Module,
    head: torch.nn.Module,
    x: torch.Tensor,
    batch_size: int,
    seed: int = 0,
    batches: int = 8,
    device: str = "cpu",
) -> float:
    """Mean L_pre of k_γ(h_θ(x̃)) over `batches` pretext batches of `x` drawn from `seed`.

    Both modules are in eval mode (BatchNorm on its running statistics), so the value is a
    property of θ and γ, not of the batch; the same seed gives every checkpoint the same x̃.
    """
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise ValueError(f"batches: expected an integer >= 1, got {batches!r}")
    if x.shape[0] == 0:
        raise TransferError("pretext_loss: no held-out samples to evaluate L_pre on")
    generator = torch.Generator().manual_seed(seed)
    modes = encoder.training, head.training
    encoder.eval()
    head.eval()
    try:
        losses = []
        for _ in range(batches):
            rows = torch.randint(x.shape[0], (min(batch_size, x.shape[0]),), generator=generator)
            batch = task.make_batch(x[rows], generator).to(device)
            losses.append(float(task.loss(task.forward(encoder, head, batch), batch).loss))
    finally:
        encoder.train(modes[0])
        head.train(modes[1])
    return float(np.mean(losses))


def adaptation_loss(
    train: np.ndarray,
    train_y: np.ndarray,
    test: np.ndarray,
    test_y: np.ndarray,
    c: float = 1.0,
) -> dict[str, float]:
    """L*_adapt: the linear head's minimal cross-entropy on (train, train_y), and its test scores.

    Features are standardised with the train statistics; `c` is the inverse L2 strength of the
    logistic regression (scikit-learn's ``C``). Returns ``adapt_train_loss``,
    ``adapt_test_loss`` and ``accuracy`` (on test).
    """
    for name, value in (("train", train), ("test", test)):
        if not np.isfinite(value).all():
            raise TransferError(f"adaptation_loss: {name} features contain NaN or inf")
    classes = np.unique(train_y)
    if len(classes) < 2:
        raise TransferError(f"adaptation_loss: needs two classes or more, got {classes.tolist()}")
    scaler = StandardScaler().fit(train)
    head = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(train), train_y)
    p_test = head.predict_proba(scaler.transform(test))
    return {
        "adapt_train_loss": _cross_entropy(head, scaler.transform(train), train_y),
        "adapt_test_loss": _cross_entropy(head, scaler.transform(test), test_y),
        "accuracy": float(np.mean(head.classes_[p_test.argmax(1)] == test_y)),
    }


def _cross_entropy(head: LogisticRegression, x: np.ndarray, y: np.ndarray) -> float:
    """Mean −log p(y | x); a class the head never saw gets probability 1e-12 (loss 27.6)."""
    if len(y) == 0:
        return float("nan")
    p = head.predict_proba(x)
    column = {c: i for i, c in enumerate(head.classes_.tolist())}
    picked = np.array([p[i, column[c]] if c in column else 0.0 for i, c in enumerate(y.tolist())])
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())


def transfer_table(
    run: Run,
    steps: Sequence[int] | None = None,
    batches: int = 8,
    save: bool = True,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One row per checkpoint (step 0 = the seeded initialisation): L_pre, L*_adapt, accuracy.

    Args:
        run: a pretraining run with at least one checkpoint.
        steps: which checkpoints (default: all, plus step 0).
        batches: pretext batches averaged for L_pre.
        save: store the rows in the run (``transfer.json``, written atomically).
        progress: print one line per checkpoint.
    """
    from sslcore.train.pretrain import checkpoint_steps, load_run_models

    try:
        todo = checkpoint_steps(run, steps)
    except DataError as error:  # L_pre and L*_adapt are measured on checkpoints
        raise TransferError(str(error)) from None
    config = run.config
    setup, _, load = load_run_models(run)
    split, device = setup.split, config.device
    unlabeled = torch.cat([split.target_train.x, split.target_test.x])
    rows = []
    for step in todo:
        began = time.perf_counter()
        load(step)
        row: dict[str, Any] = {"step": step, "task": config.task}
        row["pretext_loss"] = pretext_loss(
            setup.task, setup.encoder, setup.head, unlabeled, config.batch_size, 0, batches, device
        )
        train = extract_features(setup.encoder, split.target_train.x, device=device)
        test = extract_features(setup.encoder, split.target_test.x, device=device)
        row |= adaptation_loss(
            train, split.target_train.y.numpy(), test, split.target_test.y.numpy()
        )
        row["seconds"] = time.perf_counter() - began
        rows.append(row)
        if progress:
            print(
                f"step {step:>7}  L_pre {row['pretext_loss']:.4f}  "
                f"L*_adapt {row['adapt_train_loss']:.4f}  test {row['adapt_test_loss']:.4f}  "
                f"accuracy {row['accuracy']:.3f}",
                flush=True,
            )
    if save:
        run.write_transfer_rows(rows)
    return rows


def rank_correlation(
    rows: Sequence[dict[str, Any]], loss: str = "adapt_train_loss"
) -> float | None:
    """Spearman ρ of L_pre against `loss` across `rows`; None when fewer than 3 or constant.

    ρ near 1: the checkpoints with smaller L_pre are the ones with smaller L*_adapt.
    """
    if len(rows) < 3:
        return None
    a = [r["pretext_loss"] for r in rows]
    b = [r[loss] for r in rows]
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


def relation_breaks(rows: Sequence[dict[str, Any]], tolerance: float = 0.02) -> str | None:
    """A sentence when L_pre fell from the first to the last row while L*_adapt did not.

    `tolerance` is the relative fall of L*_adapt below which it counts as "did not fall".
    """
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    pre_fell = last["pretext_loss"] < first["pretext_loss"] * (1 - tolerance)
    adapt_fell = last["adapt_train_loss"] < first["adapt_train_loss"] * (1 - tolerance)
    if pre_fell and not adapt_fell:
        return (
            f"The relation breaks for {first.get('task', 'this task')!r}: L_pre fell from "
            f"{first['pretext_loss']:.3f} (step {first['step']}) to {last['pretext_loss']:.3f} "
            f"(step {last['step']}) while L*_adapt went from {first['adapt_train_loss']:.3f} to "
            f"{last['adapt_train_loss']:.3f}: a better pretext solution did not give features "
            "a linear head adapts better to."
        )
    return None


def rescaled_pretext_loss(rows: Sequence[dict[str, Any]]) -> list[float]:
    """Each row's L_pre rescaled to [0, 1] within its run: 1 its highest, 0 its lowest.

    Pretext losses live on different scales and signs (NT-Xent near log 2N, rotation below
    log 4, SimSiam's negative cosine in [-1, 1]), so runs of different tasks share an axis only
    as how far along its own range each checkpoint is. A constant loss maps to 0.
    """
    values = [float(r["pretext_loss"]) for r in rows]
    if not values:
        return []
    low, high = min(values), max(values)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


def pooled_correlation(tables: dict[str, Sequence[dict[str, Any]]]) -> float | None:
    """Spearman ρ over every checkpoint of every run, L_pre rescaled within each run.

    ρ near 1: across tasks, the checkpoints further down their own pretext loss are the ones
    that adapt with a smaller L*_adapt; a task whose loss falls while L*_adapt stays lowers it.
    """
    rows = []
    for table in tables.values():
        rescaled = rescaled_pretext_loss(table)
        rows += [r | {"pretext_loss": v} for r, v in zip(table, rescaled, strict=True)]
    return rank_correlation(rows)


def compare_runs(tables: dict[str, Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per run: task, ρ across its checkpoints, final L_pre and L*_adapt, and any break.

    Losses of different pretext tasks are on different scales, so runs are compared by their
    final L*_adapt (the rank across runs), each with its own within-run ρ.
    """
    summary = []
    for name, rows in tables.items():
        if not rows:
            continue
        last = rows[-1]
        summary.append(
            {
                "run": name,
                "task": last.get("task"),
                "checkpoints": len(rows),
                "spearman": rank_correlation(rows),
                "final_pretext_loss": last["pretext_loss"],
                "final_adapt_loss": last["adapt_train_loss"],
                "final_accuracy": last["accuracy"],
                "breaks": relation_breaks(rows),
            }
        )
    order = sorted(summary, key=lambda r: r["final_adapt_loss"])
    for rank, r in enumerate(order, 1):
        r["adapt_rank"] = rank
    return summary
