#!/usr/bin/env bash
# Sets up everything `make demo` and `make test` need, idempotently:
#   1. Debian packages (installed when run as root, otherwise listed exactly),
#   2. a virtualenv in .venv with the package installed editable, with test extras.
# Fast when already set up: each step is skipped when its stamp is current.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  libpcsclite-dev pcscd vsmartcard-vpcd                    # pyscard build, PC/SC daemon, virtual reader
  libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 xvfb  # Qt offscreen and under Xvfb
  fonts-wqy-microhei                                       # CJK font for screens and PDFs
  socat                                                    # pty pairs for serial simulators
  cups printer-driver-cups-pdf poppler-utils               # CUPS with a PDF queue; pdftotext/pdftoppm
  espeak-ng                                                # offline voice prompts
  postgresql                                               # center on PostgreSQL (tests start a private cluster)
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing; install them as root with:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    echo "setup: continuing; tests that need them will be reported as not runnable." >&2
  fi
fi

PY=${PYTHON:-python3}
stamp=.venv/.hpf-setup-stamp
want=$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16)
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  echo "setup: installing hpf-kiosk and its test tools into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > $stamp
fi
echo "setup: ready (.venv/bin/hpf-kiosk, .venv/bin/hpf-center)"
