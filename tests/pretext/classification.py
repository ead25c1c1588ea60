"""Helpers for the classification-pretext tests (rotation, jigsaw, relative position)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from sslcore.models import ConvEncoder
from sslcore.pretext.base import IMAGE_MEAN, IMAGE_STD, PretextTask


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread: tiny models run faster so, and a busy machine cannot oversubscribe."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def raw(inputs: torch.Tensor) -> torch.Tensor:
    """The uint8 pixels behind encoder inputs made by to_model_input (its exact inverse)."""
    return ((inputs * IMAGE_STD + IMAGE_MEAN) * 255).round().to(torch.uint8)


def region_image(side: int, cell: int, channels: int = 1) -> torch.Tensor:
    """A ``(1, C, side, side)`` uint8 image whose 3×3 grid of `cell`-pixel regions are constant:
    region k (raster order) holds the value 20 · (k + 1)."""
    values = 20 * (torch.arange(9) + 1)
    grid = values.view(3, 3).repeat_interleave(cell, 0).repeat_interleave(cell, 1)
    image = torch.zeros(side, side, dtype=torch.uint8)
    image[: 3 * cell, : 3 * cell] = grid
    return image.expand(1, channels, side, side).clone()


@dataclass
class TrainResult:
    losses: list[float]  # training loss at every step, each on a fresh pretext batch
    eval_loss: float  # on a fresh pretext batch of eval_x, encoder and head in eval mode
    eval_accuracy: float


def train(
    task: PretextTask,
    train_x: torch.Tensor,
    eval_x: torch.Tensor,
    steps: int,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> TrainResult:
    """ConvEncoder(width=8) + the task's head, Adam on fresh pretext batches of `train_x`.

    Every step draws new images, pseudolabels and jitter, so the loss can only fall if x̃ really
    carries z: memorising an image does not tell which rotation or puzzle it gets next time.
    """
    with one_thread():
        torch.manual_seed(seed)
        encoder = ConvEncoder(train_x.shape[1], width=8)
        head = task.pretext_head(encoder.out_dim)
        opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(steps):
            rows = torch.randperm(train_x.shape[0], generator=gen)[:batch]
            pretext = task.make_batch(train_x[rows], gen)
            result = task.loss(task.forward(encoder, head, pretext), pretext)
            opt.zero_grad()
            result.loss.backward()
            opt.step()
            losses.append(result.loss.item())
        encoder.eval()
        head.eval()
        with torch.no_grad():
            pretext = task.make_batch(eval_x, torch.Generator().manual_seed(seed + 1))
            final = task.loss(task.forward(encoder, head, pretext), pretext)
    return TrainResult(losses, final.loss.item(), final.metrics["accuracy"])


def relative_drop(losses: list[float], window: int = 5) -> float:
    """1 − mean(last `window` losses) / mean(first `window`)."""
    first = sum(losses[:window]) / window
    last = sum(losses[-window:]) / window
    return 1.0 - last / first
