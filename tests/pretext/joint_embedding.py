"""Helpers for the two-view task tests: replaying the kernel's views, and a tiny training run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from sslcore import ops
from sslcore.augment import sample_view_params
from sslcore.pretext.base import PretextLoss, PretextTask


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Runs the block on one intra-op thread: tiny models are faster so, and immune to a busy
    machine's oversubscription (2 threads on 2 loaded cores can be 20× slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def images(n: int = 6, shape=(3, 32, 32), seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """Random uint8 images ``(n, *shape)``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g).to(device)


def assert_views_replay(task: PretextTask, x: torch.Tensor, seed: int = 3) -> None:
    """make_batch's x̃ is exactly ops.augment_views on params sampled with the same seed."""
    batch = task.make_batch(x, torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(seed)
    params = sample_view_params(task.spec, x.shape, views=2, generator=generator, device=x.device)
    expected = ops.augment_views(x, params)  # (2B, C, h, w)
    geometry = getattr(task, "geometry", None)
    if geometry is not None and geometry.active:  # the tilt and noise, from the same generator
        expected = geometry(expected, generator, task.spec.mean, task.spec.std)
    assert batch.inputs.dtype == torch.float32 and batch.inputs.device == x.device
    assert torch.equal(batch.inputs, expected)
    assert task.view_params(x, torch.Generator().manual_seed(seed)).equal(params)
    b = x.shape[0]
    z = batch.pseudolabels
    assert z.dtype == torch.int64 and z.device == x.device
    assert z.tolist() == [(i + b) % (2 * b) for i in range(2 * b)]
    # Each row and the row z names are views of the same image.
    assert torch.equal(params.source, params.source[z.cpu()])
    assert batch.extras == {}


def train(
    task: PretextTask,
    encoder: nn.Module,
    x: torch.Tensor,
    steps: int,
    lr: float = 3e-3,
    seed: int = 0,
) -> tuple[PretextLoss, PretextLoss]:
    """Adam on one fixed pretext batch of `x` for `steps` steps: (first loss, loss after).

    One fixed batch of views keeps the run short and its loss curve deterministic.
    """
    with one_thread():
        torch.manual_seed(seed)
        head = task.pretext_head(encoder.out_dim)
        opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
        batch = task.make_batch(x, torch.Generator().manual_seed(seed))
        first = None
        for _ in range(steps):
            result = task.loss(task.forward(encoder, head, batch), batch)
            if first is None:
                first = result
            opt.zero_grad()
            result.loss.backward()
            opt.step()
        with torch.no_grad():
            last = task.loss(task.forward(encoder, head, batch), batch)
    return first, last
