"""Kiosk UI figures, offscreen Qt on this machine.

- cold start to home: a fresh Python process (interpreter start, imports, settings, simulated devices,
  journal, sync worker, catalog from the center over loopback, Qt, fonts, the shell) until the home screen
  has been painted. The center runs beforehand (in production it is remote). Median and max of 5 runs.
- demo cold start including the embedded center (informational: the center is not part of the kiosk).
- screen change: click -> the next screen painted (home <-> identification steps), p50/p95 over 300 changes.
- language and care-mode switches (every page re-translated / re-styled), p95."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import figure

ROOT = Path(__file__).resolve().parents[1]
CODES = ("account_query", "deposit_certificate", "withdrawal")

CHILD = r"""
import os, sys, time
from config import load_settings
from kiosk.app import start_app
from screens.app import create_shell
settings = load_settings(profile="demo")
app = start_app(settings)
terminal = app.terminal
qt, shell, _ = create_shell(terminal, kiosk_mode=False)
shell.show()
qt.processEvents()
shell.repaint()
print("HOME", len(shell.home.tile_buttons), flush=True)
app.begin()                                  # as screens.app.run does after the first paint
deadline = time.monotonic() + 20
while (terminal.starting or not terminal.online) and time.monotonic() < deadline:
    qt.processEvents()
    time.sleep(0.002)
shell.repaint()
print("READY", sum(b.isEnabled() for b in shell.home.tile_buttons.values()), flush=True)
os._exit(0)
"""


def _child_env(tmp: str, **extra) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HPF_KIOSK_VOICE="mute", HPF_KIOSK_PROFILE="demo",
               HPF_KIOSK__PATHS__DATA_DIR=f"{tmp}/data", HPF_KIOSK__PATHS__LOG_DIR=f"{tmp}/log",
               HPF_KIOSK__LOGGING__LEVEL="WARNING", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _start_once(env: dict) -> tuple[float, float]:
    """(seconds to the home screen painted with its tiles, seconds until devices and center are live)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    home_line = proc.stdout.readline()
    home = time.perf_counter() - t0
    ready_line = proc.stdout.readline()
    ready = time.perf_counter() - t0
    proc.wait(timeout=60)
    if not home_line.startswith("HOME") or int(home_line.split()[1]) == 0:
        raise RuntimeError(f"child did not reach a home screen with tiles: {home_line!r}")
    if not ready_line.startswith("READY") or int(ready_line.split()[1]) == 0:
        raise RuntimeError(f"child never became ready: {ready_line!r}")
    return home, ready


def cold_start(runs: int = 5) -> list[dict]:
    from center.embedded import start_center
    from sync.client import TerminalCredentials
    out = []
    with tempfile.TemporaryDirectory() as tmp, start_center() as center:
        creds = TerminalCredentials("DEMO-0001", center.enroll("DEMO-0001"))
        env = _child_env(tmp, HPF_KIOSK__CENTER__EMBEDDED="false", HPF_KIOSK__CENTER__URL=center.url)
        from config import load_settings
        from sync.client import credentials_file
        old = dict(os.environ)
        os.environ.update(env)
        try:
            creds.save(credentials_file(load_settings(profile="demo")))
        finally:
            os.environ.clear()
            os.environ.update(old)
        _start_once(env)                   # warm the OS file cache, and leave a cached catalog like a real kiosk
        runs_ = [_start_once(env) for _ in range(runs)]
    homes, readies = [h for h, _ in runs_], [r for _, r in runs_]
    med, worst = statistics.median(homes), max(homes)
    load = os.getloadavg()[0]
    out.append(figure("ui cold start to home (median of 5)", round(med * 1000), "ms", "< 2000 ms", med < 2.0,
                      f"fresh process to home painted (cached catalog, tiles shown); load avg {load:.1f}"))
    out.append(figure("ui cold start to home (worst of 5)", round(worst * 1000), "ms", "< 2000 ms", worst < 2.0))
    out.append(figure("ui cold start to usable (median of 5)", round(statistics.median(readies) * 1000), "ms",
                      "", None, "devices (pty ID reader, card reader, TCP printer), journal, sync, center link live"))
    with tempfile.TemporaryDirectory() as tmp:
        demo = _start_once(_child_env(tmp))[1]
    out.append(figure("demo cold start incl. embedded center", round(demo * 1000), "ms", "", None,
                      "information: starts, migrates and seeds a center in-process first"))
    return out


def screen_changes(n: int = 300) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HPF_KIOSK_VOICE"] = "mute"
    sys.path.insert(0, str(ROOT))
    from tests.ui.conftest import demo_catalog             # the UI tests' catalog: 6 items, L0-L3
    from config import load_settings
    from kiosk.flows.ports import Devices
    from kiosk.flows.standins import SimCamera, SimCardReader, SimIdCard, SimPrinter, StandInCenter
    from kiosk.flows.tasks import Tasks
    from kiosk.session import Terminal
    from screens.app import create_shell

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HPF_KIOSK__PATHS__DATA_DIR"] = tmp
        settings = load_settings(profile="demo")
        sims = Devices(SimIdCard(), SimCamera(frame_interval_s=0.001), SimCardReader(), SimPrinter())
        terminal = Terminal(settings, sims, StandInCenter(), Tasks(), catalog=demo_catalog())
        terminal.set_network(True, 0)
        qt, shell, _ = create_shell(terminal, kiosk_mode=False)
        shell.show()
        qt.processEvents()

        def timed(action) -> float:
            t0 = time.perf_counter()
            action()
            qt.processEvents()
            shell.repaint()
            return time.perf_counter() - t0

        changes, modes = [], []
        for i in range(n // 2):
            code = CODES[i % len(CODES)]
            changes.append(timed(lambda: shell.home.show_tile(code).click()))       # home -> identification
            changes.append(timed(shell.go_home))                                     # identification -> home
        for i in range(20):
            modes.append(timed(shell.toggle_language))
            modes.append(timed(shell.toggle_care))
        shell.allow_close = True
        shell.close()
        terminal.close()
        import shiboken6
        shiboken6.delete(shell)         # destroy the widgets now, not during interpreter shutdown

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
    p95 = pct(changes, 95) * 1000
    return [
        figure("ui screen change p50", round(pct(changes, 50) * 1000, 2), "ms", "", None, f"{len(changes)} changes"),
        figure("ui screen change p95", round(p95, 2), "ms", "< 50 ms", p95 < 50, "click -> next screen painted"),
        figure("ui language/care-mode switch p95", round(pct(modes, 95) * 1000, 2), "ms", "", None,
               "all pages re-translated or re-styled"),
    ]


def run() -> list[dict]:
    return cold_start() + screen_changes()


if __name__ == "__main__":
    for f in run():
        print(f)
