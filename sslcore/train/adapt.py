"""Adaptation: θ* transferred into h_θ with a new task head g_φ, trained on few labels.

Modes (DESIGN.md): ``linear`` (θ* frozen, g_φ trained: the linear probe), ``finetune`` (θ* and
g_φ trained), ``knn`` (no head: a kNN vote on h_θ*(x)), and ``scratch``, the supervised baseline:
the same encoder from random initialisation, trained like ``finetune`` with the same budget.
``sweep`` runs them over label fractions (1 %, 10 %, 100 %) into a label-efficiency table.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sslcore.config import ADAPT_MODES, PretrainConfig
from sslcore.data import label_subset
from sslcore.data.splits import LABEL_FRACTIONS
from sslcore.eval.probe import extract_features, knn_accuracy
from sslcore.models import freeze, make_encoder, task_head, transfer
from sslcore.pretext.base import to_model_input
from sslcore.runs import Run, atomic_write_text
from sslcore.train.pretrain import build

__all__ = ["ADAPT_MODES", "adapt", "adapt_models", "sweep"]


def _check_budget(steps: Any, epochs: Any, batch_size: Any, lr: Any, seed: Any) -> None:
    """The training budget: a non-positive one would train nothing and record chance."""
    for name, value in (("steps", steps), ("epochs", epochs), ("batch_size", batch_size)):
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


def _train_head_on_features(
    train: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    epochs: int,
    seed: int,
    unlabeled: np.ndarray | None = None,
) -> torch.nn.Module:
    """g_φ (linear) on frozen features: full-batch AdamW on the cross-entropy.

    The features are standardised with the statistics of `unlabeled` (all target-train
    features, labels unused) when given: with one label per class, statistics of the labeled
    rows alone blow up every feature that happens to agree across them.
    """
    torch.manual_seed(seed)
    x, t = torch.from_numpy(train), torch.from_numpy(y)
    reference = torch.from_numpy(unlabeled) if unlabeled is not None and len(unlabeled) > 1 else x
    mean, std = reference.mean(0), reference.std(0).nan_to_num(1.0).clamp_min(1e-6)
    head = torch.nn.Sequential(_Standardise(mean, std), task_head(x.shape[1], num_classes))
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.cross_entropy(head(x), t).backward()
        optimizer.step()
    return head


class _Standardise(torch.nn.Module):
    """(x − mean) / std with the training features' statistics (part of g_φ)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised features."""
        return (x - self.mean) / self.std


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
    """h_θ and g_φ trained together on (x, y) for `steps` AdamW steps (cosine decay)."""
    torch.manual_seed(seed)
    head = task_head(encoder.out_dim, num_classes)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    encoder.train()
    for _ in range(steps):
        rows = torch.randint(len(x), (min(batch_size, len(x)),), generator=generator)
        logits = head(encoder(to_model_input(x[rows])))
        loss = F.cross_entropy(logits, y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    encoder.eval()
    return encoder, head


@torch.no_grad()
def _scores(
    encoder: torch.nn.Module, head: torch.nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float]:
    """(accuracy, mean cross-entropy L_adapt) of g_φ(h_θ(x)) against y."""
    logits = head(torch.from_numpy(extract_features(encoder, x)))
    return float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y))


def adapt_models(
    run: Run | None,
    mode: str,
    label_fraction: float = 1.0,
    *,
    config: PretrainConfig | None = None,
    checkpoint_step: int | None = None,
    steps: int = 300,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> tuple[torch.nn.Module, torch.nn.Module | None, dict[str, Any]]:
    """Adapts θ* of `run` (or a random-init encoder when `run` is None) to the labeled target set.

    Args:
        run: a pretraining run; None adapts an untrained encoder of `config`.
        mode: ``"linear"``, ``"finetune"``, ``"knn"`` or ``"scratch"``.
        label_fraction: share of the target training labels used (stratified, nested subsets).
        config: the data/encoder settings when `run` is None (default: the run's config).
        checkpoint_step: which checkpoint of the run (default: the last).
        steps: AdamW steps of ``finetune`` and ``scratch`` (the same budget for both).
        batch_size: their batch size.
        lr: their peak learning rate (cosine decay).
        epochs: full-batch epochs of the linear probe's head.
        seed: seed of the label subset and of g_φ's initialisation.

    Returns:
        The adapted encoder, g_φ (None for knn) and the record: ``mode``, ``label_fraction``,
        ``labels`` (count), ``accuracy`` and ``test_loss`` (L_adapt on the held-out target test
        split; None for knn), ``train_loss``, ``seconds``, ``checkpoint_step``.
    """
    _check(mode, label_fraction)
    _check_budget(steps, epochs, batch_size, lr, seed)
    if run is None and config is None:
        raise ValueError("config: needed when there is no run to adapt")
    config = config or run.config
    began = time.perf_counter()
    setup = build(config)  # the same split as pretraining (same seed)
    train = label_subset(setup.split.target_train, float(label_fraction), seed)
    test = setup.split.target_test
    num_classes = train.num_classes
    step = None
    if run is None or mode == "scratch":  # a random-initialised h_θ, seeded
        torch.manual_seed(config.seed + 7)
        encoder = make_encoder(train.sample_shape, config.width).to("cpu")
    else:
        state = run.load_checkpoint(checkpoint_step)
        step = int(state["step"])
        setup.encoder.load_state_dict(state["encoder"])
        encoder = transfer(setup.encoder)
    record: dict[str, Any] = {"mode": mode, "label_fraction": float(label_fraction)}
    record |= {"labels": len(train), "checkpoint_step": step}
    if mode == "knn":
        feats = extract_features(freeze(encoder), train.x)
        accuracy = knn_accuracy(
            feats, train.y.numpy(), extract_features(encoder, test.x), test.y.numpy()
        )
        record |= {"accuracy": accuracy, "test_loss": None, "train_loss": None}
        head = None
    elif mode == "linear":
        freeze(encoder)
        feats = extract_features(encoder, train.x)
        unlabeled = extract_features(encoder, setup.split.target_train.x)
        head = _train_head_on_features(feats, train.y.numpy(), num_classes, epochs, seed, unlabeled)
        accuracy, test_loss = _scores(encoder, head, test.x, test.y)
        _, train_loss = _scores(encoder, head, train.x, train.y)
        record |= {"accuracy": accuracy, "test_loss": test_loss, "train_loss": train_loss}
    else:  # finetune, scratch: the same budget
        encoder, head = _finetune(
            encoder, train.x, train.y, num_classes, steps, batch_size, lr, seed
        )
        accuracy, test_loss = _scores(encoder, head, test.x, test.y)
        _, train_loss = _scores(encoder, head, train.x, train.y)
        record |= {"accuracy": accuracy, "test_loss": test_loss, "train_loss": train_loss}
    record["seconds"] = time.perf_counter() - began
    return encoder, head, record


def adapt(
    run: Run | None, mode: str, label_fraction: float = 1.0, **options: Any
) -> dict[str, Any]:
    """`adapt_models`' record; with a run, also appended to its adapt.json (atomically).

    Takes the same arguments as `adapt_models`, and ``save=False`` to keep adapt.json as it is.
    """
    save = options.pop("save", True)
    _, _, record = adapt_models(run, mode, label_fraction, **options)
    if save and run is not None:
        _save(run, record)
    return record


def _save(run: Run, record: dict[str, Any]) -> None:
    records = run.adapt_records()
    atomic_write_text(run.path / "adapt.json", json.dumps([*records, record], indent=2))


def sweep(
    run: Run | None,
    *,
    config: PretrainConfig | None = None,
    fractions: Sequence[float] = LABEL_FRACTIONS,
    modes: Sequence[str] = ADAPT_MODES,
    **options: Any,
) -> list[dict[str, Any]]:
    """The label-efficiency table: `adapt` for every mode × label fraction, one record each."""
    return [
        adapt(run, mode, fraction, config=config, **options)
        for fraction in fractions
        for mode in modes
    ]
