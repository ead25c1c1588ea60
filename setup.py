"""Builds sslcore and its extension sslcore._C from csrc/.

CPU sources are always built (-O3, OpenMP). CUDA sources are added when the installed torch has
CUDA and nvcc is found. Environment knobs:
    SSLCORE_CUDA=auto|0|1   auto (default): CUDA when possible; 0: never; 1: required.
    DEBUG=1                 -O0 -g instead of -O3.
Build with the installed torch: `pip install --no-build-isolation -e .`.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def _want_cuda() -> bool:
    """Decides whether to build the CUDA sources, per SSLCORE_CUDA and what torch/nvcc offer."""
    import torch
    from torch.utils.cpp_extension import CUDA_HOME

    mode = os.environ.get("SSLCORE_CUDA", "auto").strip().lower()
    if mode not in {"auto", "0", "1"}:
        raise SystemExit(f"SSLCORE_CUDA must be auto, 0 or 1, got {mode!r}")
    possible = torch.version.cuda is not None and CUDA_HOME is not None
    if mode == "1" and not possible:
        raise SystemExit(
            "SSLCORE_CUDA=1 but CUDA cannot be built: "
            f"torch.version.cuda={torch.version.cuda!r}, CUDA_HOME={CUDA_HOME!r} "
            "(a CPU build of torch cannot link CUDA code; install a CUDA torch and nvcc)"
        )
    return mode == "1" or (mode == "auto" and possible)


def get_extensions() -> list:
    """The one extension, sslcore._C: CPU sources always, CUDA sources when wanted."""
    import torch
    from torch.utils.cpp_extension import CppExtension, CUDAExtension

    debug = os.environ.get("DEBUG", "0") == "1"
    with_cuda = _want_cuda()

    rel = lambda p: str(p.relative_to(ROOT))  # noqa: E731  (setuptools wants relative paths)
    sources = [rel(CSRC / "register.cpp")] + sorted(rel(p) for p in CSRC.glob("*/*_cpu.cpp"))
    opt = ["-O0", "-g"] if debug else ["-O3"]
    defines = [f'-DSSLCORE_TORCH_VERSION="{torch.__version__}"'] + (
        ["-DSSLCORE_DEBUG"] if debug else []
    )
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
    if not with_cuda:
        return [CppExtension("sslcore._C", sources, **kwargs)]

    sources += [rel(CSRC / "cuda_ops.cpp")]
    sources += sorted(rel(p) for p in CSRC.glob("*/*_cuda_ops.cpp"))  # torch-side CUDA glue
    sources += sorted(rel(p) for p in CSRC.glob("*/*_cuda.cu"))
    cuda_defines = ["-DSSLCORE_WITH_CUDA", f'-DSSLCORE_CUDA_VERSION="{torch.version.cuda}"']
    kwargs["extra_compile_args"]["cxx"] += cuda_defines
    kwargs["extra_compile_args"]["nvcc"] = [*opt, "-lineinfo", *cuda_defines, *defines]
    return [CUDAExtension("sslcore._C", sources, **kwargs)]


def _cmdclass() -> dict:
    from torch.utils.cpp_extension import BuildExtension

    # ninja (pip's `ninja` or Debian's ninja-build) makes rebuilds incremental when present.
    return {"build_ext": BuildExtension.with_options(use_ninja=True)}


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import get_extensions
    setup(ext_modules=get_extensions(), cmdclass=_cmdclass())
