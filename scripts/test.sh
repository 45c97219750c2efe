#!/usr/bin/env bash
# Runs the whole test suite. Services (pcscd, cupsd, PostgreSQL, the center) are started by the
# test harness itself (tests/**/conftest.py) on loopback and temp dirs, and stopped by PID.
# The Qt UI tests run in a pytest process of their own: a Qt application lives for the whole process,
# and keeping it apart from the device/sync/center threads of the other areas keeps each run independent.
# With arguments, runs just `pytest ARGS` (e.g. `make test ARGS="tests/sync -q"`).
set -uo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export HPF_KIOSK_VOICE=${HPF_KIOSK_VOICE:-mute}
export PYTHONDONTWRITEBYTECODE=1
PY=.venv/bin/python
start=$(date +%s)

if (($#)); then
  $PY -m pytest "$@"
  rc=$?
  echo "make test: pytest exit $rc in $(( $(date +%s) - start )) s"
  exit $rc
fi

total_pass=0; total_fail=0; total_skip=0; worst=0
run_group() {   # name, pytest args...
  local name=$1; shift
  local log; log=$(mktemp)
  echo "== $name"
  $PY -m pytest -q --durations=8 "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local summary; summary=$(grep -aE '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -1)
  local p f e s
  p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  e=$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  s=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f + e)); total_skip=$((total_skip + s))
  # exit 5 = no tests collected: a failure for us, not a pass
  if ((rc != 0)); then worst=$rc; ((f + e == 0)) && total_fail=$((total_fail + 1)); fi
  rm -f "$log"
}

run_group "core, devices, printing, sync, center, flows, staff" --ignore=tests/ui tests
run_group "kiosk screens (pytest-qt)" tests/ui

echo "make test: $(( $(date +%s) - start )) s"
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $worst
