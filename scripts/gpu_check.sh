#!/usr/bin/env bash
# For a machine with a CUDA GPU (not run in CI): build the extension with CUDA, run the
# CUDA-marked tests and the kernel benchmarks, print a short table last.
#   bash scripts/gpu_check.sh            (PYTHON=... to pick the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
OUT="${OUT:-$(mktemp -d)}"
status=()

"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())' \
  || { echo "gpu_check: torch sees no CUDA device" >&2; exit 2; }

SSLCORE_CUDA=1 "$PY" -m pip install --no-build-isolation --no-deps -e . >"$OUT/build.log" 2>&1
status+=("build-with-cuda:$?")
"$PY" -m sslcore info --json | tee "$OUT/info.json"

SSLCORE_REQUIRE_EXT=1 "$PY" -m pytest -m cuda -q -p no:cacheprovider tests 2>&1 | tee "$OUT/cuda-tests.log"
status+=("cuda-tests:${PIPESTATUS[0]}")

for bench in benchmarks/bench_*.py; do
  name="$(basename "$bench" .py)"
  [[ "$name" == bench_dashboard || "$name" == bench_cli ]] && continue  # no --device
  "$PY" -m "benchmarks.$name" --device cuda --json "$OUT/$name.json" 2>&1 | tee "$OUT/$name.log"
  status+=("$name:${PIPESTATUS[0]}")
done

echo
echo "== gpu_check summary (logs in $OUT) =="
printf '%-32s %s\n' step "exit status"
for s in "${status[@]}"; do printf '%-32s %s\n' "${s%%:*}" "${s##*:}"; done
grep -h "vs pytorch\|x$" "$OUT"/bench_*.log 2>/dev/null | head -40
for s in "${status[@]}"; do [[ "${s##*:}" == 0 ]] || exit 1; done
