"""The InfoNCE measuring core (sslcore.info_nce_timing) and its benchmark's CLI and JSON."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from benchmarks import bench_info_nce
from sslcore import info_nce_timing as timing


@pytest.mark.parametrize(
    ("n", "d", "contender", "want"),
    [
        (1, 1, "torch", 6 * 2**2),  # M = 2: 6·M²·D
        (1, 1, "sslcore", 4 * 2**2),
        (8, 4, "torch", 6 * 16**2 * 4),
        (1024, 128, "sslcore", 4 * 2048**2 * 128),
        (1024, 128, "torch", 6 * 2048**2 * 128),
    ],
)
def test_step_flops(n, d, contender, want):
    assert timing.step_flops(n, d, contender) == want


def test_step_flops_rejects_an_unknown_contender():
    with pytest.raises(ValueError, match="contender"):
        timing.step_flops(8, 4, "numpy")


def test_measure_in_subprocess_returns_sane_records_for_both_contenders():
    records = {
        c: timing.measure_in_subprocess(8, 4, c, threads=1, repeats=2) for c in timing.CONTENDERS
    }
    for contender, record in records.items():
        assert record["error"] is None, record["error"]
        assert (record["N"], record["D"], record["contender"]) == (8, 4, contender)
        assert (record["threads"], record["repeats"]) == (1, 2)
        assert record["ms"] > 0
        assert record["rss_mb"] > record["peak_mb"] >= 0
        assert record["rss_mb"] > 50  # a process that imported torch
        assert record["gflop"] == pytest.approx(timing.step_flops(8, 4, contender) / 1e9)
        assert record["gflops"] == pytest.approx(record["gflop"] / (record["ms"] / 1e3))
    # Same seeded inputs, so the same loss: the subprocess really ran each contender's op.
    losses = [records[c]["loss"] for c in timing.CONTENDERS]
    assert math.isfinite(losses[0]) and losses[0] > 0
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_peak_mb_counts_the_dense_logits_of_the_torch_step():
    # In this process (no subprocess start): M = 4096 rows, so each float32 M × M matrix is 64 MiB,
    # above glibc's largest mmap threshold (32 MiB), so it comes from the OS and shows in the RSS.
    threads = torch.get_num_threads()
    try:
        record = timing._run_steps(2048, 4, "torch", 1, 0.1, 1)
    finally:
        torch.set_num_threads(threads)
    matrix_mb = 4096**2 * 4 / 2**20
    if record["peak_from"] != "VmHWM":
        pytest.skip("/proc/self/clear_refs refused here: ru_maxrss cannot be reset in-process")
    assert 2 * matrix_mb < record["peak_mb"] < timing.dense_logits_bytes(2048) / 2**20 * 1.5
    assert record["rss_mb"] > record["peak_mb"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n": 0}, "n"),
        ({"d": 0}, "d"),
        ({"contender": "numpy"}, "contender"),
        ({"threads": 0}, "threads"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"repeats": 0}, "repeats"),
        ({"timeout": 0}, "timeout"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, name, monkeypatch):
    monkeypatch.setattr(timing.subprocess, "run", _must_not_run)
    args = {"n": 8, "d": 4, "contender": "sslcore"} | kwargs
    with pytest.raises(ValueError, match=f"^{name}:"):
        timing.measure_in_subprocess(**args)


def _must_not_run(*args, **kwargs):
    raise AssertionError("a subprocess was started")


def test_out_of_memory_guard_skips_torch_without_running(monkeypatch):
    monkeypatch.setattr(timing, "mem_available_bytes", lambda: 10 * 2**20)  # 10 MiB
    monkeypatch.setattr(timing.subprocess, "run", _must_not_run)
    record = timing.measure_in_subprocess(4096, 128, "torch")
    # 4.5 · 8192² · 4 B = 1.2 GB > 80 % of 10 MiB
    assert record["error"] == "out of memory: the dense logits need ~1.2 GB, 0.0 GB available"
    assert record["ms"] is None and record["peak_mb"] is None
    assert record["N"] == 4096 and record["contender"] == "torch"


@pytest.mark.parametrize(("share", "runs"), [(0.9, False), (0.7, True)])
def test_out_of_memory_guard_refuses_above_80_percent_of_available(share, runs, monkeypatch):
    need = 4.5 * 512**2 * 4  # N = 256: M = 512
    assert timing.dense_logits_bytes(256) == need
    monkeypatch.setattr(timing, "mem_available_bytes", lambda: int(need / share))
    calls = []
    monkeypatch.setattr(timing.subprocess, "run", lambda *a, **k: calls.append(a) or _Done())
    record = timing.measure_in_subprocess(256, 128, "torch")
    assert bool(calls) == runs
    assert (record["error"] is None) == runs
    assert record["ms"] == (1.0 if runs else None)
    # sslcore never holds the dense logits: it runs whatever the memory.
    assert timing.measure_in_subprocess(256, 128, "sslcore")["ms"] == 1.0


class _Done:
    returncode, stderr = 0, ""
    stdout = 'warming up\n{"ms": 1.0}\n'


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("echo 'RuntimeError: boom' >&2; exit 3", "exit 3: RuntimeError: boom"),
        ("echo 'DefaultCPUAllocator: not enough memory' >&2; exit 1", "out of memory: exit 1:"),
        ("kill -9 $$", "killed by SIGKILL (out of memory?)"),
        ("echo no json", "no JSON result on stdout"),
    ],
)
def test_a_failing_subprocess_gives_an_error_record(script, error, tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(timing.sys, "executable", str(fake))
    record = timing.measure_in_subprocess(8, 4, "sslcore")
    assert record["error"].startswith(error)
    assert "\n" not in record["error"] and record["ms"] is None


def test_a_subprocess_past_its_timeout_is_killed(tmp_path, monkeypatch):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr(timing.sys, "executable", str(fake))
    record = timing.measure_in_subprocess(8, 4, "sslcore", timeout=0.3)
    assert record["error"] == "timeout: no result after 0.3 s"


def test_quick_cli_writes_json_with_the_required_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_info_nce, "MATMUL_SIZE", 128)  # the rate, not the 4096² wait
    out = tmp_path / "info_nce.json"
    bench_info_nce.main(
        ["--quick", "--sizes", "8", "--dim", "4", "--threads", "1", "--json", str(out)]
    )
    payload = json.loads(out.read_text())
    meta = payload["meta"]
    for key in ("commit", "torch", "threads", "device", "extension", "matmul_gflops"):
        assert key in meta, key
    assert meta["threads"] == 1 and meta["matmul_gflops"] > 0
    records = payload["records"]
    assert [(r["N"], r["D"], r["contender"]) for r in records] == [
        (8, 4, "sslcore"),
        (8, 4, "torch"),
    ]
    for r in records:
        assert r["error"] is None and r["ms"] > 0 and r["repeats"] == 1
        assert set(r) >= {
            "N",
            "D",
            "contender",
            "threads",
            "ms",
            "peak_mb",
            "rss_mb",
            "gflop",
            "gflops",
            "error",
        }
    printed = capsys.readouterr().out
    rows = re.findall(r"^ +8 +(sslcore|torch) +[0-9.]+ ", printed, flags=re.MULTILINE)
    assert "%mm" in printed and rows == ["sslcore", "torch"]  # one row per contender
    assert not list(tmp_path.glob("*.tmp"))  # written atomically: the temporary file is gone


@pytest.mark.parametrize(
    "argv",
    [["--sizes", "0"], ["--sizes", "8,x"], ["--sizes", ","], ["--threads", "0"], ["--dim", "-1"]],
)
def test_bad_cli_values_exit_2_with_one_line(argv, capsys, monkeypatch):
    monkeypatch.setattr(bench_info_nce, "measure_in_subprocess", _must_not_run)
    with pytest.raises(SystemExit) as exit_info:
        bench_info_nce.main(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: argument {argv[0]}: expected" in last


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_cli_device_cuda_without_a_gpu_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(bench_info_nce, "measure_in_subprocess", _must_not_run)
    with pytest.raises(SystemExit) as exit_info:
        bench_info_nce.main(["--device", "cuda", "--quick"])
    assert exit_info.value.code == 2
    assert "no CUDA device" in capsys.readouterr().err
