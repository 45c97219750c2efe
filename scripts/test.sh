#!/usr/bin/env bash
# Runs the whole test suite. Services (pcscd, cupsd, PostgreSQL, the center) are started by the
# test harness itself (tests/**/conftest.py) on loopback and temp dirs, and stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export HPF_KIOSK_VOICE=${HPF_KIOSK_VOICE:-mute}
export PYTHONDONTWRITEBYTECODE=1
start=$(date +%s)
.venv/bin/python -m pytest "$@"
rc=$?
echo "make test: pytest exit $rc in $(( $(date +%s) - start )) s"
# pytest exit 5 = no tests collected: that is a failure for us, not a pass.
exit $rc
