"""The kiosk shell as a resident meets it: home tiles from the catalog, identification through the screens,
help, offline, care mode, language, idle timeout, the wipe at the end, and a UI that never freezes."""
from __future__ import annotations

import pytest

from kiosk.flows.identification import IdStep
from kiosk.flows.standins import DEMO_PEOPLE

from tests.ui.conftest import ARTIFACTS, texts_on_screen

from PySide6.QtCore import Qt

pytestmark = pytest.mark.ui
LEFT = Qt.MouseButton.LeftButton
S = IdStep


def open_item(qtbot, shell, code):
    button = shell.home.show_tile(code)
    assert button is not None and button.isEnabled(), f"{code} is not offered"
    qtbot.mouseClick(button, LEFT)
    return shell.identify.flow


def reach(qtbot, flow, *states):
    qtbot.waitUntil(lambda: flow.state in states and flow.waiting_for_customer or flow.finished, timeout=10000)
    return flow.state


def test_home_offers_what_the_center_switched_on_as_big_tiles(shell):
    offered = set(shell.home.tile_buttons)
    assert {"account_query", "withdrawal", "loan_calculator", "deposit_certificate"} <= offered
    assert "transfer_in" not in offered                      # switched off by the center
    for b in shell.home.tile_buttons.values():
        assert b.height() >= 100 and b.width() >= 200
    assert shell.center_label.text() == shell.terminal.settings.terminal.center_name
    assert shell.net_label.text().endswith("在线")
    assert not shell.offline_bar.isVisible()
    assert not shell.back_btn.isVisible()                    # nothing to go back to on home


def test_offline_the_banner_shows_and_online_only_items_say_so(shell, terminal):
    terminal.set_network(False, 2)
    assert shell.offline_bar.isVisible() and "网络中断" in shell.offline_label.text()
    assert shell.net_label.text().endswith("离线") and shell.queue_label.text() == "待上传 2 笔"
    query = shell.home.tile_buttons["account_query"]
    assert not query.isEnabled() and "需联网办理" in query.note_label.text()
    assert shell.home.tile_buttons["loan_calculator"].isEnabled()
    evaluation = shell.home.tile_buttons["evaluation"]        # L1, store-and-forward: still offered
    assert evaluation.isEnabled() and "离线受理" in evaluation.note_label.text()
    terminal.set_network(True, 0)
    assert not shell.offline_bar.isVisible() and shell.home.tile_buttons["account_query"].isEnabled()


def test_query_by_id_card_prints_a_masked_slip_and_reminds_to_take_card_and_paper(qtbot, shell, terminal, sims):
    flow = open_item(qtbot, shell, "account_query")
    assert shell.stack.currentWidget() is shell.identify
    assert shell.identify.title.text() == "请将身份证放在读卡区"
    assert shell.identify.steps.currentWidget() is shell.identify.id_guide
    sims.idcard.place()
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED
    assert shell.identify.done_person.text() == "张*  110105********002X"
    qtbot.mouseClick(shell.identify.done_btn, LEFT)
    qtbot.waitUntil(lambda: bool(sims.printer.printed), timeout=5000)
    slip = sims.printer.printed[-1].decode("gb18030")
    assert "证件号码：110105********002X" in slip and "11010519491231002X" not in slip
    assert shell.stack.currentWidget() is shell.home
    terminal.tick()
    assert shell.banner.isVisible()
    assert "请取走您的身份证" in shell.banner_label.text() and "请取走您的凭条" in shell.banner_label.text()
    sims.idcard.lift()
    sims.printer.take()
    terminal.tick()
    assert not shell.banner.isVisible()


def test_face_capture_shows_the_preview_and_speaks_guidance_until_the_center_accepts(qtbot, shell, terminal, sims):
    flow = open_item(qtbot, shell, "deposit_certificate")
    frames = []
    flow.on_frame(lambda frame, report: frames.append(report.passed))
    sims.idcard.place()
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED
    assert frames and frames[-1] is True
    spoken = [t for _, t in terminal.voice.spoken]
    assert "请正对摄像头，保持面部在框内" in spoken and "请靠近一些" in spoken and "身份核验通过" in spoken


def test_two_refused_faces_offer_other_routes_and_a_wrong_sms_code_is_explained(qtbot, shell, sims, center):
    center.simulator.reject_faces = 2
    flow = open_item(qtbot, shell, "deposit_certificate")
    sims.idcard.place()
    assert reach(qtbot, flow, S.FALLBACK) is S.FALLBACK
    page = shell.identify
    assert page.steps.currentWidget() is page.sub[S.FALLBACK]
    assert page.message.text() == "人脸核验两次未通过，请选择其他核验方式"
    assert all(b.isVisible() for b in (page.fb_sms, page.fb_password, page.fb_staff))
    qtbot.mouseClick(page.fb_sms, LEFT)
    assert reach(qtbot, flow, S.SMS) is S.SMS
    qtbot.waitUntil(lambda: "138****8000" in page.sms_info.text(), timeout=5000)
    right = center.simulator.last_sms_code
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for d in wrong:
        qtbot.mouseClick(page.sms_pad.key(d), LEFT)
    assert page.sms_input.text() == wrong
    qtbot.mouseClick(page.sms_ok, LEFT)
    qtbot.waitUntil(lambda: page.message.text() == "验证码错误，还可输入 2 次", timeout=5000)
    assert page.sms_input.text() == ""
    for d in right:
        qtbot.mouseClick(page.sms_pad.key(d), LEFT)
    qtbot.mouseClick(page.sms_ok, LEFT)
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED


def test_query_password_is_keyed_on_a_scrambled_pad(qtbot, shell, sims, center):
    sims.camera.missing = True                               # no camera: straight to the other routes
    flow = open_item(qtbot, shell, "deposit_certificate")
    sims.idcard.place()
    assert reach(qtbot, flow, S.FALLBACK) is S.FALLBACK
    assert shell.identify.message.text() == "摄像头暂不可用，请选择其他核验方式"
    qtbot.mouseClick(shell.identify.fb_password, LEFT)
    pad = shell.identify.pw_pad
    assert [k.text() for k in pad.keys] == flow.pad_layout
    for d in DEMO_PEOPLE[0]["password"]:
        qtbot.mouseClick(pad.key(d), LEFT)
    assert shell.identify.pw_input.text() == DEMO_PEOPLE[0]["password"]
    assert shell.identify.pw_input.echoMode() == shell.identify.pw_input.EchoMode.Password
    qtbot.mouseClick(shell.identify.pw_ok, LEFT)
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED


def test_a_bank_card_pulled_during_the_read_is_asked_for_again(qtbot, shell, sims):
    flow = open_item(qtbot, shell, "withdrawal")
    sims.idcard.place()
    assert reach(qtbot, flow, S.BANK_CARD) is S.BANK_CARD
    assert shell.identify.title.text() == "请插入本人银行卡"
    sims.cardreader.pull_during_read = True
    sims.cardreader.insert()
    qtbot.waitUntil(lambda: shell.identify.message.text() == "银行卡被拔出，请重新插入", timeout=5000)
    sims.cardreader.insert()
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED


def test_a_missing_reader_says_so_and_offers_staff(qtbot, shell, sims):
    sims.idcard.missing = True
    flow = open_item(qtbot, shell, "account_query")
    assert flow.state is S.FAILED
    page = shell.identify
    assert page.message.text() == "身份证阅读器暂不可用，请呼叫工作人员"
    assert page.failed_staff.isVisible() and page.failed_home.isVisible()


def test_help_alerts_staff_logs_audits_and_acknowledges_on_screen(qtbot, shell, terminal, caplog):
    audited = []
    terminal.audit = lambda event, **fields: audited.append((event, fields))
    qtbot.mouseClick(shell.help_btn, LEFT)
    assert shell.banner.isVisible() and shell.banner_label.text() == "已通知工作人员，请稍候"
    assert audited and audited[0][0] == "staff_called" and audited[0][1]["screen"] == "home"
    assert any("staff help requested" in r.getMessage() for r in caplog.records)
    assert ("zh_CN", "已通知工作人员，请稍候") in terminal.voice.spoken


def test_idle_warning_counts_down_and_one_tap_extends_then_times_out(qtbot, shell, terminal, clock, sims):
    flow = open_item(qtbot, shell, "account_query")
    clock.advance(61)
    terminal.tick()
    assert shell.overlay.isVisible() and shell.idle_count.text() == "29 秒后自动退出"
    assert any("秒后将退出" in t for _, t in terminal.voice.spoken)    # spoken warning
    qtbot.mouseClick(shell.extend_btn, LEFT)
    assert not shell.overlay.isVisible() and terminal.session is not None
    clock.advance(89)
    terminal.tick()
    assert shell.overlay.isVisible()
    clock.advance(2)
    terminal.tick()
    assert terminal.session is None and flow.state is S.CANCELED
    assert shell.stack.currentWidget() is shell.home and not shell.overlay.isVisible()


def test_after_the_session_no_personal_datum_is_left_on_screen_or_in_the_flow(qtbot, shell, terminal, sims, center):
    flow = open_item(qtbot, shell, "withdrawal")
    sims.idcard.place()
    reach(qtbot, flow, S.BANK_CARD)
    sims.cardreader.insert()
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED
    assert any("110105********002X" in t for t in texts_on_screen(shell))     # shown while serving
    person = DEMO_PEOPLE[0]
    session = terminal.session
    qtbot.mouseClick(shell.home_btn, LEFT)                                        # customer walks away
    assert terminal.session is None
    forbidden = [person["name"], person["id_number"], person["phone"], person["pan"], "110105********002X",
                 "138****8000", "张*", person["pan"][-4:]]
    for text in texts_on_screen(shell):
        for secret in forbidden:
            assert secret not in text, f"{secret!r} still on screen in {text!r}"
    assert flow.document is None and flow.bank_card is None and flow.sms_ticket is None
    assert session.flows == [] and session.data == {}
    assert shell.identify.flow is None
    for _, said in terminal.voice.spoken:                                      # nor in what was said
        assert not any(secret in said for secret in forbidden), said


def test_care_mode_has_bigger_text_bigger_targets_and_fewer_tiles(qtbot, shell, terminal):
    from screens import theme
    normal_tiles = len(shell.home.tile_buttons)
    normal_px = shell.home.title.font().pixelSize() or shell.home.title.fontInfo().pixelSize()
    qtbot.mouseClick(shell.care_btn, LEFT)
    assert terminal.care_mode and shell.care_btn.text() == "标准模式"
    assert theme.CARE.body_px >= 1.4 * theme.NORMAL.body_px
    label = shell.home.page_label
    assert label.fontInfo().pixelSize() >= 1.4 * theme.NORMAL.small_px
    assert shell.home.title.fontInfo().pixelSize() > normal_px
    assert len(shell.home.tile_buttons) < normal_tiles and len(shell.home.tile_buttons) <= 4
    from PySide6.QtWidgets import QPushButton
    visible = [b for b in shell.findChildren(QPushButton) if b.isVisible()]
    assert visible
    for b in visible:
        assert b.height() >= 60 and b.width() >= 60, f"{b.objectName() or b.text()} is {b.width()}x{b.height()}"


def test_every_colour_pair_on_screen_reaches_4_5_to_1():
    from screens.theme import COLORS, PAIRS, contrast_ratio
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    for fg, bg in PAIRS:
        assert contrast_ratio(COLORS[fg], COLORS[bg]) >= 4.5, f"{fg} on {bg}"


def test_switching_to_english_and_back(qtbot, shell, terminal):
    qtbot.mouseClick(shell.lang_btn, LEFT)
    assert terminal.language == "en"
    assert shell.home.title.text() == "Welcome. Please choose a service"
    assert shell.help_btn.text() == "Call staff" and shell.lang_btn.text() == "中文"
    assert shell.home.tile_buttons["withdrawal"].name_label.text() == "Withdrawal"
    flow = open_item(qtbot, shell, "account_query")
    assert shell.identify.title.text() == "Please place your ID card on the reader"
    assert ("en", "Please place your ID card on the reader") in terminal.voice.spoken
    qtbot.mouseClick(shell.lang_btn, LEFT)
    assert shell.identify.title.text() == "请将身份证放在读卡区" and shell.help_btn.text() == "呼叫人工"


def test_the_screen_answers_while_a_device_is_stuck_for_five_seconds(qtbot, shell, terminal, sims):
    sims.idcard.gate.hold(5.0)                     # the reader will not answer for 5 s
    flow = open_item(qtbot, shell, "account_query")
    sims.idcard.place()
    assert flow.busy == "read_id" and shell.identify.progress.isVisible()
    qtbot.mouseClick(shell.help_btn, LEFT)            # a click is handled at once...
    assert shell.banner_label.text() == "已通知工作人员，请稍候"
    qtbot.wait(200)                                # ...and events keep flowing while the device is stuck
    assert flow.busy == "read_id" and sims.idcard.reads == 0     # the device really is still blocked
    qtbot.mouseClick(shell.identify.cancel_btn, LEFT)               # slow work can be canceled
    assert flow.state is S.CANCELED and shell.stack.currentWidget() is shell.home
    assert terminal.session is None


def test_the_demo_simulator_panel_plays_the_customer(qtbot, shell, terminal, sims, center):
    from screens.simpanel import SimulatorPanel
    panel = SimulatorPanel(terminal, shell)
    qtbot.addWidget(panel)
    flow = open_item(qtbot, shell, "withdrawal")
    panel.toggle_id()                                        # F1: place the ID card
    assert reach(qtbot, flow, S.BANK_CARD) is S.BANK_CARD
    panel.toggle_card()                                      # F3: insert the customer's own bank card
    assert reach(qtbot, flow, S.VERIFIED) is S.VERIFIED
    panel.toggle_network()                                   # F5: cut the network
    assert not terminal.online and shell.offline_bar.isVisible() and not center.simulator.online
    panel.toggle_network()
    assert terminal.online


def test_in_kiosk_mode_the_window_is_frameless_full_screen_and_cannot_be_closed(qtbot, terminal):
    from screens.app import create_shell
    app, sh, _ = create_shell(terminal, kiosk_mode=True)
    qtbot.addWidget(sh)
    sh.showFullScreen()
    qtbot.waitExposed(sh)
    assert sh.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert sh.isFullScreen()
    sh.close()                                       # Alt+F4 / a close request from a customer
    assert sh.isVisible()
    sh.allow_close = True                            # the service stopping (SIGTERM) may close it
    sh.close()
    assert not sh.isVisible()


def test_care_mode_offline_with_a_long_banner_never_grows_past_the_screen(qtbot, shell, terminal):
    """Care mode, the offline bar and a two-line notice all at once: the window stays the screen's size (the
    pages scroll inside it instead of pushing the footer off the bottom of a fixed kiosk screen)."""
    from kiosk.flows.base import FlowMessage
    from PySide6.QtWidgets import QApplication
    terminal.set_care_mode(True)
    terminal.set_network(False, 3)
    long = "已按公积金中心通知更新服务：部分事项暂停办理，请留意屏幕公告；如需帮助请按呼叫人工。" * 2
    shell.on_event_remote_notice(FlowMessage("REMOTE", long, long))
    QApplication.processEvents()
    ui = terminal.settings.ui
    for page in (shell.home, shell.identify, shell.service):
        shell.stack.setCurrentWidget(page)
        qtbot.wait(30)
        assert shell.height() <= ui.screen_height and shell.width() <= ui.screen_width, \
            (page.screen_name, shell.size())
        assert shell.help_btn.isVisible() and shell.help_btn.mapTo(shell, shell.help_btn.rect().bottomLeft()).y() <= ui.screen_height
        out = ARTIFACTS / "shell"
        out.mkdir(parents=True, exist_ok=True)
        assert shell.grab().save(str(out / f"care-offline-notice-{page.screen_name}.png"))
    shell.stack.setCurrentWidget(shell.home)
    terminal.set_care_mode(False)
