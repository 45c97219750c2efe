"""Memory over many customer sessions (the kiosk runs for weeks without a restart).

Each session is what a resident does at an L1 item: start the session, place the ID card, the reader
(simulated) returns it, identification completes, the session finishes and every personal datum is wiped.
The Qt-free core (kiosk.session.Terminal, the identification flow, Tasks workers) runs with the stand-in
devices and center. RSS is read from /proc after 10 sessions and after 1,000; the growth is the figure."""
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


def run() -> list[dict]:
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
