"""Adaptation: θ* transferred into h_θ with a new task head g_φ, trained on few labels.

Modes: ``linear`` (θ* frozen, g_φ trained: the linear probe), ``finetune`` (θ* and
g_φ trained), ``knn`` (no head: a kNN vote on h_θ*(x)), and ``scratch``, the supervised baseline:
the same encoder from random initialisation, trained like ``finetune`` with the same budget.
``sweep`` runs them over label fractions (1 %, 10 %, 100 %) into a label-efficiency table.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler

from sslcore import ops
from sslcore.augment import sample_view_params, supervised_views
from sslcore.config import ADAPT_MODES, PretrainConfig
from sslcore.data import Dataset, label_indices
from sslcore.data.splits import LABEL_FRACTIONS
from sslcore.eval.few_label import accuracy_summary
from sslcore.eval.probe import extract_features, fit_linear_probe, knn_accuracy
from sslcore.models import freeze, make_encoder, task_head, transfer
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD, to_model_input
from sslcore.runs import Run, atomic_write_text
from sslcore.train.pretrain import build

__all__ = ["ADAPT_MODES", "DEFAULT_LR", "adapt", "adapt_models", "plateau_steps", "sweep"]

DEFAULT_LR = 3e-3  # the peak learning rate of finetune and scratch
# Their AdamW steps by default (`plateau_steps`): 400 epochs of the drawn labels, within these.
PLATEAU_EPOCHS, MIN_STEPS, MAX_STEPS = 400, 400, 2400


def plateau_steps(labels: int, batch_size: int) -> int:
    """The steps that take finetune and scratch to their plateau on `labels` examples.

    400 epochs, at least 400 and at most 2,400 steps. Measured with the supervised baseline:
    on digits at 10 % (126 labels) 400 steps reach 96.4 % and 800 no more; on shapes at 10 %
    (700 labels, ResNet width 16) 400 steps give 40 %, 1,200 56 % and 2,400 60 %.
    """
    epochs = math.ceil(PLATEAU_EPOCHS * labels / batch_size)
    return min(MAX_STEPS, max(MIN_STEPS, epochs))


def _check_budget(steps: Any, draws: Any, batch_size: Any, lr: Any, seed: Any) -> None:
    """The training budget: a non-positive one would train nothing and record chance."""
    for name, value in (("steps", steps), ("draws", draws), ("batch_size", batch_size)):
        if name == "steps" and value is None:  # plateau_steps
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a finite number > 0, got {lr!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")


def _check(mode: str, label_fraction: float) -> None:
    if mode not in ADAPT_MODES:
        raise ValueError(f"mode: expected one of {ADAPT_MODES}, got {mode!r}")
    if isinstance(label_fraction, bool) or not isinstance(label_fraction, (int, float)):
        raise ValueError(f"label_fraction: expected a number in (0, 1], got {label_fraction!r}")
    if not 0 < label_fraction <= 1:
        raise ValueError(f"label_fraction: expected a number in (0, 1], got {label_fraction}")


def _augmenter(
    sample_shape: Sequence[int],
) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """The training input of a labelled batch: views for images, the vectors as they are."""
    if len(sample_shape) != 3:
        return lambda x, generator: to_model_input(x)
    c = int(sample_shape[0])
    spec, geometry = supervised_views(sample_shape, (IMAGE_MEAN,) * c, (IMAGE_STD,) * c)

    def views(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        params = sample_view_params(spec, x.shape, views=1, generator=generator, device=x.device)
        out = ops.augment_views(x, params)
        return geometry(out, generator, spec.mean, spec.std) if geometry.active else out

    return views


def _finetune(
    encoder: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """h_θ and g_φ trained together on (x, y) for `steps` AdamW steps (cosine decay).

    Images are seen through augmentation (``sslcore.augment.supervised_views``): without it a
    few labels are memorised within a few steps and the baseline stops learning.
    """
    torch.manual_seed(seed)
    head = task_head(encoder.out_dim, num_classes)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    inputs = _augmenter(x.shape[1:])
    encoder.train()
    for _ in range(steps):
        rows = torch.randint(len(x), (min(batch_size, len(x)),), generator=generator)
        logits = head(encoder(inputs(x[rows], generator)))
        loss = F.cross_entropy(logits, y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    encoder.eval()
    return encoder, head


@torch.no_grad()
def _scores(head: torch.nn.Module, features: np.ndarray, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, mean cross-entropy L_adapt) of g_φ on features h_θ(x), against y."""
    logits = head(torch.from_numpy(features))
    return float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y))


@dataclass
class _Prepared:
    """What every label draw of one adaptation shares: the split, θ* (or none) and its step."""

    config: PretrainConfig
    pool: Dataset  # the labeled pool the draws come from (target train / in-domain train)
    test: Dataset
    state: dict[str, torch.Tensor] | None  # θ*; None: a random-init encoder
    step: int | None
    frozen: tuple[torch.nn.Module, np.ndarray, np.ndarray] | None = None  # h, h(pool), h(test)


def _prepare(
    run: Run | None, config: PretrainConfig | None, checkpoint_step: int | None
) -> _Prepared:
    if run is None and config is None:
        raise ValueError("config: needed when there is no run to adapt")
    config = config or run.config
    setup = build(config)  # the same split as pretraining (same seed)
    state, step = None, None
    if run is not None:
        saved = run.load_checkpoint(checkpoint_step)
        state, step = saved["encoder"], int(saved["step"])
    return _Prepared(config, setup.split.target_train, setup.split.target_test, state, step)


def _encoder(prep: _Prepared, mode: str, seed: int) -> torch.nn.Module:
    """θ* in a fresh h_θ, or (no run, or ``scratch``) a seeded random initialisation."""
    config = prep.config
    if prep.state is None or mode == "scratch":
        torch.manual_seed(config.seed + 7 + (seed if mode == "scratch" else 0))
        return make_encoder(prep.pool.sample_shape, config.width, config.encoder)
    encoder = make_encoder(prep.pool.sample_shape, config.width, config.encoder)
    encoder.load_state_dict(prep.state)
    return transfer(encoder)


def _frozen(prep: _Prepared, mode: str) -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    """The frozen encoder, h(pool) and h(test): made once, shared by every draw."""
    if prep.frozen is None:
        encoder = freeze(_encoder(prep, mode, 0))
        pool, test = extract_features(encoder, prep.pool.x), extract_features(encoder, prep.test.x)
        prep.frozen = (encoder, pool, test)
    return prep.frozen


def _adapt_draw(
    prep: _Prepared,
    mode: str,
    fraction: float,
    seed: int,
    steps: int | None,
    batch_size: int,
    lr: float,
) -> tuple[torch.nn.Module, torch.nn.Module | None, dict[str, Any]]:
    """One label draw (seed `seed`) adapted in `mode`: encoder, g_φ and the draw's scores."""
    idx = label_indices(prep.pool.y.numpy(), float(fraction), seed)
    train, test = prep.pool.subset(idx), prep.test
    y_pool, y_test = prep.pool.y.numpy(), test.y.numpy()
    record: dict[str, Any] = {"labels": len(train)}
    if mode in ("knn", "linear"):
        encoder, pool, test_feats = _frozen(prep, mode)
        if mode == "knn":
            accuracy = knn_accuracy(pool[idx], y_pool[idx], test_feats, y_test)
            scores = {"accuracy": accuracy, "test_loss": None, "train_loss": None}
            return encoder, None, record | scores
        scaler = StandardScaler().fit(pool)  # the whole labeled pool, its labels unused
        head = fit_linear_probe(pool[idx], y_pool[idx], prep.pool.num_classes, scaler)
        accuracy, test_loss = _scores(head, test_feats, test.y)
        _, train_loss = _scores(head, pool[idx], train.y)
    else:  # finetune, scratch: the same budget
        encoder, head = _finetune(
            _encoder(prep, mode, seed),
            train.x,
            train.y,
            prep.pool.num_classes,
            plateau_steps(len(train), batch_size) if steps is None else steps,
            batch_size,
            lr,
            seed,
        )
        accuracy, test_loss = _scores(head, extract_features(encoder, test.x), test.y)
        _, train_loss = _scores(head, extract_features(encoder, train.x), train.y)
    return (
        encoder,
        head,
        record | {"accuracy": accuracy, "test_loss": test_loss, "train_loss": train_loss},
    )


def adapt_models(
    run: Run | None,
    mode: str,
    label_fraction: float = 1.0,
    *,
    config: PretrainConfig | None = None,
    checkpoint_step: int | None = None,
    steps: int | None = None,
    batch_size: int = 128,
    lr: float = DEFAULT_LR,
    seed: int = 0,
) -> tuple[torch.nn.Module, torch.nn.Module | None, dict[str, Any]]:
    """Adapts θ* of `run` (or a random-init encoder when `run` is None) on one label draw.

    Args:
        run: a pretraining run; None adapts an untrained encoder of `config`.
        mode: ``"linear"``, ``"finetune"``, ``"knn"`` or ``"scratch"``.
        label_fraction: share of the labeled pool used: ``round(f · N)`` labels, at least one
            per class, stratified, nested for one seed (``sslcore.data.label_indices``).
        config: the data/encoder settings when `run` is None (default: the run's config).
        checkpoint_step: which checkpoint of the run (default: the last).
        steps: AdamW steps of ``finetune`` and ``scratch`` (the same budget for both); None:
            `plateau_steps` of the drawn labels.
        batch_size: their batch size.
        lr: their peak learning rate (cosine decay).
        seed: seed of the label draw, of g_φ's initialisation and (``scratch``) of h_θ's.

    Returns:
        The adapted encoder, g_φ (None for knn) and the record: ``mode``, ``label_fraction``,
        ``labels`` (count), ``accuracy`` and ``test_loss`` (L_adapt on the held-out test split;
        None for knn), ``train_loss``, ``seconds``, ``checkpoint_step``, ``seed``, ``draws`` (1).
        The linear probe is ``sslcore.eval.fit_linear_probe``: standardised with the whole
        pool's statistics, then a logistic regression (C = 1).
    """
    _check(mode, label_fraction)
    _check_budget(steps, 1, batch_size, lr, seed)
    began = time.perf_counter()
    prep = _prepare(run, config, checkpoint_step)
    encoder, head, scores = _adapt_draw(prep, mode, label_fraction, seed, steps, batch_size, lr)
    budget = _budget(mode, steps, batch_size, lr)
    return encoder, head, _record(prep, mode, label_fraction, seed, [scores], began, budget)


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def _budget(mode: str, steps: int | None, batch_size: int, lr: float) -> dict[str, Any] | None:
    """The training budget of finetune and scratch (steps None: `plateau_steps`); probes: None."""
    if mode in ("linear", "knn"):
        return None
    return {"steps": steps, "batch_size": batch_size, "lr": float(lr)}


def _setting(
    prep: _Prepared, mode: str, fraction: float, seed: int, budget: dict[str, Any] | None
) -> dict[str, Any]:
    """What makes label draws alike (`_SAME`): draws of one setting can be reused and pooled."""
    return {
        "mode": mode,
        "label_fraction": float(fraction),
        "checkpoint_step": None if mode == "scratch" else prep.step,  # scratch never reads θ*
        "seed": seed,
        "budget": budget,
    }


def _record(
    prep: _Prepared,
    mode: str,
    fraction: float,
    seed: int,
    scores: list[dict[str, Any]],
    began: float,
    budget: dict[str, Any] | None,
) -> dict[str, Any]:
    """The record of `scores`, one per label draw: their mean, and over several their spread.

    ``draw_scores`` keeps every draw's accuracy and losses, so a later sweep can reuse them.
    """
    record: dict[str, Any] = _setting(prep, mode, fraction, seed, budget)
    record |= {
        "labels": scores[0]["labels"],
        "accuracy": float(np.mean([s["accuracy"] for s in scores])),
        "test_loss": _mean([s["test_loss"] for s in scores]),
        "train_loss": _mean([s["train_loss"] for s in scores]),
        "draws": len(scores),
    }
    if len(scores) > 1:
        record |= accuracy_summary([s["accuracy"] for s in scores])
    record["draw_scores"] = [
        {k: s[k] for k in ("labels", "accuracy", "test_loss", "train_loss")} for s in scores
    ]
    record["seconds"] = time.perf_counter() - began
    return record


_SAME = ("mode", "label_fraction", "checkpoint_step", "seed", "budget")  # `_setting`'s keys


def _same_setting(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether records `a` and `b` hold draws of one setting (the same draws, seed by seed)."""
    return all(a.get(k) == b.get(k) for k in _SAME) and "draw_scores" in a and "draw_scores" in b


def _saved_scores(run: Run, like: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-draw scores of the run's record with most draws of `like`'s setting (or none)."""
    best: list[dict[str, Any]] = []
    for record in run.adapt_records():
        if _same_setting(record, like) and len(record["draw_scores"]) > len(best):
            best = record["draw_scores"]
    return [dict(s) for s in best]


def adapt(
    run: Run | None,
    mode: str,
    label_fraction: float = 1.0,
    *,
    draws: int = 1,
    save: bool = True,
    config: PretrainConfig | None = None,
    checkpoint_step: int | None = None,
    steps: int | None = None,
    batch_size: int = 128,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    reuse: bool = False,
) -> dict[str, Any]:
    """The record of `mode` at `label_fraction` over `draws` label draws (seeds seed, seed + 1, …).

    With one draw, `adapt_models`' record. With more: ``accuracy`` is the mean over the draws,
    with ``accuracy_std`` (sample std), ``accuracy_min``, ``accuracy_max`` and ``accuracies`` (in
    draw order, for paired comparisons); ``test_loss`` and ``train_loss`` are means. At 100 %
    of the labels every draw holds the same labels, so one draw is made. With a run and
    ``save``, the record is written to its adapt.json (atomically) after every draw, replacing
    the records of the same setting with fewer draws, so an interrupted call loses one draw at
    most. With ``reuse``, the draws the run already holds for this setting (mode, fraction,
    checkpoint, seed and training budget) are taken, not recomputed. Takes `adapt_models`' other
    arguments.
    """
    _check(mode, label_fraction)
    _check_budget(steps, draws, batch_size, lr, seed)
    began = time.perf_counter()
    prep = _prepare(run, config, checkpoint_step)
    count = 1 if label_fraction == 1 else draws
    budget = _budget(mode, steps, batch_size, lr)
    like = _setting(prep, mode, label_fraction, seed, budget) | {"draw_scores": []}
    scores = _saved_scores(run, like)[:count] if reuse and run is not None else []
    reused = len(scores)
    record = _record(prep, mode, label_fraction, seed, scores, began, budget) if scores else {}
    while len(scores) < count:
        d = len(scores)
        scores.append(_adapt_draw(prep, mode, label_fraction, seed + d, steps, batch_size, lr)[2])
        record = _record(prep, mode, label_fraction, seed, scores, began, budget)
        if save and run is not None:
            _save(run, record | {"reused_draws": reused})
    return record | {"reused_draws": reused}


def _save(run: Run, record: dict[str, Any]) -> None:
    """Appends `record` to adapt.json, dropping the records it extends (same setting, fewer)."""
    draws = len(record["draw_scores"])
    kept = [
        r
        for r in run.adapt_records()
        if not (_same_setting(r, record) and len(r["draw_scores"]) <= draws)
    ]
    atomic_write_text(run.path / "adapt.json", json.dumps([*kept, record], indent=2))


def sweep(
    run: Run | None,
    *,
    config: PretrainConfig | None = None,
    fractions: Sequence[float] = LABEL_FRACTIONS,
    modes: Sequence[str] = ADAPT_MODES,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
    reuse: bool = True,
    **options: Any,
) -> list[dict[str, Any]]:
    """The label-efficiency table: `adapt` for every mode × label fraction, one record each.

    `progress` (if given) is called with (records done, records in all, the new record) as each
    one is done, so a caller can report a sweep that takes minutes while it goes. With `reuse`
    (the default) the label draws the run already holds are taken, not recomputed: a repeated
    or interrupted sweep does only what is missing.
    """
    settings = [(fraction, mode) for fraction in fractions for mode in modes]
    records = []
    for fraction, mode in settings:
        records.append(adapt(run, mode, fraction, config=config, reuse=reuse, **options))
        if progress is not None:
            progress(len(records), len(settings), records[-1])
    return records
