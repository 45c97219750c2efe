"""Staff on screen: a field technician holds the top-left corner for 3 s, types the PIN on the keypad (wrong
PINs lock, and the lock says how long), runs a device self-test, edits the configuration (a bad value refused
with the loader's reason and nothing saved, a good one saved); a bank teller signs in with the keyboard
against the real center (and is locked out there after wrong passwords), is signed out when idle, has a
supervisor authorize one action and produces the end-of-day PDF. Each leaves its audit record."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import ARTIFACTS, clipped_texts

pytestmark = pytest.mark.ui
LEFT = Qt.MouseButton.LeftButton
PIN = "246810"
TELLER = ("T0001", "teller-pass-1")
SUPERVISOR = ("S0001", "super-pass-1")
_serial = itertools.count(1)


class Clock:
    def __init__(self, t: float = 1_900_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture(scope="module")
def pin_hash():
    from kiosk.staff.pin import hash_pin
    return hash_pin(PIN)


@pytest.fixture
def tech_site(tmp_path, pin_hash):
    """A terminal on site whose settings come from a TOML file with a technician PIN (what the technician edits)."""
    from config import load_settings
    from kiosk.audit import AuditLog
    from kiosk.staff.technician import TechnicianMode
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'''profile = "demo"
[terminal]
id = "TECHUI{os.getpid() % 1000:03d}-{next(_serial):04d}"
[center]
url = "http://127.0.0.1:9"
connect_timeout_s = 1.0
[paths]
data_dir = "{tmp_path / 'site-data'}"
log_dir = "{tmp_path / 'site-log'}"
[security]
technician_pin_hash = "{pin_hash}"
max_pin_attempts = 3
lockout_s = 600
''', encoding="utf-8")
    settings = load_settings(file=cfg, env={})
    audit = AuditLog.open(settings)
    clock = Clock()
    tech = TechnicianMode(settings, audit, config_file=cfg, clock=clock)
    yield tech, cfg, audit, clock
    audit.close()


def actions(audit) -> list[tuple]:
    return [(r.actor, r.action, r.target, r.result) for r in audit.tail(1000)]


def shot(shell, name: str) -> None:
    from PySide6.QtTest import QTest
    QTest.qWait(30)                                     # let layouts settle after the last text change
    out = ARTIFACTS / "staff"
    out.mkdir(parents=True, exist_ok=True)
    assert shell.grab().save(str(out / f"{name}.png"))


@pytest.fixture
def staff_for(shell):
    made = []

    def make(**kw):
        from screens.staff import install_staff
        s = install_staff(shell, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()
        if s.tech is not None:
            s.tech.lock()                               # before its audit log closes


def hold_corner(qtbot, shell, entry_clock, seconds: float, where=QPoint(10, 10)):
    target = shell.childAt(where) or shell
    local = target.mapFrom(shell, where)
    qtbot.mousePress(target, LEFT, pos=local)
    entry_clock.advance(seconds)
    qtbot.wait(250)                                     # the entry's 100 ms poll runs
    qtbot.mouseRelease(target, LEFT, pos=local)


def test_technician_enters_by_long_press_and_is_locked_out_after_wrong_pins(qtbot, shell, tech_site, staff_for):
    tech, _cfg, audit, clock = tech_site
    entry_clock = Clock(100.0)
    staff = staff_for(technician=tech, clock=entry_clock)
    hold_corner(qtbot, shell, entry_clock, 1.0)                  # a tap: nothing
    assert shell.stack.currentWidget() is shell.home
    hold_corner(qtbot, shell, entry_clock, 2.0, where=QPoint(600, 400))    # held, but mid-screen
    assert shell.stack.currentWidget() is shell.home
    hold_corner(qtbot, shell, entry_clock, 3.1)
    assert shell.stack.currentWidget() is staff.pin_page
    shot(shell, "technician-pin")
    assert not clipped_texts(shell), clipped_texts(shell)

    page = staff.pin_page
    for left in (2, 1):
        page.enter("000000")
        assert page.display.text() == "●" * 6
        qtbot.mouseClick(page.ok_btn, LEFT)
        qtbot.waitUntil(lambda: f"还可尝试{left}次" in page.message.text(), timeout=10000)
        assert "PIN_WRONG" in page.message.text() and page.display.text() == ""
    page.enter("000000")
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: "PIN_LOCKED" in page.message.text(), timeout=10000)
    assert "剩余锁定时间：10分00秒" in page.message.text()
    clock.advance(125)
    page.enter(PIN)                                              # the right PIN does not help while locked
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: "剩余锁定时间：7分55秒" in page.message.text(), timeout=10000)
    assert "请8分钟后再试" in page.message.text()
    shot(shell, "technician-pin-locked")
    assert shell.stack.currentWidget() is page and not tech.unlocked
    results = [r for _a, act, _t, r in actions(audit) if act == "technician.unlock"]
    assert results == ["refused:PIN_WRONG", "refused:PIN_WRONG", "refused:PIN_LOCKED", "refused:PIN_LOCKED"]

    clock.advance(600)
    page.enter(PIN)
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is staff.tech_page, timeout=10000)
    assert tech.unlocked
    qtbot.mouseClick(staff.tech_page.findChild(type(page.ok_btn), "tech_exit"), LEFT)
    assert shell.stack.currentWidget() is shell.home
    qtbot.waitUntil(lambda: not tech.unlocked, timeout=10000)      # leaving locks technician mode again
    assert ("technician", "technician.lock", "", "ok") in actions(audit)


def unlocked(qtbot, shell, tech, staff):
    staff.open_pin()
    staff.pin_page.enter(PIN)
    qtbot.mouseClick(staff.pin_page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is staff.tech_page, timeout=10000)
    qtbot.waitUntil(lambda: not staff.tech_page.busy, timeout=15000)


def test_a_device_self_test_from_the_technician_page(qtbot, shell, tech_site, staff_for):
    tech, _cfg, audit, _clock = tech_site
    staff = staff_for(technician=tech)
    unlocked(qtbot, shell, tech, staff)
    devices = staff.tech_page.sections["devices"]
    qtbot.waitUntil(lambda: "已刷新" in devices.message.text(), timeout=15000)
    btn = staff.tech_page.findChild(type(staff.pin_page.ok_btn), "selftest_btn_idcard")
    qtbot.mouseClick(btn, LEFT)
    result = devices.rows["idcard"]["result"]
    qtbot.waitUntil(lambda: "success" in result.text(), timeout=20000)
    assert result.text().startswith("通过：success")
    assert "sim" in devices.rows["idcard"]["status"].text()
    shot(shell, "technician-devices")
    assert not clipped_texts(shell), clipped_texts(shell)
    rec = [(t, r) for _a, act, t, r in actions(audit) if act == "technician.selftest"]
    assert rec and "idcard=ok" in rec[-1][0]


def test_a_bad_config_value_is_refused_on_screen_and_a_good_one_applied(qtbot, shell, tech_site, staff_for):
    from config import load_settings
    tech, cfg, audit, _clock = tech_site
    staff = staff_for(technician=tech)
    unlocked(qtbot, shell, tech, staff)
    qtbot.mouseClick(staff.tech_page.nav_buttons["config"], LEFT)
    sec = staff.tech_page.sections["config"]
    qtbot.waitUntil(lambda: "session.idle_timeout_s = 90" in sec.view_text.text(), timeout=10000)
    assert "scrypt$" not in sec.view_text.text()                 # the PIN hash is masked
    before = cfg.read_bytes()

    sec.key_edit.setText("session.idle_timeout_s")
    sec.value_edit.setText("5")
    qtbot.mouseClick(staff.tech_page.findChild(type(staff.pin_page.ok_btn), "config_save"), LEFT)
    qtbot.waitUntil(lambda: "CONFIG_INVALID" in sec.message.text(), timeout=10000)
    assert "20" in sec.message.text() and "\n" not in sec.message.text()
    assert cfg.read_bytes() == before and not cfg.with_name("kiosk.toml.prev").exists()
    shot(shell, "technician-config-refused")
    assert not clipped_texts(shell), clipped_texts(shell)

    sec.value_edit.setText("120")
    qtbot.mouseClick(staff.tech_page.findChild(type(staff.pin_page.ok_btn), "config_save"), LEFT)
    qtbot.waitUntil(lambda: "已保存" in sec.message.text(), timeout=10000)
    qtbot.waitUntil(lambda: "session.idle_timeout_s = 120" in sec.view_text.text(), timeout=10000)
    assert load_settings(file=cfg, env={}).session.idle_timeout_s == 120

    qtbot.mouseClick(staff.tech_page.findChild(type(staff.pin_page.ok_btn), "config_rollback"), LEFT)
    qtbot.waitUntil(lambda: "已回退" in sec.message.text(), timeout=10000)
    assert cfg.read_bytes() == before
    acts = [(act, t, r) for _a, act, t, r in actions(audit)]
    assert ("technician.config_set", "session.idle_timeout_s", "refused:CONFIG_INVALID") in acts
    assert ("technician.config_set", "session.idle_timeout_s", "ok") in acts
    assert any(a == "technician.config_rollback" for a, _t, _r in acts)


# --- teller ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def center_template(tmp_path_factory):
    from center.embedded import start_center
    d = tmp_path_factory.mktemp("ui-center-template")
    start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, persons=5).stop()
    return d


@pytest.fixture
def real_center(center_template, tmp_path):
    from center.embedded import start_center
    d = tmp_path / "center"
    d.mkdir()
    for f in center_template.iterdir():
        if f.is_file():
            shutil.copy(f, d / f.name)
    c = start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, seed=False)
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
    clock = Clock()
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
    acts = [(a, act, r) for a, act, _t, r in actions(audit)]
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
    acts = [(a, act, r) for a, act, _t, r in actions(audit)]
    assert ("supervisor:S0001", "supervisor.authorize", "refused:TELLER_LOGIN_FAILED") in acts
    assert ("supervisor:S0001", "supervisor.authorize", "ok") in acts
    assert any(act == "teller.end_of_day" for _a, act, _r in acts)
    assert ("teller:T0001", "teller.sign_out", "ok") in acts


def test_technician_enrolls_with_the_code_pad_checks_the_network_and_the_queue_and_exports_logs(
        qtbot, shell, tech_site, staff_for, real_center, tmp_path):
    import json

    from config import load_settings
    from kiosk.staff.technician import TechnicianMode
    from sync.journal import Journal
    tech, cfg, audit, clock = tech_site
    tech.unlocked = True
    tech.config_set("center.url", json.dumps(real_center.url))
    tech.lock()
    settings = load_settings(file=cfg, env={})                     # the terminal restarted with the new center
    tech = TechnicianMode(settings, audit, config_file=cfg, clock=clock)
    settings.paths.log_dir.mkdir(parents=True, exist_ok=True)
    (settings.paths.log_dir / "hpf-kiosk.jsonl").write_text('{"msg": "id 330802198503151230 read"}\n')
    usb = tmp_path / "usb"
    usb.mkdir()
    with Journal.open(settings) as journal:
        queued = journal.create("evaluation", {"score": 5}, offline=True)
        staff = staff_for(technician=tech, journal=journal, export_dir=str(usb))
        unlocked(qtbot, shell, tech, staff)
        page = staff.tech_page
        btn = lambda name: page.findChild(type(staff.pin_page.ok_btn), name)

        def click(widget):                               # one staff call at a time: wait for the last one
            qtbot.waitUntil(lambda: not page.busy, timeout=15000)
            qtbot.mouseClick(widget, LEFT)

        click(page.nav_buttons["enroll"])
        sec = page.sections["enroll"]
        sec.pad.type_code(real_center.enroll_code(settings.terminal.id))
        assert sec.code_label.text().count("-") == 2
        shot(shell, "technician-enroll")
        assert not clipped_texts(shell), clipped_texts(shell)
        click(btn("enroll_btn"))
        qtbot.waitUntil(lambda: "登记成功" in sec.message.text(), timeout=15000)

        click(page.nav_buttons["network"])
        click(btn("netcheck_btn"))
        net = page.sections["network"]
        qtbot.waitUntil(lambda: "网络" in net.message.text(), timeout=15000)
        assert net.message.text().startswith("网络正常"), net.message.text()

        click(page.nav_buttons["queue"])
        q = page.sections["queue"]
        qtbot.waitUntil(lambda: "待上传：1 笔" in q.summary.text(), timeout=10000)
        assert queued.client_id in q.summary.text()
        click(btn("queue_retry_oldest"))
        qtbot.waitUntil(lambda: "已安排立即重试" in q.message.text(), timeout=10000)

        click(page.nav_buttons["logs"])
        click(btn("export_btn"))
        logs = page.sections["logs"]
        qtbot.waitUntil(lambda: "已导出" in logs.message.text(), timeout=10000)
        exported = "".join(p.read_text() for p in usb.rglob("*") if p.is_file())
        assert "330802198503151230" not in exported and "read" in exported

        click(page.nav_buttons["info"])
        info = page.sections["info"]
        qtbot.waitUntil(lambda: settings.terminal.id in info.text.text(), timeout=10000)
        assert "已登记：是" in info.text.text()
        shot(shell, "technician-info")
        qtbot.waitUntil(lambda: not page.busy, timeout=10000)
    acts = [(act, r) for _a, act, _t, r in actions(audit)]
    for a in ("technician.enroll", "technician.netcheck", "technician.queue_view", "technician.queue_retry",
              "technician.export_logs", "technician.info"):
        assert (a, "ok") in acts, a


def test_an_idle_technician_page_locks_and_returns_home(qtbot, shell, tech_site, staff_for):
    tech, _cfg, audit, _clock = tech_site
    entry_clock = Clock(100.0)
    staff = staff_for(technician=tech, clock=entry_clock)
    unlocked(qtbot, shell, tech, staff)
    entry_clock.advance(tech.settings.session.idle_timeout_s - 1)
    staff.tech_page.check_idle()
    assert shell.stack.currentWidget() is staff.tech_page and tech.unlocked
    entry_clock.advance(1)
    staff.tech_page.check_idle()
    assert shell.stack.currentWidget() is shell.home
    qtbot.waitUntil(lambda: not tech.unlocked, timeout=10000)
    assert ("technician", "technician.lock", "", "ok") in actions(audit)
