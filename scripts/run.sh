#!/usr/bin/env bash
# The two commands of README.md, on a fresh machine or an old one (each step is skipped when its
# result is already there):
#   bash scripts/run.sh dashboard [streamlit options]   install, then start the dashboard
#   bash scripts/run.sh test [pytest options]           install, then run the whole test suite
# Python: $PYTHON, else python3 (activate a virtual environment first to install into it).
# An installed torch is used as it is; otherwise torch==2.13.0 is installed (never a bare `torch`,
# which makes pip pull a multi-GB CUDA build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
MODE="${1:-}"
shift || true
say() { printf '\033[1m[sslcore]\033[0m %s\n' "$*" >&2; }

case "$MODE" in
  dashboard | test) ;;
  *) echo "usage: bash scripts/run.sh dashboard|test [options passed on]" >&2; exit 2 ;;
esac

"$PY" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' 2>/dev/null \
  || { echo "sslcore needs Python >= 3.10 as \$PYTHON or python3" >&2; exit 2; }
PIP=("$PY" -m pip install --disable-pip-version-check --no-input)

# 1. torch: keep the installed one; otherwise the pinned CPU-friendly release.
if ! "$PY" -c 'import torch' 2>/dev/null; then
  say "installing torch==2.13.0"
  "${PIP[@]}" "torch==2.13.0"
fi

# 2. sslcore, its dependencies and the extension, built against that torch. A stamp of the build
#    inputs skips the ~1 min rebuild when nothing changed and everything still imports.
EXTRAS=""
[[ "$MODE" == test ]] && EXTRAS="[test]"
STAMP="build/.install-stamp${EXTRAS:+-test}"
inputs_hash() {
  { "$PY" -c 'import sys, torch; print(sys.executable, torch.__version__)'
    cat pyproject.toml setup.py
    find csrc -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1
}
IMPORTS='import torch, sslcore._C, streamlit, plotly, kornia, sklearn, PIL, rich, tqdm'
[[ "$MODE" == test ]] && IMPORTS="$IMPORTS, pytest, pytest_timeout, playwright"
HASH="$(inputs_hash)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]] && "$PY" -c "$IMPORTS" 2>/dev/null; then
  say "sslcore is installed and up to date"
else
  say "installing sslcore$EXTRAS and building its extension (about a minute)"
  "${PIP[@]}" setuptools wheel ninja
  "${PIP[@]}" --no-build-isolation -e ".$EXTRAS"
  mkdir -p build
  printf '%s\n' "$HASH" > "$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
fi

if [[ "$MODE" == dashboard ]]; then
  HEADLESS=true
  [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && HEADLESS=false
  say "starting the dashboard (Ctrl-C stops it)"
  exec "$PY" -m streamlit run dashboard/app.py --browser.gatherUsageStats false \
    --server.headless "$HEADLESS" "$@"
fi

# 3. Chromium for the real-browser test: Debian's package, installed when missing and root.
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >/tmp/sslcore-apt.log 2>&1 || say "chromium install failed (see /tmp/sslcore-apt.log); the browser test will skip"
  else
    say "chromium missing and not root: the browser test will skip (apt-get install chromium)"
  fi
fi

say "running the test suite"
export SSLCORE_REQUIRE_EXT=1
exec "$PY" -m pytest "$@"
