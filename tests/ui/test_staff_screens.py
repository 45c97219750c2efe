"""Staff on screen (technician mode: tests/ui/test_technician_screens.py): a bank teller signs in with the keyboard
against the real center (and is locked out there after wrong passwords), is signed out when idle, has a
supervisor authorize one action and produces the end-of-day PDF. Each leaves its audit record."""
from __future__ import annotations

import itertools
import os
import subprocess

import pytest
from PySide6.QtCore import Qt

from center.testing import center_from_template, seeded_template
from tests.ui.conftest import ARTIFACTS, StaffClock, audit_rows, clipped_texts

pytestmark = pytest.mark.ui
LEFT = Qt.MouseButton.LeftButton
TELLER = ("T0001", "teller-pass-1")
SUPERVISOR = ("S0001", "super-pass-1")
_serial = itertools.count(1)


def shot(shell, name: str) -> None:
    from PySide6.QtTest import QTest
    QTest.qWait(30)                                     # let layouts settle after the last text change
    out = ARTIFACTS / "staff"
    out.mkdir(parents=True, exist_ok=True)
    assert shell.grab().save(str(out / f"{name}.png"))


# --- teller ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def center_template(tmp_path_factory):
    return seeded_template(tmp_path_factory.mktemp("ui-center-template"))


@pytest.fixture
def real_center(center_template, tmp_path):
    c = center_from_template(center_template, tmp_path / "center")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def counter(real_center, tmp_path):
    """A bank-teller terminal enrolled with the real center: its TellerMode, journal and audit log."""
    from config import load_settings
    from kiosk.audit import AuditLog
    from kiosk.staff.center import StaffCenterClient
    from kiosk.staff.teller import TellerMode
    from sync.client import TerminalCredentials, credentials_file
    from sync.journal import Journal
    tid = f"QZUI{os.getpid() % 1000:03d}-{next(_serial):04d}"
    env = {"HPF_KIOSK__PATHS__DATA_DIR": str(tmp_path / "teller-data"),
           "HPF_KIOSK__PATHS__LOG_DIR": str(tmp_path / "teller-log"), "HPF_KIOSK__TERMINAL__ID": tid,
           "HPF_KIOSK__CENTER__URL": real_center.url, "HPF_KIOSK__CENTER__CONNECT_TIMEOUT_S": "2"}
    settings = load_settings(profile="bank-teller", env=env)
    creds = TerminalCredentials(tid, real_center.enroll(tid, channel="bank_counter"))
    creds.save(credentials_file(settings))
    client = StaffCenterClient(real_center.url, creds, connect_timeout_s=2, read_timeout_s=10)
    audit = AuditLog.open(settings)
    journal = Journal.open(settings, audit=audit.sink("journal"))
    clock = StaffClock()
    mode = TellerMode(settings, client, journal, audit, clock=clock)
    yield mode, audit, clock
    client.close()
    journal.close()
    audit.close()


def sign_in(qtbot, shell, page, teller_id: str, password: str) -> None:
    shell.activateWindow()
    page.teller_id.setFocus()
    qtbot.keyClicks(page.teller_id, teller_id)
    qtbot.keyClick(page.teller_id, Qt.Key.Key_Return)               # Enter moves on to the password
    assert page.password.hasFocus() or shell.app.focusWidget() in (None, page.password)
    qtbot.keyClicks(page.password, password)
    qtbot.keyClick(page.password, Qt.Key.Key_Return)                # Enter signs in


def test_teller_signs_in_with_the_keyboard_is_locked_out_and_signed_out_when_idle(qtbot, shell, counter, staff_for):
    mode, audit, clock = counter
    staff = staff_for(teller=mode)
    tel = staff.teller
    page = tel.sign_in_page
    assert shell.stack.currentWidget() is page
    shot(shell, "teller-sign-in")
    assert not clipped_texts(shell), clipped_texts(shell)

    sign_in(qtbot, shell, page, *TELLER)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=10000)
    assert "T0001" in tel.header_label.text() and "QZ-B001" in tel.header_label.text()
    assert tel.header_label.isVisible() and "QZ-B001" in tel.page.who.text()
    shot(shell, "teller-workbench")
    assert not clipped_texts(shell), clipped_texts(shell)
    qtbot.mouseClick(shell.home_btn, LEFT)                           # no resident home on a teller terminal
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=5000)

    clock.advance(mode.settings.session.idle_timeout_s + 1)         # nobody touches the counter
    tel.check_idle()
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is page, timeout=10000)
    assert "TELLER_IDLE_SIGNED_OUT" in page.message.text() and not tel.header_label.isVisible()

    page.teller_id.clear()
    for _ in range(5):
        sign_in(qtbot, shell, page, "T0001", "wrong")
        qtbot.waitUntil(lambda: not page.busy and "TELLER_" in page.message.text(), timeout=10000)
        page.teller_id.clear()
    sign_in(qtbot, shell, page, *TELLER)                             # the right password, too late
    qtbot.waitUntil(lambda: "TELLER_LOCKED" in page.message.text(), timeout=10000)
    assert "锁定" in page.message.text() and shell.stack.currentWidget() is page
    shot(shell, "teller-locked")
    acts = [(a, act, r) for a, act, _t, r in audit_rows(audit)]
    assert ("teller:T0001", "teller.sign_in", "ok") in acts
    assert any(act == "teller.sign_out" for _a, act, _r in acts)
    results = [r for _a, act, r in acts if act == "teller.sign_in"]
    assert results.count("refused:TELLER_LOGIN_FAILED") == 5 and results[-1] == "refused:TELLER_LOCKED"


def test_supervisor_authorizes_one_action_and_the_end_of_day_report_is_produced(qtbot, shell, counter, staff_for,
                                                                                tmp_path):
    mode, audit, _clock = counter
    staff = staff_for(teller=mode, teller_reports_dir=tmp_path / "reports")
    tel = staff.teller
    sign_in(qtbot, shell, tel.sign_in_page, *TELLER)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.page, timeout=10000)
    page = tel.page

    shell.activateWindow()
    qtbot.waitUntil(lambda: shell.isActiveWindow(), timeout=5000)
    qtbot.keyClick(shell, Qt.Key.Key_F2)                             # keyboard first
    assert page.auth_panel.isVisible() and page.auth_amount.hasFocus()
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_Escape)
    assert not page.auth_panel.isVisible()
    qtbot.keyClick(shell, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert page.auth_panel.isVisible()
    page.auth_amount.setText("60000.00")
    page.sup_id.setText("S0001")
    page.sup_password.setText("wrong")
    qtbot.keyClick(page.sup_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "TELLER_LOGIN_FAILED" in page.auth_message.text(), timeout=10000)
    page.sup_password.setText(SUPERVISOR[1])
    qtbot.keyClick(page.sup_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.approval is not None, timeout=10000)
    assert page.approval.supervisor_id == "S0001" and page.approval.amount_fen == 6_000_000
    assert "S0001" in page.message.text() and "已授权" in page.message.text() and not page.auth_panel.isVisible()
    out = mode.submit("withdrawal", {"id_number": "330802198503151230", "reason": "07", "amount_fen": 6_000_000,
                                     "evidence": {"monthly_rent_fen": 200_000, "rent_months": 3}},
                      amount_fen=6_000_000, person_key="330802198503151230", approval=page.approval)
    assert out.supervisor_id == "S0001"

    qtbot.keyClick(shell, Qt.Key.Key_F9)
    assert page.eod_panel.isVisible() and page.eod_date.hasFocus()
    shot(shell, "teller-end-of-day-form")
    qtbot.keyClick(page.eod_date, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "报表已生成" in page.eod_result.text(), timeout=20000)
    path = page.last_report
    assert path in page.eod_result.text() and path.endswith(".pdf")
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout
    assert "日终报表" in text and "T0001" in text and "330802198503151230" not in text
    shot(shell, "teller-end-of-day")
    assert not clipped_texts(shell), clipped_texts(shell)

    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is tel.sign_in_page, timeout=10000)
    acts = [(a, act, r) for a, act, _t, r in audit_rows(audit)]
    assert ("supervisor:S0001", "supervisor.authorize", "refused:TELLER_LOGIN_FAILED") in acts
    assert ("supervisor:S0001", "supervisor.authorize", "ok") in acts
    assert any(act == "teller.end_of_day" for _a, act, _r in acts)
    assert ("teller:T0001", "teller.sign_out", "ok") in acts
