"""`hpf-kiosk run` and `hpf-kiosk selftest` as a technician meets them (real processes, real center)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIOSK = [sys.executable, "-m", "kiosk.cli.main"]

pytestmark = pytest.mark.ui


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(HPF_KIOSK_PROFILE="demo", HPF_KIOSK_VOICE="mute",
               HPF_KIOSK__PATHS__DATA_DIR=str(tmp_path / "data"), HPF_KIOSK__PATHS__LOG_DIR=str(tmp_path / "log"))
    env.update(extra)
    return env


def test_run_without_a_display_says_how_to_get_one(tmp_path):
    res = subprocess.run(KIOSK + ["run"], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert res.returncode == 3
    assert "no display" in res.stderr and "Xvfb :99" in res.stderr and "selftest" in res.stderr


@pytest.mark.slow
def test_selftest_cli_drives_service_items_through_the_screens_and_keeps_the_paper(tmp_path):
    # a subset through the real command (the whole set runs in-process in tests/ui/test_selftest.py)
    out = tmp_path / "out"
    res = subprocess.run(KIOSK + ["selftest", "--out", str(out), "--only", "loan_calc", "--only", "withdrawal",
                                  "--only", "deposit_use_certificate"], cwd=ROOT, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] and [(c["item"], c["level"]) for c in summary["cases"]] == [
        ("loan_calc", 0), ("withdrawal", 3), ("deposit_use_certificate", 2)]
    assert "3/3 passed" in res.stdout and "propagateSizeHints" not in res.stdout + res.stderr
    assert " INFO " not in res.stdout + res.stderr          # the report is the case lines; the log file has the rest
    slips = sorted(out.glob("*.txt"))
    assert len(slips) == 2                                   # the withdrawal's receipt, the certificate's slip
    for slip in slips:
        text = slip.read_text(encoding="utf-8")
        assert "330802********1230" in text
        assert "330802198503151230" not in text and "张建国" not in text
    assert len(list(out.glob("*.pdf"))) == 1 and len(list(out.glob("*.png"))) == 3


def test_selftest_cli_refuses_an_unknown_item(tmp_path):
    res = subprocess.run(KIOSK + ["selftest", "--out", str(tmp_path / "out"), "--only", "no_such_item"], cwd=ROOT,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "no self-test case for: no_such_item" in res.stderr


@pytest.fixture
def xvfb():
    """A private X server on a display it picks itself (-displayfd), stopped by its PID."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        display = fh.readline().strip()
    if not display:
        proc.kill()
        pytest.skip("Xvfb did not start")
    yield f":{display}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_run_opens_the_kiosk_window_on_a_real_x_display_and_stops_on_sigterm(tmp_path, xvfb):
    # the window first (home from the cached catalog), then devices + embedded center attached; SIGTERM stops all
    log = tmp_path / "run.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(KIOSK + ["run"], cwd=ROOT, env=_env(tmp_path, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb"),
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "terminal ready" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        assert "kiosk window shown (windowed, xcb)" in text, text[-3000:]
        assert "terminal ready: devices and center attached" in text, text[-3000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
