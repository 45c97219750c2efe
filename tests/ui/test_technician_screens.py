"""Technician mode on the real kiosk screen: the hidden corner entry and the PIN (wrong PINs lock, the lock says
how long), every device's self-test from its row, a test slip on the terminal's own receipt printer, an ID card and
a bank card read and shown masked, the camera preview with the face box and the quality figures (stopped when the
technician leaves), a configuration edit (a bad value refused, a good one applied, rolled back), enrollment with
the center's one-time code, the network check, the queue with a real needs-review item retried from the screen,
the masked log export, version and build info, the idle lock — each leaving its audit record. Then the center's
operator switches an item off, pushes an announcement and asks for the logs: on the terminal's next sync the home
screen hides the item, shows the announcement, uploads the masked logs and says so.

The terminal is the real kiosk (kiosk.app.build_app with the embedded reference center over signed loopback HTTP
and the simulated devices behind the real adapters: tests/ui/servicehelpers.py). Screenshots of every technician
section: tests/artifacts/screens/technician/."""
from __future__ import annotations

import itertools
import json
import os
import secrets

import pytest
import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton
from pydantic import SecretStr

from tests.ui.conftest import ARTIFACTS, StaffClock, audit_rows, clipped_texts, texts_on_screen
from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
from tests.ui.servicehelpers import ZHANG

pytestmark = pytest.mark.ui
LEFT = Qt.MouseButton.LeftButton
PIN = "246810"
WAIT = 20000
_serial = itertools.count(1)


@pytest.fixture(scope="module")
def pin_hash():
    from kiosk.staff.pin import hash_pin
    return hash_pin(PIN)


def shot(shell, name: str) -> None:
    """Save the screen to tests/artifacts/screens/technician/NAME.png; no text may be clipped."""
    from PySide6.QtTest import QTest
    QTest.qWait(60)                                     # let layouts settle after the last text change
    out = ARTIFACTS / "technician"
    out.mkdir(parents=True, exist_ok=True)
    assert shell.grab().save(str(out / f"{name}.png"))
    assert not clipped_texts(shell), (name, clipped_texts(shell))
    size, ui = shell.size(), shell.terminal.settings.ui
    assert size.height() <= ui.screen_height and size.width() <= ui.screen_width, (name, size)


@pytest.fixture
def on_site(kiosk, staff_for, pin_hash):
    """Technician mode in the running kiosk as screens.app.install_technician builds it: the terminal's settings
    (plus a technician PIN), the terminal's one audit log, the terminal's own devices."""
    from kiosk.staff.technician import TechnicianMode
    t = kiosk.terminal
    assert kiosk.audit_log is not None
    sec = t.settings.security.model_copy(update={"technician_pin_hash": SecretStr(pin_hash)})
    settings = t.settings.model_copy(update={"security": sec})
    tech = TechnicianMode(settings, kiosk.audit_log, devices=lambda: t.devices.raw)
    staff = staff_for(technician=tech)
    return tech, staff, kiosk.audit_log


@pytest.fixture
def tech_site(tmp_path, pin_hash):
    """A terminal on site whose settings come from a TOML file with a technician PIN (what the technician edits)."""
    from config import load_settings
    from kiosk.audit import AuditLog
    from kiosk.staff.technician import TechnicianMode
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'''profile = "demo"
[terminal]
id = "TECHSCR{os.getpid() % 1000:03d}-{next(_serial):04d}"
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
    clock = StaffClock()
    tech = TechnicianMode(settings, audit, config_file=cfg, clock=clock)
    yield tech, cfg, audit, clock
    audit.close()


def hold_corner(qtbot, shell, entry_clock, seconds: float, where=QPoint(10, 10)):
    target = shell.childAt(where) or shell
    local = target.mapFrom(shell, where)
    qtbot.mousePress(target, LEFT, pos=local)
    entry_clock.advance(seconds)
    qtbot.wait(250)                                     # the entry's 100 ms poll runs
    qtbot.mouseRelease(target, LEFT, pos=local)


def unlocked(qtbot, shell, staff):
    staff.open_pin()
    staff.pin_page.enter(PIN)
    qtbot.mouseClick(staff.pin_page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is staff.tech_page, timeout=WAIT)
    qtbot.waitUntil(lambda: not staff.tech_page.busy, timeout=WAIT)
    return staff.tech_page


def btn(page, name: str) -> QPushButton:
    b = page.findChild(QPushButton, name)
    assert b is not None and b.isVisible(), f"no visible button {name}"
    return b


def tap(qtbot, page, name: str) -> None:
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)          # one staff call at a time
    qtbot.mouseClick(btn(page, name), LEFT)


def section(qtbot, page, key: str):
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)
    qtbot.mouseClick(page.nav_buttons[key], LEFT)
    return page.sections[key]


# --- entry and PIN ----------------------------------------------------------------------------------------

def test_technician_enters_by_long_press_and_is_locked_out_after_wrong_pins(qtbot, shell, tech_site, staff_for):
    tech, _cfg, audit, clock = tech_site
    entry_clock = StaffClock(100.0)
    staff = staff_for(technician=tech, clock=entry_clock)
    hold_corner(qtbot, shell, entry_clock, 1.0)                  # a tap: nothing
    assert shell.stack.currentWidget() is shell.home
    title = shell.home.title                                     # held, but mid-screen (on the title, not a tile)
    hold_corner(qtbot, shell, entry_clock, 2.0, where=title.mapTo(shell, title.rect().center()))
    assert shell.stack.currentWidget() is shell.home
    hold_corner(qtbot, shell, entry_clock, 3.1)
    assert shell.stack.currentWidget() is staff.pin_page
    shot(shell, "01-pin")

    page = staff.pin_page
    for left in (2, 1):
        page.enter("000000")
        assert page.display.text() == "●" * 6
        qtbot.mouseClick(page.ok_btn, LEFT)
        qtbot.waitUntil(lambda: f"还可尝试{left}次" in page.message.text(), timeout=WAIT)
        assert "PIN_WRONG" in page.message.text() and page.display.text() == ""
    page.enter("000000")
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: "PIN_LOCKED" in page.message.text(), timeout=WAIT)
    assert "剩余锁定时间：10分00秒" in page.message.text()
    clock.advance(125)
    page.enter(PIN)                                              # the right PIN does not help while locked
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: "剩余锁定时间：7分55秒" in page.message.text(), timeout=WAIT)
    assert "请8分钟后再试" in page.message.text()
    shot(shell, "02-pin-locked")
    assert shell.stack.currentWidget() is page and not tech.unlocked
    results = [r for _a, act, _t, r in audit_rows(audit) if act == "technician.unlock"]
    assert results == ["refused:PIN_WRONG", "refused:PIN_WRONG", "refused:PIN_LOCKED", "refused:PIN_LOCKED"]

    clock.advance(600)
    page.enter(PIN)
    qtbot.mouseClick(page.ok_btn, LEFT)
    qtbot.waitUntil(lambda: shell.stack.currentWidget() is staff.tech_page, timeout=WAIT)
    assert tech.unlocked
    qtbot.waitUntil(lambda: not staff.tech_page.busy, timeout=WAIT)
    qtbot.mouseClick(btn(staff.tech_page, "tech_exit"), LEFT)
    assert shell.stack.currentWidget() is shell.home
    qtbot.waitUntil(lambda: not tech.unlocked, timeout=WAIT)      # leaving locks technician mode again
    assert ("technician", "technician.lock", "", "ok") in audit_rows(audit)


# --- devices of the running kiosk ------------------------------------------------------------------------

def test_every_device_runs_its_self_test_from_its_row(qtbot, shell, on_site):
    tech, staff, audit = on_site
    page = unlocked(qtbot, shell, staff)
    devices = page.sections["devices"]
    qtbot.waitUntil(lambda: "已刷新" in devices.message.text(), timeout=WAIT)
    roles = ("idcard", "cardreader", "camera", "receipt_printer", "a4_printer")
    for role in roles:
        tap(qtbot, page, f"selftest_btn_{role}")
        result = devices.rows[role]["result"]
        qtbot.waitUntil(lambda: result.text().startswith(("通过", "未通过")), timeout=WAIT)
        assert result.text().startswith("通过：success"), (role, result.text())
        assert devices.rows[role]["status"].text().endswith("在线（online）"), devices.rows[role]["status"].text()
    assert devices.rows["idcard"]["status"].text().startswith("sim｜")
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)
    shot(shell, "03-devices-selftest")
    recs = [(t, r) for _a, act, t, r in audit_rows(audit) if act == "technician.selftest"]
    for role in roles:
        assert (role, "ok") in recs, (role, recs)

    tap(qtbot, page, "selftest_all")                             # all at once: one record naming each
    qtbot.waitUntil(lambda: "全部设备自检通过" in devices.message.text(), timeout=WAIT)
    summary = [t for _a, act, t, _r in audit_rows(audit) if act == "technician.selftest"][-1]
    assert all(f"{role}=ok" in summary for role in roles), summary


def test_a_test_slip_prints_on_the_terminals_own_receipt_printer(qtbot, shell, kiosk, on_site):
    tech, staff, audit = on_site
    printer = kiosk.terminal.devices.raw["receipt_printer"]
    assert tech.terminal_device("receipt_printer") is printer    # not a second handle on the same port
    sim = printer.simulator
    before = len(sim.jobs)
    page = unlocked(qtbot, shell, staff)
    devices = page.sections["devices"]
    tap(qtbot, page, "test_print_btn")
    qtbot.waitUntil(lambda: "测试页已打印" in devices.message.text(), timeout=WAIT)
    assert len(sim.jobs) == before + 1                           # the terminal's printer got the job
    assert "打印测试凭条" in sim.jobs[-1].text and "打印测试凭条" in devices.output.text()
    assert kiosk.terminal.settings.terminal.id in devices.output.text()
    shot(shell, "04-devices-test-print")
    sim.take_receipt()
    assert ("technician", "technician.test_print", "receipt_printer", "ok") in audit_rows(audit)


def test_an_id_card_and_a_bank_card_are_read_and_shown_masked(qtbot, shell, kiosk, on_site):
    tech, staff, audit = on_site
    t = kiosk.terminal
    page = unlocked(qtbot, shell, staff)
    devices = page.sections["devices"]

    tap(qtbot, page, "read_idcard_btn")
    qtbot.waitUntil(lambda: "请在阅读器上放置身份证" in devices.message.text(), timeout=WAIT)
    t.devices.idcard.simulator.place(ZHANG)
    qtbot.waitUntil(lambda: "身份证读取成功" in devices.message.text(), timeout=WAIT)
    t.devices.idcard.simulator.lift()
    shown = " ".join(texts_on_screen(page))
    assert "330802********1230" in shown and "张**" in shown
    assert ZHANG.id_number not in shown and ZHANG.name not in shown
    shot(shell, "05-devices-read-idcard")

    tap(qtbot, page, "read_cardreader_btn")
    qtbot.waitUntil(lambda: "请插入银行卡" in devices.message.text(), timeout=WAIT)
    t.devices.cardreader.simulator.insert(holder=ZHANG)
    qtbot.waitUntil(lambda: "银行卡读取成功" in devices.message.text(), timeout=WAIT)
    pan_shown = devices.output.text()
    t.devices.cardreader.simulator.remove()
    digits = "".join(ch for ch in pan_shown.split("\n")[0] if ch.isdigit())
    assert "*" in pan_shown and len(digits) <= 10, pan_shown     # first 6 + last 4 at most
    shot(shell, "06-devices-read-bankcard")

    tap(qtbot, page, "read_idcard_btn")                          # nobody places a card: the technician cancels
    qtbot.mouseClick(btn(page, "read_cancel"), LEFT)
    assert "已取消读卡" in devices.message.text() and not page.busy
    qtbot.waitUntil(lambda: [r for _a, act, tgt, r in audit_rows(audit)
                             if act == "technician.read_card" and tgt == "idcard"][-1].startswith("failed:"),
                    timeout=WAIT)                                # the canceled read is audited too
    acts = [(act, tgt, r) for _a, act, tgt, r in audit_rows(audit)]
    assert ("technician.read_card", "idcard", "ok") in acts and ("technician.read_card", "cardreader", "ok") in acts
    assert ZHANG.id_number not in str([r.details for r in audit.tail(50)])


def test_the_camera_preview_shows_the_face_box_and_quality_figures_and_stops_when_left(qtbot, shell, kiosk,
                                                                                          on_site):
    tech, staff, audit = on_site
    camera = kiosk.terminal.devices.raw["camera"]
    kiosk.terminal.devices.camera.simulator.show_face("good")
    page = unlocked(qtbot, shell, staff)
    cam = section(qtbot, page, "camera")
    qtbot.waitUntil(lambda: cam.view.painted >= 3 and cam.last is not None and cam.last["ok"], timeout=WAIT)
    assert cam.view.box is not None and cam.view.ok
    fig = cam.figures.text()
    for word in ("亮度：", "清晰度：", "人脸大小：", "判定：通过"):
        assert word in fig, fig
    shot(shell, "07-camera-preview-face")

    kiosk.terminal.devices.camera.simulator.show_face("none")
    qtbot.waitUntil(lambda: cam.last is not None and not cam.last["ok"], timeout=WAIT)
    qtbot.waitUntil(lambda: "判定：未通过" in cam.figures.text(), timeout=WAIT)
    assert cam.view.box is None and "FACE_NOT_FOUND" in cam.figures.text()
    shot(shell, "08-camera-preview-no-face")
    kiosk.terminal.devices.camera.simulator.show_face("good")

    section(qtbot, page, "devices")                              # leaving the camera page stops the preview
    assert cam.preview is None
    qtbot.waitUntil(lambda: ("technician", "technician.camera_preview", "camera", "ok") in audit_rows(audit),
                    timeout=WAIT)
    assert not camera._preview                                   # no preview listener left on the camera
    started = [r for _a, act, t, r in audit_rows(audit) if act == "technician.camera_preview"]
    assert "started" in started


def test_in_the_running_kiosk_the_queue_is_the_terminals_own_journal(qtbot, shell, kiosk, on_site):
    tech, staff, audit = on_site
    page = unlocked(qtbot, shell, staff)
    assert page.journal is None and page.the_journal() is kiosk.services.desk.journal
    q = section(qtbot, page, "queue")
    qtbot.waitUntil(lambda: "待上传：" in q.summary.text(), timeout=WAIT)
    assert "没有本地队列" not in q.message.text()
    shot(shell, "19-queue-running-kiosk")


# --- configuration, enrollment, network, queue, logs, info ------------------------------------------------

def test_a_bad_config_value_is_refused_on_screen_and_a_good_one_applied(qtbot, shell, tech_site, staff_for):
    from config import load_settings
    tech, cfg, audit, _clock = tech_site
    staff = staff_for(technician=tech)
    page = unlocked(qtbot, shell, staff)
    sec = section(qtbot, page, "config")
    qtbot.waitUntil(lambda: "session.idle_timeout_s = 90" in sec.view_text.text(), timeout=WAIT)
    assert "scrypt$" not in sec.view_text.text()                 # the PIN hash is masked
    before = cfg.read_bytes()

    sec.key_edit.setText("session.idle_timeout_s")
    sec.value_edit.setText("5")
    tap(qtbot, page, "config_save")
    qtbot.waitUntil(lambda: "CONFIG_INVALID" in sec.message.text(), timeout=WAIT)
    assert "20" in sec.message.text() and "\n" not in sec.message.text()
    assert cfg.read_bytes() == before and not cfg.with_name("kiosk.toml.prev").exists()
    shot(shell, "09-config-refused")

    sec.value_edit.setText("120")
    tap(qtbot, page, "config_save")
    qtbot.waitUntil(lambda: "已保存" in sec.message.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: "session.idle_timeout_s = 120" in sec.view_text.text(), timeout=WAIT)
    assert load_settings(file=cfg, env={}).session.idle_timeout_s == 120
    shot(shell, "10-config-applied")

    tap(qtbot, page, "config_rollback")
    qtbot.waitUntil(lambda: "已回退" in sec.message.text(), timeout=WAIT)
    assert cfg.read_bytes() == before
    acts = [(act, t, r) for _a, act, t, r in audit_rows(audit)]
    assert ("technician.config_set", "session.idle_timeout_s", "refused:CONFIG_INVALID") in acts
    assert ("technician.config_set", "session.idle_timeout_s", "ok") in acts
    assert any(a == "technician.config_rollback" for a, _t, _r in acts)


def test_enrollment_network_check_queue_retry_log_export_and_version(qtbot, shell, kiosk, tech_site, staff_for,
                                                                     tmp_path):
    from config import load_settings
    from kiosk.staff.technician import TechnicianMode
    from sync.journal import Journal, State
    from sync.protocol import ItemOutcome, ItemResult
    center = kiosk.embedded_center
    tech, cfg, audit, clock = tech_site
    tech.unlocked = True
    tech.config_set("center.url", json.dumps(center.url))
    tech.lock()
    settings = load_settings(file=cfg, env={})                     # the terminal restarted with the new center
    tech = TechnicianMode(settings, audit, config_file=cfg, clock=clock)
    settings.paths.log_dir.mkdir(parents=True, exist_ok=True)
    (settings.paths.log_dir / "hpf-kiosk.jsonl").write_text('{"msg": "id 330802198503151230 read"}\n')
    usb = tmp_path / "usb"
    usb.mkdir()
    with Journal.open(settings) as journal:
        queued = journal.create("evaluation", {"score": 5}, offline=True)
        review = journal.create("withdrawal", {"reason": "07"}, amount_fen=600_000, offline=True)
        journal.apply_results([ItemResult(client_id=review.client_id, outcome=ItemOutcome.REJECTED, http_status=422,
                                          code="IDEMPOTENCY_KEY_REUSED", message="同一业务编号内容不一致，请核对")])
        assert journal.get(review.client_id).state == State.NEEDS_REVIEW
        staff = staff_for(technician=tech, journal=journal, export_dir=str(usb))
        page = unlocked(qtbot, shell, staff)

        sec = section(qtbot, page, "enroll")
        sec.pad.type_code(center.enroll_code(settings.terminal.id))
        assert sec.code_label.text().count("-") == 2
        shot(shell, "11-enroll-code")
        tap(qtbot, page, "enroll_btn")
        qtbot.waitUntil(lambda: "登记成功" in sec.message.text(), timeout=WAIT)
        shot(shell, "12-enroll-done")

        net = section(qtbot, page, "network")
        tap(qtbot, page, "netcheck_btn")
        qtbot.waitUntil(lambda: "网络" in net.message.text(), timeout=WAIT)
        assert net.message.text().startswith("网络正常"), net.message.text()
        assert "签名请求：通过" in net.message.text()
        shot(shell, "13-network")

        q = section(qtbot, page, "queue")
        qtbot.waitUntil(lambda: "需人工核查：1 笔" in q.summary.text(), timeout=WAIT)
        assert "待上传：1 笔" in q.summary.text() and queued.client_id in q.summary.text()
        item = page.findChild(type(q.summary), f"review_{review.client_id}")
        assert item is not None and "IDEMPOTENCY_KEY_REUSED" in item.text() and "6,000.00" in item.text()
        shot(shell, "14-queue-needs-review")
        tap(qtbot, page, f"retry_{review.client_id}")                # the needs-review item, retried from the screen
        qtbot.waitUntil(lambda: f"已安排立即重试：{review.client_id}" in q.message.text(), timeout=WAIT)
        qtbot.waitUntil(lambda: "需人工核查：0 笔" in q.summary.text(), timeout=WAIT)
        assert journal.get(review.client_id).state == State.QUEUED
        assert "待上传：2 笔" in q.summary.text()

        media = tmp_path / "media"
        (media / "tech" / "KINGSTON").mkdir(parents=True)
        page.mount_roots = (str(media),)                         # the machine's /media, /run/media, /mnt
        logs = section(qtbot, page, "logs")
        logs.folder.setText("")                                  # no keyboard: pick the stick from the list
        qtbot.waitUntil(lambda: (b := page.findChild(QPushButton, "export_choice_0")) is not None and b.isVisible(),
                        timeout=WAIT)
        tap(qtbot, page, "export_choice_0")
        assert logs.folder.text() == str(usb)
        assert btn(page, "export_choice_1").text() == str(media / "tech" / "KINGSTON")
        tap(qtbot, page, "export_btn")
        qtbot.waitUntil(lambda: "已导出" in logs.message.text(), timeout=WAIT)
        exported = "".join(p.read_text() for p in usb.rglob("*") if p.is_file())
        assert "330802198503151230" not in exported and "read" in exported
        shot(shell, "15-logs-exported")

        info = section(qtbot, page, "info")
        qtbot.waitUntil(lambda: settings.terminal.id in info.text.text(), timeout=WAIT)
        text = info.text.text()
        for word in ("软件版本：", "构建（git）：", "Python：", "PySide6：", "Qt 运行库：", f"设置文件：{cfg}",
                     "配置档：demo", f"数据目录：{settings.paths.data_dir}", "已登记：是"):
            assert word in text, (word, text)
        shot(shell, "16-info")
        qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)
    acts = [(act, tgt, r) for _a, act, tgt, r in audit_rows(audit)]
    for a in ("technician.enroll", "technician.netcheck", "technician.queue_view", "technician.export_logs",
              "technician.info"):
        assert any(x == a and r == "ok" for x, _t, r in acts), a
    assert ("technician.queue_retry", review.client_id, "ok") in acts


def test_an_idle_technician_page_locks_and_returns_home(qtbot, shell, tech_site, staff_for):
    tech, _cfg, audit, _clock = tech_site
    entry_clock = StaffClock(100.0)
    staff = staff_for(technician=tech, clock=entry_clock)
    unlocked(qtbot, shell, staff)
    entry_clock.advance(tech.settings.session.idle_timeout_s - 1)
    staff.tech_page.check_idle()
    assert shell.stack.currentWidget() is staff.tech_page and tech.unlocked
    entry_clock.advance(1)
    staff.tech_page.check_idle()
    assert shell.stack.currentWidget() is shell.home
    qtbot.waitUntil(lambda: not tech.unlocked, timeout=WAIT)
    assert ("technician", "technician.lock", "", "ok") in audit_rows(audit)


# --- remote commands from the center ----------------------------------------------------------------------

def operator(center, path, body=None):
    r = requests.post(center.url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {center.operator_token}",
                               "Idempotency-Key": secrets.token_hex(16)})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_center_switches_an_item_off_announces_and_asks_for_logs_and_the_kiosk_says_so(qtbot, shell, kiosk):
    t = kiosk.terminal
    center = kiosk.embedded_center
    tid = t.settings.terminal.id
    logdir = t.settings.paths.log_dir
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "hpf-kiosk.jsonl.1").write_text(json.dumps({"msg": f"served {ZHANG.id_number} tel 13800138000"})
                                              + "\n", encoding="utf-8")
    assert shell.home.show_tile("withdrawal") is not None
    assert not shell.home.announcement.isVisible()

    operator(center, "/v1/admin/switches", {"item_code": "withdrawal", "enabled": False, "terminal_id": tid})
    operator(center, "/v1/admin/announcements", {"title_zh": "系统维护", "body_zh": "本周六22:00至24:00暂停服务",
                                                 "title_en": "Maintenance", "body_en": "Closed Sat 22:00-24:00"})
    operator(center, f"/v1/admin/terminals/{tid}/log-upload")

    worker = kiosk.sync_worker                                   # the terminal's next sync
    worker.heartbeat_now()
    assert worker.refresh_catalog()
    qtbot.waitUntil(lambda: "暂停1项业务" in shell.banner_label.text(), timeout=WAIT)
    assert "已按中心要求上传日志" in shell.banner_label.text(), shell.banner_label.text()
    qtbot.waitUntil(lambda: shell.home.show_tile("withdrawal") is None, timeout=WAIT)
    assert shell.banner.isVisible() and "、公告1条" in shell.banner_label.text()
    assert shell.home.announcement.isVisible()
    assert "系统维护" in shell.home.announcement.text() and "暂停服务" in shell.home.announcement.text()
    shot(shell, "17-home-after-remote-commands")
    t.set_care_mode(True)                                        # care mode: bigger text, still fits the screen
    try:
        qtbot.waitUntil(lambda: shell.home.announcement.isVisible(), timeout=WAIT)
        shot(shell, "18-home-after-remote-commands-care")
    finally:
        t.set_care_mode(False)

    stored = list((center.config.data_dir / "uploaded-logs").rglob("*.log"))
    assert len(stored) == 1
    text = stored[0].read_text()
    assert "served" in text and ZHANG.id_number not in text and "13800138000" not in text
    acts = [(a, act, r) for a, act, _t, r in audit_rows(kiosk.audit_log)]
    assert ("center", "remote.upload_logs", "ok") in acts and ("center", "remote.catalog_applied", "ok") in acts
    applied = [r.details for r in kiosk.audit_log.tail(200) if r.action == "remote.catalog_applied"][-1]
    assert "withdrawal" in applied["disabled_items"] and len(applied["announcements"]) == 1

    worker.heartbeat_now()                                      # asked once, uploaded once
    worker.refresh_catalog()
    assert [r for _a, act, _t, r in audit_rows(kiosk.audit_log) if act == "remote.upload_logs"] == ["ok"]
    operator(center, "/v1/admin/switches", {"item_code": "withdrawal", "enabled": True, "terminal_id": tid})
    assert worker.refresh_catalog()
    qtbot.waitUntil(lambda: shell.home.show_tile("withdrawal") is not None, timeout=WAIT)
