"""info_nce(gather=True) on 2 gloo processes equals the single-process loss on the whole batch."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sslcore import ops
from sslcore.distributed import gather_with_grad

WORLD = 2
N, D = 6, 5


def batch(form):
    g = torch.Generator().manual_seed(1 if form == "ntxent" else 2)
    a = torch.nn.functional.normalize(torch.randn(WORLD * N, D, generator=g, dtype=torch.float64))
    b = torch.nn.functional.normalize(torch.randn(WORLD * N, D, generator=g, dtype=torch.float64))
    return a, b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        out = {}
        for form in ops.INFO_NCE_FORMS:
            a, b = batch(form)
            a = a[rank * N : (rank + 1) * N].clone().requires_grad_()
            b = b[rank * N : (rank + 1) * N].clone().requires_grad_()
            loss = ops.info_nce(a, b, 0.3, form=form, gather=True)
            loss.backward()
            out[form] = (loss.item(), a.grad.clone(), b.grad.clone())
        # Unequal shapes are refused by name rather than hanging.
        try:
            gather_with_grad(torch.zeros(rank + 1, 2))
            out["mismatch"] = None
        except ValueError as error:
            out["mismatch"] = str(error)
        results[rank] = out
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(180)
def test_gather_equals_the_concatenated_batch():
    manager = mp.get_context("spawn").Manager()
    results = manager.dict()
    mp.spawn(worker, args=(free_port(), results), nprocs=WORLD, join=True)
    for form in ops.INFO_NCE_FORMS:
        a, b = batch(form)
        a.requires_grad_(), b.requires_grad_()
        loss = ops.reference_info_nce(a, b, 0.3, form=form)
        ga, gb = torch.autograd.grad(loss, [a, b])
        losses = [results[r][form][0] for r in range(WORLD)]
        # The ranks' mean loss is the whole batch's loss ...
        assert sum(losses) / WORLD == pytest.approx(loss.item(), abs=1e-12)
        # ... and their gradients averaged over ranks (DDP) are its gradients.
        for r in range(WORLD):
            rows = slice(r * N, (r + 1) * N)
            torch.testing.assert_close(
                results[r][form][1] / WORLD, ga[rows], atol=1e-12, rtol=1e-10
            )
            torch.testing.assert_close(
                results[r][form][2] / WORLD, gb[rows], atol=1e-12, rtol=1e-10
            )
        assert losses[0] != pytest.approx(losses[1])  # each rank really has its own rows
    assert "same shape" in results[0]["mismatch"]
