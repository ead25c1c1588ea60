#!/usr/bin/env bash
# The two commands of README.md, on a bare machine or a set-up one (each step is skipped when its
# result is already there):
#   bash scripts/run.sh dashboard [streamlit options]   install, then start the dashboard
#   bash scripts/run.sh test [pytest options]           install, then run the whole test suite
# Python: $PYTHON if set, else the active virtual environment, else the project's own .venv (made
# with python3 -m venv on first use, and reused).
# Versions: scripts/constraints.txt pins what CI tested (scripts/refresh_pins.sh rewrites it). An
# installed torch is used as it is; otherwise the pinned torch is installed (never a bare `torch`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${1:-}"
shift || true
say() { printf '\033[1m[sslcore]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

case "$MODE" in
  dashboard | test) ;;
  *) echo "usage: bash scripts/run.sh dashboard|test [options passed on]" >&2; exit 2 ;;
esac

# One set-up at a time (a dashboard and a test run started together would both install).
mkdir -p build
exec 9>build/.setup.lock
command -v flock >/dev/null && flock 9

# 1. The Python to install into. A .venv without the ready mark was cut short: made again.
make_venv() {
  command -v python3 >/dev/null || die "python3 not found: install Debian's python3"
  python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
    || die "sslcore needs Python >= 3.11; python3 is $(python3 --version 2>&1)"
  local pkg
  pkg="$(python3 -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
  say "creating the virtual environment .venv (once; later runs reuse it)"
  rm -rf .venv
  if ! python3 -m venv .venv >build/venv.log 2>&1; then
    rm -rf .venv
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      say "installing Debian's $pkg (python3 -m venv needs it)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg") \
        >build/apt-venv.log 2>&1 || die "apt-get install $pkg failed (see build/apt-venv.log)"
      python3 -m venv .venv || die "python3 -m venv .venv failed even with $pkg installed"
    else
      die "python3 -m venv failed (build/venv.log); it needs Debian's $pkg: sudo apt-get install $pkg"
    fi
  fi
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -q \
    -c scripts/constraints.txt pip
  touch .venv/.sslcore-ready
}

if [[ -n "${PYTHON:-}" ]]; then
  PY="$PYTHON"
elif [[ -n "${VIRTUAL_ENV:-}" ]]; then
  PY="$VIRTUAL_ENV/bin/python"
else
  [[ -f .venv/.sslcore-ready && -x .venv/bin/python ]] && .venv/bin/python -c '' 2>/dev/null \
    || make_venv
  PY="$ROOT/.venv/bin/python"
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null \
  || die "sslcore needs Python >= 3.11 at $PY"
PIP=("$PY" -m pip install --disable-pip-version-check --no-input)

# 2. torch: keep the installed one; otherwise the pinned release. The rest is installed under the
#    pins less torch's line, so pip never swaps an installed torch for another.
PINS=scripts/constraints.txt
TORCH_PIN="$(grep -E '^torch==' "$PINS")"
CONSTRAINTS="build/constraints-without-torch.txt"
grep -vE '^torch==' "$PINS" >"$CONSTRAINTS.tmp" && mv -f "$CONSTRAINTS.tmp" "$CONSTRAINTS"
if ! "$PY" -c 'import torch' 2>/dev/null; then
  say "installing $TORCH_PIN (a CUDA build where pip picks one: a few GB, some minutes)"
  "${PIP[@]}" "$TORCH_PIN"
fi

# 3. sslcore, its dependencies and the extension, built against that torch. A stamp of the build
#    inputs skips the ~1 min rebuild when nothing changed and everything still imports.
EXTRAS=""
[[ "$MODE" == test ]] && EXTRAS="[test]"
STAMP="build/.install-stamp${EXTRAS:+-test}"
inputs_hash() {
  { "$PY" -c 'import sys, importlib.metadata as m; print(sys.executable, m.version("torch"))'
    env | grep -E '^(SSLCORE_CUDA|TORCH_CUDA_ARCH_LIST|DEBUG)=' | LC_ALL=C sort || true
    cat pyproject.toml setup.py "$PINS"
    find csrc -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1
}
# Everything imports, and the extension says which kernels it has (CUDA, or why not).
CHECK='import torch, sslcore._C, streamlit, plotly, kornia, sklearn, scipy, PIL, tqdm'
[[ "$MODE" == test ]] && CHECK="$CHECK, pytest, pytest_timeout, playwright, hypothesis"
CHECK="$CHECK
from sslcore._ext import build_info, cuda_build_summary
print(cuda_build_summary(build_info()))"
HASH="$(inputs_hash)"
stamped() {  # the test install holds everything the dashboard needs
  local f
  for f in "$STAMP" build/.install-stamp-test; do
    [[ -f "$f" && "$(cat "$f")" == "$HASH" ]] && return 0
  done
  return 1
}
if stamped && KERNELS="$("$PY" -c "$CHECK" 2>/dev/null)"; then
  say "sslcore is installed and up to date"
else
  say "installing sslcore$EXTRAS (pinned versions) and building its extension (about a minute)"
  "${PIP[@]}" -c "$CONSTRAINTS" setuptools wheel ninja pybind11
  "${PIP[@]}" -c "$CONSTRAINTS" --no-build-isolation -e ".$EXTRAS"
  KERNELS="$("$PY" -c "$CHECK")" || die "sslcore was installed but does not import (see above)"
  printf '%s\n' "$HASH" >"$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
fi
say "$KERNELS"

if [[ "$MODE" == dashboard ]]; then
  exec 9>&-  # set-up done: let another run.sh in
  HEADLESS=true
  [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && HEADLESS=false
  say "starting the dashboard (Ctrl-C stops it)"
  exec "$PY" -m streamlit run dashboard/app.py --browser.gatherUsageStats false \
    --server.headless "$HEADLESS" "$@"
fi

# 4. Chromium for the real-browser test: Debian's package, installed when missing and root.
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >build/apt-chromium.log 2>&1 \
      || say "chromium install failed (see build/apt-chromium.log); the browser test will skip"
  else
    say "chromium missing and not root: the browser test will skip (apt-get install chromium)"
  fi
fi

exec 9>&-
say "running the test suite"
export SSLCORE_REQUIRE_EXT=1
exec "$PY" -m pytest "$@"
