"""Every CUDA kernel compiles with nvcc, GPU or not (they use only csrc/ and the CUDA runtime)."""

import shutil
import subprocess
from pathlib import Path

import pytest

CSRC = Path(__file__).resolve().parent.parent / "csrc"
CU_FILES = sorted(CSRC.glob("**/*.cu"))


def test_there_are_cuda_sources():
    assert CU_FILES, "csrc/ holds no .cu file"


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.parametrize("source", CU_FILES, ids=lambda p: str(p.relative_to(CSRC)))
def test_cuda_source_compiles(source, tmp_path):
    cmd = [
        "nvcc",
        "-c",
        "-arch=sm_90",
        "-O3",
        "-std=c++17",
        "-Werror",
        "all-warnings",
        "-I",
        str(CSRC),
        str(source),
        "-o",
        str(tmp_path / "kernel.o"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kernel.o").stat().st_size > 0
