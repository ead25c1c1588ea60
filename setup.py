"""Builds sslcore and its extension sslcore._C from csrc/.

CPU sources are always built (-O3, OpenMP). CUDA sources are added when the installed torch has
CUDA, nvcc of the same major release is found, and the architectures to build for are known.
Environment knobs:
    SSLCORE_CUDA=auto|0|1   auto (default): CUDA when torch has it, nvcc matches and a GPU is
                            visible or TORCH_CUDA_ARCH_LIST is set, else the CPU kernels and one
                            line saying why; 0: never; 1: required (TORCH_CUDA_ARCH_LIST, else the
                            visible GPU, else DEFAULT_ARCHS below).
    DEBUG=1                 -O0 -g instead of -O3.
Build with the installed torch: `pip install --no-build-isolation -e .`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from setuptools import setup

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"

try:
    import torch  # noqa: F401  (the extension is compiled against this torch)
except ImportError as exc:  # typically pip's build isolation, which hides the installed torch
    raise SystemExit(
        "sslcore's extension builds against the installed torch, which this build cannot import "
        f"({exc}). Install torch first (pip install torch==2.13.0), then build with "
        "`pip install --no-build-isolation -e .` (or run `bash scripts/run.sh test`)."
    ) from exc


# CUDA architectures that SSLCORE_CUDA=1 builds when neither a visible GPU nor TORCH_CUDA_ARCH_LIST
# names one: A100 (8.0), A10/A40 (8.6), L4/L40 (8.9), H100/H200 (9.0), and with CUDA >= 12.8 also
# B200 (10.0) and RTX PRO 6000 (12.0); the newest also as PTX, which later GPUs compile at load.
DEFAULT_ARCHS = ("8.0", "8.6", "8.9", "9.0")
BLACKWELL_ARCHS = ("10.0", "12.0")


def default_arch_list(cuda_version: str) -> str:
    """The TORCH_CUDA_ARCH_LIST that SSLCORE_CUDA=1 uses by default for this CUDA release."""
    major, minor = (int(x) for x in cuda_version.split(".")[:2])
    archs = DEFAULT_ARCHS + (BLACKWELL_ARCHS if (major, minor) >= (12, 8) else ())
    return ";".join(archs) + "+PTX"


class CudaChoice(NamedTuple):
    """Whether to build the CUDA sources, why (a code the extension records), and the arch list.

    ``code`` is one of built, off, cpu_torch, no_nvcc, nvcc_mismatch, no_arch; ``arch_list`` is the
    TORCH_CUDA_ARCH_LIST to build for (None: torch asks the visible GPU).
    """

    build: bool
    code: str
    message: str
    arch_list: str | None = None


def decide_cuda(
    mode: str,
    torch_cuda: str | None,
    nvcc_version: str | None,
    device_visible: bool,
    arch_env: str | None,
) -> CudaChoice:
    """SSLCORE_CUDA's decision table; never lets torch's build fail on a missing architecture.

    Args:
        mode: SSLCORE_CUDA: auto (CUDA when it can be built for a known arch list), 0 or 1.
        torch_cuda: ``torch.version.cuda`` (None for a CPU build of torch).
        nvcc_version: the release of the nvcc torch would use ("13.0"), None when none is found.
        device_visible: whether torch sees a GPU now.
        arch_env: TORCH_CUDA_ARCH_LIST as set (None or blank: unset).

    Raises:
        SystemExit: an unknown mode, or SSLCORE_CUDA=1 where CUDA cannot be built.
    """
    mode = mode.strip().lower()
    if mode not in {"auto", "0", "1"}:
        raise SystemExit(f"SSLCORE_CUDA must be auto, 0 or 1, got {mode!r}")
    arch_env = (arch_env or "").strip() or None
    if mode == "0":
        return CudaChoice(False, "off", "sslcore: CPU kernels only (SSLCORE_CUDA=0)")
    problem = code = None
    if torch_cuda is None:
        code, problem = "cpu_torch", "this torch is a CPU build, which cannot link CUDA code"
    elif nvcc_version is None:
        code, problem = "no_nvcc", "nvcc was not found (set CUDA_HOME or put nvcc on PATH)"
    elif nvcc_version.split(".")[0] != torch_cuda.split(".")[0]:
        code = "nvcc_mismatch"
        problem = f"nvcc {nvcc_version} and torch's CUDA {torch_cuda} differ in major release"
    if problem is not None:
        if mode == "1":
            raise SystemExit(f"SSLCORE_CUDA=1 but the CUDA kernels cannot be built: {problem}")
        return CudaChoice(False, code, f"sslcore: CPU kernels only: {problem}")
    if arch_env is not None:
        return CudaChoice(True, "built", f"sslcore: CUDA kernels for {arch_env}", arch_env)
    if device_visible:
        return CudaChoice(True, "built", "sslcore: CUDA kernels for the visible GPU")
    default = default_arch_list(torch_cuda)
    if mode == "1":
        return CudaChoice(True, "built", f"sslcore: CUDA kernels for {default}", default)
    return CudaChoice(
        False,
        "no_arch",
        "sslcore: CPU kernels only: no visible GPU and TORCH_CUDA_ARCH_LIST unset; for the CUDA "
        f"kernels rebuild with SSLCORE_CUDA=1 (builds {default}) or set TORCH_CUDA_ARCH_LIST",
    )


def _nvcc_version(cuda_home: str | None) -> str | None:
    """The release of nvcc under CUDA_HOME ("13.0"), or None when it cannot be run."""
    if cuda_home is None:
        return None
    try:
        out = subprocess.run(
            [str(Path(cuda_home) / "bin" / "nvcc"), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"release (\d+\.\d+)", out)
    return found.group(1) if found else None


def _cuda_choice() -> CudaChoice:
    """decide_cuda on this machine: the environment, the installed torch, nvcc and the GPU."""
    import torch

    mode = os.environ.get("SSLCORE_CUDA", "auto")
    if mode.strip() == "0" or torch.version.cuda is None:  # nothing more to look up
        return decide_cuda(mode, torch.version.cuda, None, False, None)
    from torch.utils.cpp_extension import CUDA_HOME

    return decide_cuda(
        mode,
        torch.version.cuda,
        _nvcc_version(CUDA_HOME),
        torch.cuda.is_available() and torch.cuda.device_count() > 0,
        os.environ.get("TORCH_CUDA_ARCH_LIST"),
    )


def get_extensions() -> list:
    """The one extension, sslcore._C: CPU sources always, CUDA sources when wanted."""
    import torch
    from torch.utils.cpp_extension import CppExtension, CUDAExtension

    debug = os.environ.get("DEBUG", "0") == "1"
    choice = _cuda_choice()
    print(choice.message, file=sys.stderr)  # pip shows it with -v; `sslcore info` always does

    rel = lambda p: str(p.relative_to(ROOT))  # noqa: E731  (setuptools wants relative paths)
    sources = [rel(CSRC / "register.cpp")] + sorted(rel(p) for p in CSRC.glob("*/*_cpu.cpp"))
    opt = ["-O0", "-g"] if debug else ["-O3"]
    defines = [
        f'-DSSLCORE_TORCH_VERSION="{torch.__version__}"',
        f'-DSSLCORE_CUDA_BUILD="{choice.code}"',
    ] + (["-DSSLCORE_DEBUG"] if debug else [])
    # -fno-trapping-math: no code here relies on floating-point traps, and without it GCC will
    # not turn float selects into blends, so per-pixel loops (hue, clamps) stay scalar.
    # -ffp-contract=fast lets a*b+c become one FMA, as nvcc does by default: it halves the
    # polynomial work of the loss's exp and moves results by at most an ulp. Neither is
    # -ffast-math: no reassociation, NaN and inf keep their meaning.
    cxx = [*opt, "-fopenmp", "-std=c++17", "-fno-trapping-math", "-ffp-contract=fast", *defines]
    kwargs: dict = {
        "extra_compile_args": {"cxx": cxx},
        "extra_link_args": ["-fopenmp"] + (["-g"] if debug else []),
    }
    if not choice.build:
        return [CppExtension("sslcore._C", sources, **kwargs)]
    if choice.arch_list is not None:  # read by torch's BuildExtension when it compiles
        os.environ["TORCH_CUDA_ARCH_LIST"] = choice.arch_list

    sources += [rel(CSRC / "cuda_ops.cpp")]
    sources += sorted(rel(p) for p in CSRC.glob("*/*_cuda_ops.cpp"))  # torch-side CUDA glue
    sources += sorted(rel(p) for p in CSRC.glob("*/*_cuda.cu"))
    archs = os.environ.get("TORCH_CUDA_ARCH_LIST", "visible GPU")
    cuda_defines = [
        "-DSSLCORE_WITH_CUDA",
        f'-DSSLCORE_CUDA_VERSION="{torch.version.cuda}"',
        f'-DSSLCORE_CUDA_ARCHS="{_define_safe(archs)}"',
    ]
    kwargs["extra_compile_args"]["cxx"] += cuda_defines
    kwargs["extra_compile_args"]["nvcc"] = [*opt, "-lineinfo", *cuda_defines, *defines]
    return [CUDAExtension("sslcore._C", sources, **kwargs)]


def _define_safe(text: str) -> str:
    """Text fit for a quoted -D value on a shell command line: ';' and spaces become ','."""
    return ",".join(re.findall(r"[A-Za-z0-9.+_]+", text))


def _cmdclass() -> dict:
    from torch.utils.cpp_extension import BuildExtension

    # ninja (pip's `ninja` or Debian's ninja-build) makes rebuilds incremental when present.
    return {"build_ext": BuildExtension.with_options(use_ninja=True)}


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import get_extensions
    setup(ext_modules=get_extensions(), cmdclass=_cmdclass())
