#!/usr/bin/env bash
# `make demo`: the kiosk with simulated devices and an embedded reference center, on this machine.
# With a display it opens the kiosk window (and its simulator panel); without one it says how to get a
# display and runs the headless self-test instead, writing receipts and certificates to var/demo/selftest.
set -uo pipefail
cd "$(dirname "$0")/.."
export HPF_KIOSK_PROFILE=${HPF_KIOSK_PROFILE:-demo}
K=.venv/bin/hpf-kiosk

echo "== hpf-kiosk doctor (profile $HPF_KIOSK_PROFILE)"
$K doctor || echo "(doctor found things to fix; the demo goes on with what works)"
echo

has_cmd() { $K "$1" --help >/dev/null 2>&1; }

if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && has_cmd run; then
  echo "== starting the kiosk on ${DISPLAY:-$WAYLAND_DISPLAY} (close the window or press Ctrl+C to stop)"
  exec $K run
fi

cat <<'MSG'
== no display here. To see the kiosk window:
     on a desktop session:      make demo
     on a headless machine:     Xvfb :99 -screen 0 1280x800x24 & DISPLAY=:99 make demo
                                (then look at it with a VNC server such as x11vnc, or take screenshots)
   Running the headless self-test instead (offscreen Qt, embedded center, simulated devices).
MSG
if has_cmd selftest; then
  out=var/demo/selftest
  mkdir -p "$out"
  QT_QPA_PLATFORM=offscreen $K selftest --out "$out"
  rc=$?
  echo "self-test exit $rc; what it printed is in $out/"
  ls -1 "$out" 2>/dev/null | sed 's/^/   /'
  exit $rc
fi
echo "== the kiosk UI is not part of this build yet; device self-tests:"
$K devices selftest
