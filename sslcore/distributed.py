"""Helpers for torch.distributed: gathering embeddings from every rank with their gradient.

Contrastive losses want negatives from the whole global batch (SimCLR, Chen et al. 2020, §2.2),
so each rank gathers every rank's embeddings; the gradient of the gathered copy flows back to the
rank that owns each row. Works with any backend (gloo included): the backward is one all-reduce.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["gather_with_grad", "rank_and_world"]


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the default process group; (0, 1) without torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather forward; backward all-reduces the gathered tensor's gradient, keeps our slice.

    The sum over ranks is the gradient of the sum of all ranks' losses with respect to our rows.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        rank, world = rank_and_world()
        ctx.rank, ctx.rows = rank, x.shape[0]
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Every rank's `x` (N, ...) stacked in rank order: (world · N, ...), differentiable.

    All ranks must pass the same shape; a mismatch raises a ValueError naming the sizes rather
    than hanging or gathering garbage.
    """
    _, world = rank_and_world()
    if world == 1:
        return x
    shape = torch.tensor(list(x.shape), dtype=torch.long, device=x.device)
    shapes = [torch.empty_like(shape) for _ in range(world)]
    dist.all_gather(shapes, shape)
    if any(not torch.equal(s, shapes[0]) for s in shapes):
        sizes = [tuple(s.tolist()) for s in shapes]
        raise ValueError(f"gather: every rank must pass the same shape, got {sizes} by rank")
    return _GatherWithGrad.apply(x)
