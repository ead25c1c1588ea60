#!/usr/bin/env bash
# The README's two commands as a new user meets them: the current commit cloned into a temporary
# folder and run under `env -i` (no virtual environment, no pip configuration, a temporary HOME):
#   1. `bash scripts/run.sh dashboard` until the server answers and the first page renders in
#      Chromium (driven by Playwright from a Python that has it: $PYTHON, ./.venv, or python3);
#   2. `bash scripts/run.sh test` to the end.
# One line per step with its time; logs stay in the printed folder. The first run downloads torch
# (a CUDA build where pip picks one: several GB) and builds everything: expect many minutes.
#   bash scripts/fresh_check.sh [--keep]      (--keep: leave the clone and its .venv behind)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1
COMMIT="$(git -C "$ROOT" rev-parse HEAD)"
WORK="$(mktemp -d /tmp/sslcore-fresh.XXXXXX)"
LOGS="$WORK/logs"
mkdir -p "$LOGS" "$WORK/home"
CLONE="$WORK/sslcore"
# What a user's shell has: the system PATH, an empty HOME, no pip configuration at all.
CLEAN=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8
  PIP_CONFIG_FILE=/dev/null)
FAILED=0
DASH_PID=""

line() { printf '[fresh_check] %-34s %-5s %7ss  %s\n' "$1" "$2" "$3" "${4:-}"; }
now() { date +%s; }
cleanup() {
  [[ -n "$DASH_PID" ]] && kill -- "-$DASH_PID" 2>/dev/null
  if [[ "$KEEP" == 0 && "$FAILED" == 0 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A Python that can drive Chromium for the render check (the developer's, not the clone's).
BROWSER_PY=""
for candidate in "${PYTHON:-}" "$ROOT/.venv/bin/python" python3; do
  if [[ -n "$candidate" ]] && "$candidate" -c 'import playwright.sync_api' 2>/dev/null; then
    BROWSER_PY="$candidate"
    break
  fi
done

echo "[fresh_check] commit $COMMIT in $CLONE (logs: $LOGS)"

t0="$(now)"
if git clone -q --no-local "$ROOT" "$CLONE" >"$LOGS/clone.log" 2>&1 \
  && git -C "$CLONE" checkout -q "$COMMIT" >>"$LOGS/clone.log" 2>&1; then
  line "clone" ok "$(($(now) - t0))" "$COMMIT"
else
  line "clone" FAIL "$(($(now) - t0))" "see $LOGS/clone.log"
  FAILED=1
  exit 1
fi

# 1. The dashboard command, in its own process group so that it can be stopped whole.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
t0="$(now)"
(cd "$CLONE" && exec setsid "${CLEAN[@]}" bash scripts/run.sh dashboard \
  --server.port "$PORT" --server.address 127.0.0.1) >"$LOGS/dashboard.log" 2>&1 &
DASH_PID=$!
health=""
while kill -0 "$DASH_PID" 2>/dev/null && (($(now) - t0 < 3600)); do
  health="$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$PORT/_stcore/health', timeout=2).read().decode())" 2>/dev/null)"
  [[ "$health" == ok ]] && break
  sleep 2
done
if [[ "$health" == ok ]]; then
  line "dashboard: server answers" ok "$(($(now) - t0))" "http://127.0.0.1:$PORT"
else
  line "dashboard: server answers" FAIL "$(($(now) - t0))" "see $LOGS/dashboard.log"
  tail -n 20 "$LOGS/dashboard.log" | sed 's/^/    /'
  FAILED=1
fi

if [[ "$health" == ok ]]; then
  t0="$(now)"
  if [[ -z "$BROWSER_PY" ]]; then
    line "dashboard: first page renders" FAIL 0 "no Python with playwright (set PYTHON)"
    FAILED=1
  elif "$BROWSER_PY" - "http://127.0.0.1:$PORT/" "$LOGS/first-page.png" >"$LOGS/render.log" 2>&1 <<'EOF'
import sys
from playwright.sync_api import sync_playwright

url, shot = sys.argv[1], sys.argv[2]
flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("heading", name="Three ways to learn from data").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    page.screenshot(path=shot)
    assert not page.get_by_test_id("stException").count(), "the page shows an exception"
    print("rendered:", page.title())
    browser.close()
EOF
  then
    line "dashboard: first page renders" ok "$(($(now) - t0))" "Chromium; $LOGS/first-page.png"
  else
    line "dashboard: first page renders" FAIL "$(($(now) - t0))" "see $LOGS/render.log"
    tail -n 5 "$LOGS/render.log" | sed 's/^/    /'
    FAILED=1
  fi
fi
kill -- "-$DASH_PID" 2>/dev/null
wait "$DASH_PID" 2>/dev/null
DASH_PID=""

# 2. The test command, to the end.
t0="$(now)"
(cd "$CLONE" && "${CLEAN[@]}" bash scripts/run.sh test) >"$LOGS/test.log" 2>&1
status=$?
summary="$(grep -E '^=+ .*(passed|failed|error).* =+$' "$LOGS/test.log" | tail -n 1 | tr -d '=')"
if [[ "$status" == 0 ]]; then
  line "test: whole suite" ok "$(($(now) - t0))" "${summary:-}"
else
  line "test: whole suite" FAIL "$(($(now) - t0))" "exit $status; ${summary:-see $LOGS/test.log}"
  FAILED=1
fi

torch_line="$(grep -m1 -oE 'installing torch==[^ ]+' "$LOGS/dashboard.log")"
kernels="$(grep -m1 -E 'kernels' "$LOGS/dashboard.log" | sed 's/.*\[sslcore\][^ ]* //')"
echo "[fresh_check] ${torch_line:-torch already there}; ${kernels:-kernels: ?}"
if [[ "$FAILED" == 0 ]]; then
  echo "[fresh_check] both README commands work from nothing"
else
  echo "[fresh_check] FAILED (kept $WORK)"
fi
exit "$FAILED"
