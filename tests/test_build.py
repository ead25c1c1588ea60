"""The build: setup.py's flags per knob, and the CUDA glue type-checked against torch's headers."""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def load_setup():
    spec = importlib.util.spec_from_file_location("sslcore_setup_under_test", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: setup() is not called
    return module


@pytest.fixture
def setup_module(monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    monkeypatch.delenv("SSLCORE_CUDA", raising=False)
    return load_setup()


def test_release_build_is_cpu_o3_openmp(setup_module, monkeypatch):
    monkeypatch.setenv("SSLCORE_CUDA", "0")
    (ext,) = setup_module.get_extensions()
    assert ext.name == "sslcore._C"
    cxx = ext.extra_compile_args["cxx"]
    assert "-O3" in cxx and "-fopenmp" in cxx and "-fopenmp" in ext.extra_link_args
    assert "-fno-trapping-math" in cxx and "-ffast-math" not in cxx
    assert not any(s.endswith(".cu") for s in ext.sources)
    assert "csrc/register.cpp" in ext.sources and "csrc/convert/convert_cpu.cpp" in ext.sources
    assert f'-DSSLCORE_TORCH_VERSION="{torch.__version__}"' in cxx


def test_debug_build(setup_module, monkeypatch):
    monkeypatch.setenv("SSLCORE_CUDA", "0")
    monkeypatch.setenv("DEBUG", "1")
    cxx = setup_module.get_extensions()[0].extra_compile_args["cxx"]
    assert "-O0" in cxx and "-g" in cxx and "-O3" not in cxx and "-DSSLCORE_DEBUG" in cxx


@pytest.mark.skipif(torch.version.cuda is not None, reason="torch has CUDA here")
def test_auto_without_cuda_torch_builds_cpu_only(setup_module, monkeypatch):
    monkeypatch.setenv("SSLCORE_CUDA", "auto")
    assert not any(s.endswith(".cu") for s in setup_module.get_extensions()[0].sources)


# The decision table of SSLCORE_CUDA: (mode, torch CUDA, nvcc, GPU visible, TORCH_CUDA_ARCH_LIST)
# → (CUDA built?, recorded code, arch list handed to torch). Pure: nothing is compiled.
DEFAULT_13 = "8.0;8.6;8.9;9.0;10.0;12.0+PTX"
DECISIONS = [
    # auto: CUDA only where torch, nvcc and a known arch list all allow it.
    ("auto", None, None, False, None, False, "cpu_torch", None),
    ("auto", None, "13.0", False, None, False, "cpu_torch", None),
    ("auto", None, "13.0", True, "9.0", False, "cpu_torch", None),
    ("auto", "13.0", None, False, None, False, "no_nvcc", None),
    ("auto", "13.0", None, True, "9.0", False, "no_nvcc", None),
    ("auto", "13.0", "12.4", True, None, False, "nvcc_mismatch", None),
    ("auto", "13.0", "13.0", False, None, False, "no_arch", None),  # the crash of issue 13
    ("auto", "13.0", "13.0", True, None, True, "built", None),  # torch asks the GPU
    ("auto", "13.0", "13.0", False, "9.0", True, "built", "9.0"),
    ("auto", "13.0", "13.0", True, "8.0;9.0", True, "built", "8.0;9.0"),
    ("auto", "13.0", "13.0", False, "  ", False, "no_arch", None),  # blank is unset
    # 0: never, whatever is there.
    ("0", "13.0", "13.0", True, "9.0", False, "off", None),
    ("0", None, None, False, None, False, "off", None),
    # 1: required; without a GPU or a list, the default data-centre list.
    ("1", "13.0", "13.0", False, None, True, "built", DEFAULT_13),
    ("1", "12.4", "12.4", False, None, True, "built", "8.0;8.6;8.9;9.0+PTX"),
    ("1", "13.0", "13.0", True, None, True, "built", None),
    ("1", "13.0", "13.0", False, "9.0", True, "built", "9.0"),
    (" AUTO ", "13.0", "13.0", False, None, False, "no_arch", None),
]


@pytest.mark.parametrize(
    ("mode", "torch_cuda", "nvcc", "visible", "arch_env", "build", "code", "arch_list"),
    DECISIONS,
)
def test_cuda_decision_table(
    setup_module, mode, torch_cuda, nvcc, visible, arch_env, build, code, arch_list
):
    choice = setup_module.decide_cuda(mode, torch_cuda, nvcc, visible, arch_env)
    assert (choice.build, choice.code, choice.arch_list) == (build, code, arch_list)
    assert "\n" not in choice.message and choice.message.startswith("sslcore: ")
    if code == "no_arch":  # the line says why and how to get the CUDA kernels
        assert "no visible GPU" in choice.message and "SSLCORE_CUDA=1" in choice.message
        assert "TORCH_CUDA_ARCH_LIST" in choice.message


@pytest.mark.parametrize(
    ("torch_cuda", "nvcc", "reason"),
    [(None, None, "CPU build"), ("13.0", None, "nvcc"), ("13.0", "12.4", "major release")],
)
def test_cuda_required_but_impossible_says_why(setup_module, torch_cuda, nvcc, reason):
    with pytest.raises(SystemExit, match=f"SSLCORE_CUDA=1 .*{reason}"):
        setup_module.decide_cuda("1", torch_cuda, nvcc, True, "9.0")


def test_unknown_cuda_mode_is_refused(setup_module):
    with pytest.raises(SystemExit, match="SSLCORE_CUDA must be auto, 0 or 1"):
        setup_module.decide_cuda("yes", "13.0", "13.0", True, None)


def test_build_records_its_cuda_decision(setup_module, monkeypatch):
    monkeypatch.setenv("SSLCORE_CUDA", "0")
    cxx = setup_module.get_extensions()[0].extra_compile_args["cxx"]
    assert '-DSSLCORE_CUDA_BUILD="off"' in cxx


def test_installed_extension_reports_its_cuda_decision():
    from sslcore._ext import CUDA_BUILD_REASONS, build_info, cuda_build_summary

    info = build_info()
    assert info["cuda_build"] in set(CUDA_BUILD_REASONS) - {"unknown"}  # a current build
    assert info["cuda"] == (info["cuda_build"] == "built")
    if torch.version.cuda is None:
        assert info["cuda_build"] in {"cpu_torch", "off"}
    assert cuda_build_summary(info) == CUDA_BUILD_REASONS[info["cuda_build"]] or info["cuda"]


def cuda_include() -> Path | None:
    candidates = [os.environ.get("CUDA_HOME"), "/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(str(Path(os.path.realpath(nvcc)).parent.parent))
    for c in candidates:
        if c and (Path(c) / "include" / "cuda_runtime.h").is_file():
            return Path(c) / "include"
    return None


@pytest.mark.slow
@pytest.mark.skipif(cuda_include() is None, reason="no CUDA headers (cuda_runtime.h)")
def test_cuda_glue_type_checks_against_torch_headers(tmp_path):
    """The CUDA glue (csrc/cuda_ops.cpp, csrc/*/*_cuda_ops.cpp) only builds with a CUDA torch;
    here g++ at least type-checks it."""
    from torch.utils.cpp_extension import include_paths

    # The one header a CPU wheel lacks is generated by torch's CUDA build; its content is fixed.
    generated = tmp_path / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h"
    generated.parent.mkdir(parents=True)
    generated.write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    cmd = [
        "g++",
        "-fsyntax-only",
        "-std=c++17",
        "-DSSLCORE_WITH_CUDA",
        "-I",
        str(ROOT / "csrc"),
        "-I",
        str(cuda_include()),
        "-I",
        str(tmp_path),
    ]
    for path in include_paths():
        cmd += ["-I", path]
    glue = [ROOT / "csrc" / "cuda_ops.cpp", *sorted((ROOT / "csrc").glob("*/*_cuda_ops.cpp"))]
    assert len(glue) >= 2
    for source in glue:
        result = subprocess.run([*cmd, str(source)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{source.name}:\n{result.stderr[-4000:]}"
