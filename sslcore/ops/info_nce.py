"""InfoNCE / NT-Xent through the tiled kernel, which never materialises the N × N logits.

NT-Xent (SimCLR, Chen et al. 2020): the 2N embeddings of two views; row i's positive is its other
view, its negatives the other 2N − 2 embeddings; ℓ_i = logsumexp_{j≠i}(s_ij) − s_{i,p(i)} with
s_ij = z_i · z_j / τ; the loss is the mean over the 2N rows. The CLIP form (Radford et al. 2021)
takes rows of z_a against columns of z_b and averages both directions.

The kernel (``torch.ops.sslcore.info_nce_self`` / ``info_nce_cross``, csrc/info_nce/) returns per
row the log-sum-exp, the positive's logit and whether the positive is the largest logit; the loss
is composed from them here, and their autograd (a backward op that recomputes the tiles) is
registered below, so ``torch.compile`` and ``torch.library.opcheck`` see plain custom ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sslcore._ext import extension_available, warn_fallback
from sslcore.distributed import gather_with_grad, rank_and_world

__all__ = ["INFO_NCE_FORMS", "InfoNCEOutput", "info_nce", "reference_info_nce"]

INFO_NCE_FORMS = ("ntxent", "clip")
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_HAS_EXT = extension_available()


@dataclass(frozen=True)
class InfoNCEOutput:
    """The loss with what the dashboard shows beside it.

    Attributes:
        loss: () mean of ``row_losses``.
        row_losses: (2N,) ℓ_i per row: z_a's rows then z_b's (CLIP: a→b then b→a).
        accuracy: () fraction of rows whose positive is their largest logit (top-1).
    """

    loss: torch.Tensor
    row_losses: torch.Tensor
    accuracy: torch.Tensor


def _check_inputs(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float, form: str) -> None:
    for name, z in (("z_a", z_a), ("z_b", z_b)):
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(z).__name__}")
        if z.dim() != 2:
            raise ValueError(f"{name}: expected a 2-D tensor (N, D), got shape {tuple(z.shape)}")
        if z.dtype not in _FLOATS:
            raise TypeError(f"{name}: expected a floating dtype {_FLOATS}, got {z.dtype}")
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"z_b: expected the shape of z_a {tuple(z_a.shape)}, got {tuple(z_b.shape)}"
        )
    if z_a.shape[0] == 0:
        raise ValueError("z_a: expected at least one pair of embeddings (N >= 1), got N = 0")
    if z_a.shape[1] == 0:
        raise ValueError("z_a: expected at least one feature (D >= 1), got D = 0")
    if z_b.device != z_a.device:
        raise ValueError(f"z_b: expected a tensor on {z_a.device} like z_a, got {z_b.device}")
    if z_b.dtype != z_a.dtype:
        raise TypeError(f"z_b: expected dtype {z_a.dtype} like z_a, got {z_b.dtype}")
    if isinstance(temperature, torch.Tensor) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature: expected a float, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
    if form not in INFO_NCE_FORMS:
        raise ValueError(f"form: expected one of {INFO_NCE_FORMS}, got {form!r}")
    if torch.compiler.is_compiling():  # a data-dependent check would break the graph
        return
    for name, z in (("z_a", z_a), ("z_b", z_b)):
        if not bool(torch.isfinite(z).all()):
            raise ValueError(f"{name}: expected finite values, found NaN or inf")


def _check_logit_range(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float) -> None:
    """Refuses inputs whose logits could overflow the compute dtype (the loss would be NaN).

    |s_ij| ≤ |z_i| |z_j| / τ, so the largest norm bounds every logit.
    """
    if torch.compiler.is_compiling():
        return
    norms = torch.cat([z_a, z_b]).double().norm(dim=1)
    bound = norms.max().item() ** 2 / temperature
    limit = torch.finfo(z_a.dtype).max / 2
    if not bound < limit:
        raise ValueError(
            f"z_a, z_b: logits would overflow: max |z|² / temperature = {bound:.3g}; normalise "
            "the embeddings (normalize=True) or raise the temperature"
        )


def _pairs(n: int, device: torch.device) -> torch.Tensor:
    """Positives of the 2n stacked views [z_a; z_b]: row i pairs with row (i + n) mod 2n."""
    rows = torch.arange(2 * n, device=device)
    return (rows + n) % (2 * n)


def _dense_stats(rows, cols, positive, exclude, temperature: float):
    """The kernel's per-row outputs from the full logit matrix: the fallback without _C."""
    logits = rows @ cols.t() / temperature  # (m, n)
    keep = exclude >= 0
    logits = logits.clone()
    logits[torch.nonzero(keep)[:, 0], exclude[keep]] = float("-inf")
    pos = logits.gather(1, positive[:, None])[:, 0]
    return logits.logsumexp(1), pos, pos >= logits.amax(1), logits


def _self_stats(z: torch.Tensor, positive: torch.Tensor, temperature: float):
    if _HAS_EXT:
        return torch.ops.sslcore.info_nce_self(z, positive, temperature)
    warn_fallback()
    diagonal = torch.arange(z.shape[0], device=z.device)
    return _dense_stats(z, z, positive, diagonal, temperature)[:3]


def _cross_stats(rows, cols, positive, exclude, temperature: float, col_stats: bool):
    if _HAS_EXT:
        return torch.ops.sslcore.info_nce_cross(
            rows, cols, positive, exclude, temperature, col_stats
        )
    warn_fallback()
    lse, pos, top1, logits = _dense_stats(rows, cols, positive, exclude, temperature)
    if not col_stats:
        empty = rows.new_empty(0)
        return lse, pos, top1, empty, empty, empty.bool()
    col_pos = logits.gather(0, positive[None, :].argsort(1))[0]  # column c's positive row
    return lse, pos, top1, logits.logsumexp(0), col_pos, col_pos >= logits.amax(0)


def _row_stats(z_a, z_b, temperature: float, form: str, gather: bool):
    """(lse, positive logit, top-1) of every row of the loss, each (2N,)."""
    n, device = z_a.shape[0], z_a.device
    rank, _ = rank_and_world() if gather else (0, 1)
    if form == "ntxent":
        z = torch.cat([z_a, z_b])  # (2N, D): row i and row i + N are the two views of image i
        if not gather:
            return _self_stats(z, _pairs(n, device), temperature)
        # This rank's rows against every rank's (rank-major [a_0; b_0; a_1; b_1; ...]).
        base = rank * 2 * n
        rows = torch.arange(2 * n, device=device)
        stats = _cross_stats(
            z, gather_with_grad(z), base + _pairs(n, device), base + rows, temperature, False
        )
        return stats[:3]
    rows = torch.arange(n, device=device)
    none = torch.full((n,), -1, dtype=torch.long, device=device)
    if not gather:
        lse, pos, top1, col_lse, col_pos, col_top1 = _cross_stats(
            z_a, z_b, rows, none, temperature, True
        )
        return torch.cat([lse, col_lse]), torch.cat([pos, col_pos]), torch.cat([top1, col_top1])
    base = rank * n
    a_to_b = _cross_stats(z_a, gather_with_grad(z_b), base + rows, none, temperature, False)
    b_to_a = _cross_stats(z_b, gather_with_grad(z_a), base + rows, none, temperature, False)
    return tuple(torch.cat([x, y]) for x, y in zip(a_to_b[:3], b_to_a[:3], strict=True))


def info_nce(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    temperature: float = 0.1,
    *,
    normalize: bool = False,
    form: str = "ntxent",
    gather: bool = False,
    details: bool = False,
) -> torch.Tensor | InfoNCEOutput:
    """InfoNCE of two views' embeddings, in O(N·D) memory: the N × N logits are never stored.

    Args:
        z_a: (N, D) embeddings of the first views, float16/bfloat16/float32/float64.
        z_b: (N, D) embeddings of the second views; row i pairs with z_a's row i.
        temperature: τ > 0 dividing the cosine similarities (SimCLR uses 0.1–0.5).
        normalize: L2-normalise the rows first (its gradient handled by autograd); leave False
            when the caller already did.
        form: ``"ntxent"`` (SimCLR's 2N rows) or ``"clip"`` (z_a against z_b, both directions).
        gather: under torch.distributed, take negatives from every rank's embeddings (gathered
            with gradient); each rank computes its own rows. The mean of the ranks' losses is the
            loss of the concatenated batch, and the ranks' gradients averaged (as
            DistributedDataParallel does) are its gradients.
        details: also return the per-row losses and the top-1 accuracy of the positive.

    Returns:
        The () mean loss in float32 (float64 for float64 input), or an ``InfoNCEOutput``.
        Half and bfloat16 inputs are computed in float32; their gradients come back in their dtype.
    """
    _check_inputs(z_a, z_b, temperature, form)
    if normalize:
        z_a, z_b = F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)
    compute = torch.float64 if z_a.dtype == torch.float64 else torch.float32
    z_a, z_b = z_a.to(compute), z_b.to(compute)
    if not normalize:
        _check_logit_range(z_a, z_b, temperature)
    lse, pos, top1 = _row_stats(z_a, z_b, float(temperature), form, gather)
    row_losses = lse - pos  # (2N,)
    loss = row_losses.mean()
    if not details:
        return loss
    return InfoNCEOutput(loss, row_losses, top1.to(compute).mean())


def reference_info_nce(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    temperature: float = 0.1,
    *,
    normalize: bool = False,
    form: str = "ntxent",
    details: bool = False,
) -> torch.Tensor | InfoNCEOutput:
    """The usual formulation, as lightly and solo-learn compute it: logits, then cross_entropy.

    O(N²) memory; the oracle the kernel is tested against. Same arguments as ``info_nce``.
    """
    _check_inputs(z_a, z_b, temperature, form)
    if normalize:
        z_a, z_b = F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)
    compute = torch.float64 if z_a.dtype == torch.float64 else torch.float32
    z_a, z_b = z_a.to(compute), z_b.to(compute)
    n = z_a.shape[0]
    if form == "ntxent":
        z = torch.cat([z_a, z_b])  # (2N, D)
        logits = z @ z.t() / temperature  # (2N, 2N)
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        targets = _pairs(n, z.device)
    else:
        ab = z_a @ z_b.t() / temperature  # (N, N)
        logits = torch.cat([ab, ab.t()])  # (2N, N): a→b rows, then b→a rows
        targets = torch.arange(n, device=z_a.device).repeat(2)
    row_losses = F.cross_entropy(logits, targets, reduction="none")  # (2N,)
    loss = row_losses.mean()
    if not details:
        return loss
    accuracy = (logits.argmax(1) == targets).to(compute).mean()
    return InfoNCEOutput(loss, row_losses, accuracy)


# ---- fake kernels and autograd of the custom ops -------------------------------------------------


def _zeros_if_none(grad, like):
    return torch.zeros_like(like) if grad is None else grad.contiguous()


if _HAS_EXT:

    @torch.library.register_fake("sslcore::info_nce_self")
    def _info_nce_self_fake(z, positive, temperature):
        m = z.shape[0]
        return z.new_empty(m), z.new_empty(m), z.new_empty(m, dtype=torch.bool)

    @torch.library.register_fake("sslcore::info_nce_self_backward")
    def _info_nce_self_backward_fake(grad_lse, grad_pos, z, positive, lse, temperature):
        return z.new_empty(z.shape)

    @torch.library.register_fake("sslcore::info_nce_cross")
    def _info_nce_cross_fake(rows, cols, positive, exclude, temperature, col_stats):
        m, n = rows.shape[0], cols.shape[0] if col_stats else 0
        return (
            rows.new_empty(m),
            rows.new_empty(m),
            rows.new_empty(m, dtype=torch.bool),
            rows.new_empty(n),
            rows.new_empty(n),
            rows.new_empty(n, dtype=torch.bool),
        )

    @torch.library.register_fake("sslcore::info_nce_cross_backward")
    def _info_nce_cross_backward_fake(*args):
        rows, cols = args[4], args[5]
        return rows.new_empty(rows.shape), cols.new_empty(cols.shape)

    def _self_setup(ctx, inputs, output):
        z, positive, temperature = inputs
        ctx.save_for_backward(z, positive, output[0])
        ctx.temperature = temperature

    def _self_backward(ctx, grad_lse, grad_pos, _grad_top1):
        z, positive, lse = ctx.saved_tensors
        grad_z = torch.ops.sslcore.info_nce_self_backward(
            _zeros_if_none(grad_lse, lse),
            _zeros_if_none(grad_pos, lse),
            z,
            positive,
            lse,
            ctx.temperature,
        )
        return grad_z, None, None

    def _cross_setup(ctx, inputs, output):
        rows, cols, positive, exclude, temperature, _col_stats = inputs
        ctx.save_for_backward(rows, cols, positive, exclude, output[0], output[3])
        ctx.temperature = temperature

    def _cross_backward(ctx, g_lse, g_pos, _g_top1, g_col_lse, g_col_pos, _g_col_top1):
        rows, cols, positive, exclude, lse, col_lse = ctx.saved_tensors
        grad_rows, grad_cols = torch.ops.sslcore.info_nce_cross_backward(
            _zeros_if_none(g_lse, lse),
            _zeros_if_none(g_pos, lse),
            _zeros_if_none(g_col_lse, col_lse),
            _zeros_if_none(g_col_pos, col_lse),
            rows,
            cols,
            positive,
            exclude,
            lse,
            col_lse,
            ctx.temperature,
        )
        return grad_rows, grad_cols, None, None, None, None

    torch.library.register_autograd(
        "sslcore::info_nce_self", _self_backward, setup_context=_self_setup
    )
    torch.library.register_autograd(
        "sslcore::info_nce_cross", _cross_backward, setup_context=_cross_setup
    )
