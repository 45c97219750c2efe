"""Fixtures for the kiosk shell and its Qt-free core: demo settings in a temp dir, simulated devices,
the stand-in (or real embedded) center, a fake clock, and a Terminal wired to them."""
from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings
from kiosk.flows.ports import Devices
from kiosk.flows.standins import SimCamera, SimCardReader, SimIdCard, SimPrinter, StandInCenter
from kiosk.flows.tasks import Tasks
from kiosk.session import Terminal
from kiosk.voice import MuteVoice
from sync.protocol import Catalog, OfflinePolicy, ServiceItem

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def demo_catalog() -> Catalog:
    item = lambda code, zh, en, level, policy, **kw: ServiceItem(code=code, name_zh=zh, name_en=en,
                                                                 identity_level=level, offline_policy=policy, **kw)
    return Catalog(version="test-1", items=[
        item("account_query", "公积金查询", "Account query", 1, OfflinePolicy.ONLINE_ONLY),
        item("withdrawal", "提取", "Withdrawal", 3, OfflinePolicy.STORE_AND_FORWARD),
        item("loan_calculator", "贷款试算", "Loan calculator", 0, OfflinePolicy.LOCAL),
        item("deposit_certificate", "缴存使用证明", "Deposit-use certificate", 2, OfflinePolicy.ONLINE_ONLY),
        item("evaluation", "服务评价", "Service evaluation", 1, OfflinePolicy.STORE_AND_FORWARD),
        item("payoff_certificate", "贷款结清证明", "Loan payoff certificate", 3, OfflinePolicy.ONLINE_ONLY),
        item("transfer_in", "转移接续", "Account transfer-in", 2, OfflinePolicy.ONLINE_ONLY, enabled=False),
    ])


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("HPF_KIOSK__SESSION__IDLE_TIMEOUT_S", "90")
    monkeypatch.setenv("HPF_KIOSK__SESSION__WARNING_S", "30")
    return load_settings(profile="demo")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sims():
    return Devices(idcard=SimIdCard(), camera=SimCamera(frame_interval_s=0.005), cardreader=SimCardReader(),
                   printer=SimPrinter())


@pytest.fixture
def center():
    return StandInCenter()


@pytest.fixture
def terminal(settings, sims, center, clock):
    tasks = Tasks()
    t = Terminal(settings, sims, center, tasks, voice=MuteVoice(), clock=clock, catalog=demo_catalog())
    t.set_network(True, 0)
    yield t
    t.close()


def tile(terminal, code):
    return next(t for t in terminal.tiles() if t.code == code)


@pytest.fixture
def start_item(terminal):
    """Start a session for a catalog item and its identification flow."""
    def start(code):
        terminal.start_session(tile(terminal, code))
        return terminal.identify()
    return start


@pytest.fixture
def shell(qtbot, terminal):
    """The kiosk window (windowed, not kiosk mode) on the offscreen platform, wired to the terminal."""
    from screens.app import create_shell
    app, sh, _ = create_shell(terminal, kiosk_mode=False)
    qtbot.addWidget(sh)
    sh.show()
    qtbot.waitExposed(sh)
    yield sh
    sh.allow_close = True
    sh.shutdown()
    sh.hide()
    sh.deleteLater()
    app.processEvents()


def texts_on_screen(widget) -> list[str]:
    """Every text a person could read in the widget tree: labels, line edits, buttons."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit
    out = []
    for w in widget.findChildren(QLabel):
        out.append(w.text())
    for w in widget.findChildren(QLineEdit):
        out.append(w.text())
    for w in widget.findChildren(QAbstractButton):
        out.append(w.text())
    return out


def clipped_texts(widget) -> list[str]:
    """Visible texts that do not fit their widget (cut off or overlapping their neighbours)."""
    from PySide6.QtWidgets import QLabel, QPushButton
    bad = []
    for w in widget.findChildren(QLabel):
        if not w.isVisible() or not w.text() or w.pixmap() and not w.pixmap().isNull():
            continue
        r = w.contentsRect()
        if w.wordWrap():
            need = w.heightForWidth(r.width())
            if need > r.height() + 2:
                bad.append(f"{w.text()!r}: needs {need}px height, has {r.height()}")
        else:
            need = w.fontMetrics().horizontalAdvance(w.text())
            if need > r.width() + 2:
                bad.append(f"{w.text()!r}: needs {need}px width, has {r.width()}")
    for b in widget.findChildren(QPushButton):
        if b.isVisible() and b.text():
            need = b.fontMetrics().horizontalAdvance(b.text())
            if need > b.width() - 4:
                bad.append(f"button {b.text()!r}: needs {need}px, has {b.width()}")
    return bad


class StaffClock:
    """A settable clock for staff pages (hidden-entry hold time, idle lock): `clock.advance(s)`."""

    def __init__(self, t: float = 1_900_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def audit_rows(audit, n: int = 2000) -> list[tuple]:
    """The audit log's last n records as (actor, action, target, result)."""
    return [(r.actor, r.action, r.target, r.result) for r in audit.tail(n)]


@pytest.fixture
def staff_for(shell):
    """install_staff on the test's shell (the module's `shell` fixture); closed, and technician mode locked before
    its audit log closes, at the end of the test."""
    made = []

    def make(**kw):
        from screens.staff import install_staff
        s = install_staff(shell, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()
        if s.tech is not None and s.tech.unlocked:
            s.tech.lock()
