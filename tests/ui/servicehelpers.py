"""Shared fixtures and helpers for tests that drive resident service items through the real screens: the real
embedded reference center (signed HTTP over loopback), the simulated devices behind the real adapters, the real
ESC/POS printer class on the simulated printer.

Use in a test module:

    from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
    from tests.ui.servicehelpers import ZHANG, click, choose, grab, identify_as, open_tile, settle

`kiosk` is module-scoped (one embedded center per module); `shell` is a fresh Shell per test. grab() saves the
screen in normal and care mode to tests/artifacts/screens/services-*/NAME.png and fails on clipped text."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from config import load_settings
from kiosk.app import build_app
from kiosk.flows.ports import IdentityDocument
from tests.ui.conftest import ARTIFACTS, clipped_texts, texts_on_screen  # noqa: F401  (re-exported)

LEFT = Qt.MouseButton.LeftButton
WAIT = 30000
# Demo persons of the reference center (center/README.md)
ZHANG = IdentityDocument(name="张建国", id_number="330802198503151230")   # normal, no loan: rent withdrawal
LI = IdentityDocument(name="李秀英", id_number="330802197807201247")      # HPF loan being repaid: prepayment
WANG = IdentityDocument(name="王强", id_number="330802197011021259")     # loan paid off: payoff certificate
ZHAO = IdentityDocument(name="赵敏", id_number="330802198805091261")     # loan overdue: withdrawal/prepay refused
CHEN = IdentityDocument(name="陈伟", id_number="330802199201301277")     # account sealed 8 months
LIU = IdentityDocument(name="刘芳", id_number="330802198309121281")      # account frozen: withdrawals refused
SUN = IdentityDocument(name="孙国庆", id_number="33080219601001129X")    # retired: withdrawal closes the account
ZHOU = IdentityDocument(name="周婷", id_number="330802199506181309")     # no account: flexible-employment opening
WU = IdentityDocument(name="吴磊", id_number="330802199002141311")       # transfer-in in progress
ZHENG = IdentityDocument(name="郑浩", id_number="330802199311111335")    # sandbox face check always fails


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("kiosk-services")
    mp.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp / "data"))
    mp.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp / "log"))
    app = build_app(load_settings(profile="demo"), start_sync=False, services=True)
    assert app.services is not None, app.notes
    assert app.sync_worker.refresh_catalog()
    from sync.downward import CatalogCache
    app.terminal.set_catalog(CatalogCache.for_settings(app.terminal.settings).load().catalog)
    app.terminal.set_network(True, 0)
    yield app
    app.terminal.close()
    mp.undo()


@pytest.fixture
def shell(qtbot, kiosk):
    from screens.app import create_shell
    t = kiosk.terminal
    t.set_care_mode(False)
    t.set_language("zh_CN")
    qapp, sh, _ = create_shell(t, kiosk_mode=False)
    qtbot.addWidget(sh)
    sh.show()
    qtbot.waitExposed(sh)
    yield sh
    if t.session:
        t.end_session("canceled")
    online(kiosk)
    for role in ("idcard", "cardreader"):
        sim = getattr(t.devices, role).simulator
        (sim.lift if role == "idcard" else sim.remove)()
    t.devices.printer.simulator.take() if hasattr(t.devices.printer.simulator, "take") else None
    sh.allow_close = True
    sh.shutdown()
    sh.hide()
    sh.deleteLater()
    qapp.processEvents()


def online(kiosk, on: bool = True) -> None:
    kiosk.switch.online = on
    kiosk.terminal.set_network(on, kiosk.terminal.queued)


def grab(qtbot, shell, name: str) -> None:
    """Save the screen in normal and care mode; no text may be clipped in either."""
    t = shell.terminal
    was = t.care_mode
    for care in (False, True):
        t.set_care_mode(care)
        qtbot.wait(40)
        out = ARTIFACTS / f"services-{'care' if care else 'normal'}-{t.language}"
        out.mkdir(parents=True, exist_ok=True)
        assert shell.grab().save(str(out / f"{name}.png"))
        assert not clipped_texts(shell), f"{name} care={care}: {clipped_texts(shell)}"
        size = shell.size()
        assert size.height() <= t.settings.ui.screen_height and size.width() <= t.settings.ui.screen_width
    t.set_care_mode(was)
    qtbot.wait(20)


def find(shell, name: str) -> QPushButton:
    QApplication.processEvents()                          # new widgets show at the next turn of the loop
    b = shell.service.findChild(QPushButton, name)
    assert b is not None and b.isVisible(), f"no visible button {name}"
    return b


def click(qtbot, shell, name: str) -> None:
    qtbot.mouseClick(find(shell, name), LEFT)


def choose(qtbot, shell, name: str) -> None:
    """Tap a choice, turning the choice pages (更多选项) until it shows."""
    for _ in range(5):
        QApplication.processEvents()
        b = shell.service.findChild(QPushButton, name)
        if b is not None and b.isVisible():
            return qtbot.mouseClick(b, LEFT)
        click(qtbot, shell, "more_choices")
    raise AssertionError(f"choice {name} never shown")


def settle(qtbot, flow, *states) -> None:
    qtbot.waitUntil(lambda: not flow.busy and (flow.state in states or flow.finished), timeout=WAIT)
    assert flow.state in states, (flow.state, flow.message)


def open_tile(qtbot, shell, code: str):
    tile = shell.home.show_tile(code)
    assert tile is not None, [t.code for t in shell.terminal.tiles()]
    qtbot.mouseClick(tile, LEFT)


def identify_as(qtbot, shell, person: IdentityDocument, card: bool = False):
    """Place the person's ID card (and their own bank card for L3 money items); wait for the service page."""
    t = shell.terminal
    t.devices.idcard.simulator.place(person)
    if card:
        t.devices.cardreader.simulator.insert(holder=person)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.service, timeout=WAIT)
    return shell.service.flow


def grab_both(qtbot, shell, name: str) -> None:
    """grab() with the same checks and files, cheaper: the mode on screen first, then the other, then back (two
    application-wide restyles instead of three) and faster PNG compression (quality 80 = zlib level ~2)."""
    t = shell.terminal
    was = t.care_mode
    for care in (was, not was):
        if care != t.care_mode:
            t.set_care_mode(care)
        qtbot.wait(40)
        out = ARTIFACTS / f"services-{'care' if care else 'normal'}-{t.language}"
        out.mkdir(parents=True, exist_ok=True)
        assert shell.grab().save(str(out / f"{name}.png"), "PNG", 80)
        assert not clipped_texts(shell), f"{name} care={care}: {clipped_texts(shell)}"
        size = shell.size()
        assert size.height() <= t.settings.ui.screen_height and size.width() <= t.settings.ui.screen_width
    t.set_care_mode(was)
    qtbot.wait(20)
