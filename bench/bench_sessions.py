"""Memory over many customer sessions (the kiosk runs for weeks without a restart).

1. The Qt-free core: what a resident does at an L1 item: start the session, place the ID card, the reader
   (simulated) returns it, identification completes, the session finishes and every personal datum is wiped.
   kiosk.session.Terminal, the identification flow, Tasks workers, with the stand-in devices and center.
2. Through the screens (a child process, offscreen Qt): the real Shell, IdentifyPage and ServicePage; a
   resident taps 个人缴存贷款信息查询 on the home screen, places the ID card and looks at the camera (stand-in
   devices and identity check: instant), the account overview flow asks the real reference center over signed
   HTTP (the center runs in this, the parent, process, so its memory is not counted), the resident opens the
   deposit details, taps 完成, then 结束服务; the session ends and is wiped. Every 10th session is the loan
   calculator instead (amount keyed on the keypad, both methods, a schedule page turned).
RSS is read from /proc after 10 sessions and after 1,000; the growth is the figure. The UI child also counts
live QWidgets and Python objects, which name a leak when RSS grows."""
from __future__ import annotations

import gc
import os
import tempfile

from bench.__main__ import figure


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


UI_CHILD = r"""
import gc, json, os, sys, time
from datetime import date
from config import load_settings
from kiosk.flows.ports import Devices, IdentityDocument
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import build_context
from kiosk.flows.standins import SimCamera, SimCardReader, SimIdCard, SimPrinter, StandInCenter
from kiosk.flows.tasks import Tasks
from kiosk.session import Terminal
from kiosk.voice import MuteVoice
from screens.app import create_shell
from screens.qt import QApplication, QEvent, QPushButton
from sync.client import HttpCenterClient, TerminalCredentials
from sync.journal import Journal
from sync.protocol import Catalog, OfflinePolicy, ServiceItem

def rss_mb():
    with open(f"/proc/{os.getpid()}/status") as fh:
        return next(int(l.split()[1]) / 1024 for l in fh if l.startswith("VmRSS:"))

ZHANG = dict(name="张建国", id_number="330802198503151230", gender="1", birth=date(1985, 3, 15),
             address="浙江省衢州市柯城区演示路1号")
person = dict(ZHANG, phone="13805700001", password="135790", pan="6217001234567890")
settings = load_settings(profile="demo")
creds = TerminalCredentials("BENCH-UI-1", bytes.fromhex(os.environ["BENCH_SECRET"]))
client = HttpCenterClient(os.environ["BENCH_CENTER_URL"], creds)
journal = Journal.open(settings)
sims = Devices(SimIdCard(), SimCamera(frame_interval_s=0.001), SimCardReader(), SimPrinter())
item = lambda c, zh, lvl, pol: ServiceItem(code=c, name_zh=zh, name_en=c, identity_level=lvl, offline_policy=pol)
catalog = Catalog(version="bench", items=[item("query", "个人缴存贷款信息查询", 2, OfflinePolicy.ONLINE_ONLY),
                                          item("loan_calc", "贷款试算", 0, OfflinePolicy.LOCAL)])
terminal = Terminal(settings, sims, StandInCenter(people=[person]), Tasks(), voice=MuteVoice(), catalog=catalog)
terminal.services = build_context(settings, client=client, journal=journal, tasks=terminal.tasks, devices=sims,
                                  identity_center=terminal.center, catalog=lambda: terminal.catalog,
                                  online=lambda: terminal.online)
terminal.set_network(True, 0)
qt, shell, _ = create_shell(terminal, kiosk_mode=False)
shell.show()
qt.processEvents()

def turn():
    # one turn of the event loop as app.exec() makes it: posted events, then the deferred deletes
    # (deleteLater) that a bare processEvents() outside exec() leaves queued
    qt.processEvents()
    qt.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)

def until(pred, what, timeout=20.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            flow = shell.service.flow
            raise SystemExit(f"stuck waiting for {what}: {flow and flow.state} {flow and flow.message}")
        turn()
        time.sleep(0.001)

def press(name):
    qt.processEvents()
    b = shell.service.findChild(QPushButton, name)
    if b is None or not b.isVisible():
        raise SystemExit(f"no button {name}")
    b.click()
    qt.processEvents()

def settled(*states):
    return lambda: shell.service.flow is not None and not shell.service.flow.busy \
        and shell.service.flow.state in states

def overview():
    shell.home.show_tile("query").click()
    sims.idcard.place(IdentityDocument(valid_to="20401231", **ZHANG))
    until(settled(Svc.SHOW), "the overview")
    press("action_deposits")
    until(lambda: settled(Svc.SHOW)() and shell.service.flow.step == "deposits", "the deposit details")
    press("action_finish")
    until(settled(Svc.DONE), "done")
    press("action_end")
    sims.idcard.lift()

def calculator():
    shell.home.show_tile("loan_calc").click()
    until(settled(Svc.INPUT), "the calculator")
    for d in "300000":
        press(f"key_{d}")
    press("submit")
    until(settled(Svc.SHOW), "the schedule")
    press("next_page")
    press("choice_02")
    press("action_finish")
    press("action_end")

def session(i):
    (calculator if i % 10 == 9 else overview)()
    until(lambda: terminal.session is None and shell.stack.currentWidget() is shell.home, "home")

def sample():
    for _ in range(3):
        turn()
    gc.collect()
    return rss_mb(), len(QApplication.allWidgets()), len(gc.get_objects())

total = int(os.environ.get("BENCH_UI_SESSIONS", "1000"))
t0 = time.monotonic()
marks = sorted({10, min(100, total), min(500, total), total})
samples, done = {}, 0
for mark in marks:
    while done < mark:
        session(done)
        done += 1
    samples[mark] = sample()
(r10, w10, o10), (r1000, w1000, o1000) = samples[10], samples[total]
print(json.dumps({"rss_10": r10, "rss_n": r1000, "widgets_10": w10, "widgets_n": w1000, "objects_10": o10,
                  "objects_n": o1000, "sessions": total, "seconds": time.monotonic() - t0,
                  "rss_at": {str(k): round(v[0], 1) for k, v in samples.items()}}), flush=True)
os._exit(0)
"""


def through_the_screens(sessions: int = 1000) -> list[dict]:
    """The UI child against a real center in this process; see the module docstring."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from center.embedded import start_center
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="hpf-bench-ui-sessions-") as tmp, start_center() as center:
        secret = center.enroll("BENCH-UI-1")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HPF_KIOSK_VOICE="mute", HPF_KIOSK_PROFILE="demo",
                   HPF_KIOSK__PATHS__DATA_DIR=f"{tmp}/data", HPF_KIOSK__PATHS__LOG_DIR=f"{tmp}/log",
                   HPF_KIOSK__LOGGING__LEVEL="WARNING", BENCH_SECRET=secret.hex(), BENCH_CENTER_URL=center.url,
                   BENCH_UI_SESSIONS=str(sessions))
        res = subprocess.run([sys.executable, "-c", UI_CHILD], cwd=root, env=env, capture_output=True, text=True,
                             timeout=3600)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("{")), "")
    if res.returncode != 0 or not line:
        raise RuntimeError(f"UI sessions child failed ({res.returncode}): {res.stdout[-500:]} {res.stderr[-1500:]}")
    d = json.loads(line)
    growth = d["rss_n"] - d["rss_10"]
    n = d["sessions"]
    return [
        figure("RSS after 10 sessions (through the screens)", round(d["rss_10"], 1), "MB", "", None,
               "Shell + ServicePage offscreen, account overview over signed HTTP; every 10th the loan calculator"),
        figure(f"RSS after {n:,} sessions (through the screens)", round(d["rss_n"], 1), "MB", "", None,
               f"{d['seconds'] / max(1, n) * 1000:.0f} ms per session; load avg {os.getloadavg()[0]:.1f}"),
        figure(f"RSS growth 10 -> {n:,} sessions (through the screens)", round(growth, 2), "MB", "< 10 MB",
               growth < 10),
        figure(f"live QWidgets after 10 / {n:,} sessions", f"{d['widgets_10']} / {d['widgets_n']}", "", "", None,
               "equal: every dynamic widget of a session is deleted"),
        figure(f"Python objects after 10 / {n:,} sessions", f"{d['objects_10']} / {d['objects_n']}", "", "", None),
        figure(f"RSS at {' / '.join(f'{int(k):,}' for k in d['rss_at'])} sessions (through the screens)",
               " / ".join(str(v) for v in d["rss_at"].values()), "MB", "", None,
               "where the growth happens: warm-up (caches, allocator) or per session"),
    ]


def run() -> list[dict]:
    return core() + through_the_screens()


def core() -> list[dict]:
    from config import load_settings
    from kiosk.flows.identification import IdStep
    from kiosk.flows.ports import Devices
    from kiosk.flows.standins import SimCamera, SimCardReader, SimIdCard, SimPrinter, StandInCenter
    from kiosk.flows.tasks import Tasks
    from kiosk.session import Terminal
    from kiosk.voice import MuteVoice
    from tests.ui.conftest import demo_catalog

    tmp = tempfile.mkdtemp(prefix="hpf-bench-sessions-")
    settings = load_settings(profile="demo", env={"HPF_KIOSK__PATHS__DATA_DIR": f"{tmp}/data",
                                                  "HPF_KIOSK__PATHS__LOG_DIR": f"{tmp}/log"})
    idcard = SimIdCard()
    devices = Devices(idcard=idcard, camera=SimCamera(frame_interval_s=0.005), cardreader=SimCardReader(),
                      printer=SimPrinter())
    terminal = Terminal(settings, devices, StandInCenter(), Tasks(), voice=MuteVoice(), catalog=demo_catalog())
    terminal.set_network(True, 0)
    tile = next(t for t in terminal.tiles() if t.identity_level == 1)

    def one_session() -> None:
        terminal.start_session(tile)
        flow = terminal.identify()
        idcard.place()
        ok = terminal.tasks.run_until(lambda: flow.state is IdStep.VERIFIED, timeout=10)
        if not ok:
            raise RuntimeError(f"session did not verify: {flow.state}")
        idcard.lift()
        terminal.finish_session()
        terminal.tasks.process()

    try:
        for _ in range(10):
            one_session()
        gc.collect()
        after_10 = _rss_mb()
        for _ in range(990):
            one_session()
        gc.collect()
        after_1000 = _rss_mb()
    finally:
        terminal.close()
    growth = after_1000 - after_10
    return [
        figure("RSS after 10 sessions (L1, Qt-free core)", round(after_10, 1), "MB"),
        figure("RSS after 1,000 sessions", round(after_1000, 1), "MB"),
        figure("RSS growth 10 -> 1,000 sessions", round(growth, 2), "MB", "< 10 MB", growth < 10),
    ]
