#!/usr/bin/env bash
# Rewrites scripts/constraints.txt from today's releases, but only once the whole test suite has
# passed on them:
#   bash scripts/refresh_pins.sh [TORCH_VERSION] [pytest options]
# A new virtual environment (build/pins-venv) gets torch (default: the pinned one), then sslcore[test]
# with no constraints, so pip resolves the newest releases; the suite runs there; on success the
# environment's versions, less torch's own dependencies (they follow whichever torch build a machine
# gets), become the new pins. Run it where the suite can pass (a C++ compiler; chromium for the
# browser test), then commit constraints.txt with whatever the new releases needed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PINS=scripts/constraints.txt
TORCH_VERSION="${1:-$(sed -nE 's/^torch==(.*)$/\1/p' "$PINS")}"
shift || true
VENV=build/pins-venv
say() { printf '\033[1m[refresh_pins]\033[0m %s\n' "$*" >&2; }

rm -rf "$VENV"
mkdir -p build
python3 -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check --no-input -q)
names() { "$PY" -m pip freeze --all | sed -E 's/[=@ ].*//' | tr 'A-Z_.' 'a-z--' | LC_ALL=C sort; }
"${PIP[@]}" --upgrade pip
names >build/pins-before-torch.txt
say "torch==$TORCH_VERSION"
"${PIP[@]}" "torch==$TORCH_VERSION"
# Names (normalised) of torch and what it pulled in: left unpinned, but for the build tools.
names | comm -13 build/pins-before-torch.txt - | grep -vxE 'pip|setuptools|wheel|ninja|pybind11' \
  >build/pins-torch-closure.txt || true
say "sslcore[test] and its build tools at today's releases"
"${PIP[@]}" setuptools wheel ninja pybind11
"${PIP[@]}" --no-build-isolation -e ".[test]"

say "running the test suite on them"
SSLCORE_REQUIRE_EXT=1 "$PY" -m pytest -q "$@"

{
  echo "# The versions CI ran the whole suite on (Python $("$PY" -c 'import platform; print(platform.python_version())'), $(date -u +%Y-%m-%d))."
  echo "# scripts/run.sh installs with these; an installed torch stays as it is, and torch's own"
  echo "# dependencies follow the torch build a machine gets. Rewrite: bash scripts/refresh_pins.sh"
  echo "torch==$TORCH_VERSION"
  "$PY" -m pip freeze --all --exclude-editable | grep -E '^[A-Za-z0-9_.-]+==' | while IFS= read -r line; do
    name="$(printf '%s' "${line%%==*}" | tr 'A-Z_.' 'a-z--')"
    grep -qxF "$name" build/pins-torch-closure.txt || printf '%s\n' "$line"
  done | LC_ALL=C sort -f -t= -k1,1
} >"$PINS.tmp"
mv -f "$PINS.tmp" "$PINS"
say "wrote $PINS ($(grep -vc '^#' "$PINS") pins); review with git diff and commit it"
