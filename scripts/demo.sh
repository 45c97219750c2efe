#!/usr/bin/env bash
# `make demo`: the kiosk with simulated devices and an embedded reference center, on this machine.
# With a display it opens the kiosk window (and its simulator panel); without one it says how to get a
# display and runs the headless self-test instead: every resident service item through the real screens
# (offscreen Qt), writing screenshots, receipts and A4 certificates to var/demo/selftest.
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
  rm -rf "$out" && mkdir -p "$out"
  echo "   Every service item, one demo resident each (center/README.md): # level item result code/paper seconds"
  QT_QPA_PLATFORM=offscreen $K selftest --out "$out"
  rc=$?
  n() { find "$out" -maxdepth 1 -name "$1" | wc -l; }
  echo "self-test exit $rc. In $out/: $(n '*.png') screenshots, $(n '*.txt') receipts (decoded from the"
  echo "   simulated printer), $(n '*.pdf') A4 PDFs (statement, certificates), summary.json (steps and reasons)"
  exit $rc
fi
echo "== the kiosk UI is not part of this build yet; device self-tests:"
$K devices selftest
