"""The project's own promises: README's commands are what CI runs, the build knobs, lint."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands():
    commands = readme_commands()
    assert commands == ["bash scripts/run.sh dashboard", "bash scripts/run.sh test"]


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    invoked = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert f"exec {readme_commands()[1]}" in invoked


def run_setup(env_value: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "SSLCORE_CUDA": env_value, "HOME": str(ROOT)}
    return subprocess.run(
        [sys.executable, "setup.py", "--name"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_setup_rejects_a_bad_cuda_knob():
    result = run_setup("maybe")
    assert result.returncode != 0 and "SSLCORE_CUDA must be auto, 0 or 1" in result.stderr


@pytest.mark.skipif(torch.version.cuda is not None, reason="torch has CUDA here")
def test_setup_refuses_cuda_with_a_cpu_torch():
    result = run_setup("1")
    assert result.returncode != 0 and "CUDA kernels cannot be built" in result.stderr
    assert run_setup("auto").returncode == 0


def pins() -> dict[str, str]:
    """scripts/constraints.txt as {normalised name: version}."""
    found = {}
    for line in (ROOT / "scripts" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version.strip(), f"not a pin: {line!r}"
            found[canonicalize_name(name)] = version.strip()
    return found


def test_every_dependency_is_pinned_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    required = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    required += ["setuptools", "wheel", "ninja", "pybind11", "pip"]  # what run.sh installs
    for text in required:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not pinned in scripts/constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} vs {text}"
    for text in project["dependencies"]:  # bounds for people installing into their own env
        bounds = {spec.operator for spec in Requirement(text).specifier}
        assert {">=", "<"} <= bounds, f"{text}: expected a lower and an upper bound"


def test_run_sh_keeps_its_environment_out_of_git():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".venv/" in ignored and "build/" in ignored


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    pytest.importorskip("ruff", reason="ruff is in the test extras")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:]
