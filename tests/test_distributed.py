"""2 gloo processes equal one on the whole batch: info_nce(gather=True) and SyncBatchNorm."""

import copy
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sslcore import ops
from sslcore.distributed import convert_sync_batchnorm, gather_with_grad

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


def bn_batch():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(WORLD * 4, 3, 5, 5, generator=g, dtype=torch.float64) * 2 + 1
    c = torch.randn(WORLD * 4, 3, 5, 5, generator=g, dtype=torch.float64)
    return x, c


def bn_worker(rank, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        x, c = bn_batch()
        rows = slice(rank * 4, (rank + 1) * 4)
        x = x[rows].clone().requires_grad_()
        bn = convert_sync_batchnorm(torch.nn.Sequential(torch.nn.BatchNorm2d(3))).double()
        (bn(x) * c[rows]).sum().backward()
        results[rank] = (
            x.grad,
            bn[0].weight.grad,
            bn[0].bias.grad,
            bn[0].running_mean,
            bn[0].running_var,
            type(bn[0]).__name__,
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(180)
def test_sync_batchnorm_on_two_ranks_equals_batchnorm_on_the_whole_batch():
    manager = mp.get_context("spawn").Manager()
    results = manager.dict()
    mp.spawn(bn_worker, args=(free_port(), results), nprocs=WORLD, join=True)
    x, c = bn_batch()
    x.requires_grad_()
    bn = torch.nn.BatchNorm2d(3).double()
    (bn(x) * c).sum().backward()
    assert results[0][5] == "SyncBatchNorm"
    for r in range(WORLD):
        torch.testing.assert_close(results[r][0], x.grad[r * 4 : (r + 1) * 4])
        torch.testing.assert_close(results[r][3], bn.running_mean)
        torch.testing.assert_close(results[r][4], bn.running_var)
    torch.testing.assert_close(results[0][1] + results[1][1], bn.weight.grad)
    torch.testing.assert_close(results[0][2] + results[1][2], bn.bias.grad)


def test_sync_batchnorm_alone_is_batchnorm():
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3))
    synced = convert_sync_batchnorm(copy.deepcopy(plain))
    x = torch.randn(6, 2, 4, 4)
    torch.testing.assert_close(synced(x), plain(x))  # one process: no collectives at all
    torch.testing.assert_close(synced[1].running_var, plain[1].running_var)
    assert synced.state_dict().keys() == plain.state_dict().keys()  # checkpoints interchange
