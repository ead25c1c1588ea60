"""Helpers for torch.distributed: gathered embeddings, synchronised BatchNorm, process groups.

Contrastive losses want negatives from the whole global batch (SimCLR, Chen et al. 2020, §2.2),
so each rank gathers every rank's embeddings; the gradient of the gathered copy flows back to the
rank that owns each row. Works with any backend (gloo included): the backward is one all-reduce.
BatchNorm likewise normalises with the global batch's statistics (``SyncBatchNorm``, which,
unlike torch's, also runs on CPU tensors over gloo), so K ranks train as one process would on
the whole batch.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "SyncBatchNorm",
    "all_reduce_mean",
    "convert_sync_batchnorm",
    "gather_with_grad",
    "init_from_env",
    "leave_process_group",
    "rank_and_world",
]


def init_from_env(device: str = "cpu") -> tuple[int, int]:
    """Joins the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR/PORT).

    gloo for CPU runs, nccl for CUDA ones (each rank on GPU ``LOCAL_RANK``). Without those
    variables, or with WORLD_SIZE 1, nothing happens. Returns (rank, world size).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        return rank_and_world()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return rank_and_world()


def leave_process_group() -> None:
    """Destroys the default process group, if there is one (the end of a torchrun process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: dict[str, float]) -> dict[str, float]:
    """Every rank's `values` averaged over ranks (same keys on every rank); as-is on one."""
    _, world = rank_and_world()
    if world == 1 or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t.tolist(), strict=True)}


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of each rank's copy is the sum of all ranks' gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the global batch of all ranks, on any device and backend.

    In training it all-reduces per-channel sums (two passes: the mean, then the squared
    deviations, so the variance is as exact as a single process's), with gradients through both
    all-reduces; running statistics get the global mean and unbiased variance. In eval mode, or
    with one rank, it is plain BatchNorm. Inputs ``(N, C)`` or ``(N, C, *spatial)``.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected an input of at least 2 dims (N, C, ...), got {input.dim()}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised `x` with the global batch's (or the running) statistics."""
        self._check_input_dim(x)
        _, world = rank_and_world()
        if not self.training or world == 1:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = x.new_tensor([x.numel() // x.shape[1]], dtype=torch.float64)
        n = _AllReduceSum.apply(count)[0]
        mean = _AllReduceSum.apply(x.sum(dims).double()) / n  # (C,)
        centred = x - mean.to(x.dtype).view(shape)
        var = _AllReduceSum.apply(centred.double().pow(2).sum(dims)) / n  # (C,) biased
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum
                m = 1.0 / float(self.num_batches_tracked) if m is None else m
                unbiased = var * (n / max(float(n) - 1.0, 1.0))
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), m)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), m)
        y = centred * torch.rsqrt(var + self.eps).to(x.dtype).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """`module` with every BatchNorm{1,2,3}d replaced by a SyncBatchNorm holding its state."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncBatchNorm
    ):
        synced = SyncBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            device=module.running_mean.device if module.running_mean is not None else None,
        )
        synced.load_state_dict(module.state_dict())
        synced.train(module.training)
        return synced
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child))
    return module


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
