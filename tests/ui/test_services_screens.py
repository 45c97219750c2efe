"""A resident completes service items at the kiosk screen: the real embedded reference center (signed HTTP over
loopback), the simulated ID reader on a pty, the simulated PC/SC bank card reader, the simulated camera behind the
real quality gates, the real ESC/POS printer class on the simulated printer. Every service screen is saved as a PNG
in normal and care mode (tests/artifacts/screens/services-*)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from kiosk.flows.services.base import Svc
from tests.ui.conftest import texts_on_screen
from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
from tests.ui.servicehelpers import (LEFT, LIU, SUN, WAIT, ZHANG, choose, click, find, grab, identify_as, online,
                                     open_tile, settle)

pytestmark = pytest.mark.ui


def test_the_loan_calculator_works_from_the_home_tile_and_offline_too(qtbot, shell, kiosk):
    online(kiosk, False)                                  # L0, local: needs neither the center nor an identity
    open_tile(qtbot, shell, "loan_calc")
    assert shell.stack.currentWidget() is shell.service
    flow = shell.service.flow
    assert flow.code == "loan_calc" and flow.state is Svc.INPUT
    grab(qtbot, shell, "01-loan-calc-terms")
    for d in "300000":
        click(qtbot, shell, f"key_{d}")
    assert "300000" in find(shell, "input_amount").text()
    click(qtbot, shell, "submit")
    assert flow.state is Svc.SHOW and flow.table["pages"] == 30
    texts = texts_on_screen(shell.service)
    assert any("叁拾" in x for x in texts) or any("元" in x and "整" in x for x in texts)
    assert any("¥" in x for x in texts)
    grab(qtbot, shell, "02-loan-calc-result")
    click(qtbot, shell, "next_page")
    assert flow.table["page"] == 2
    click(qtbot, shell, "choice_02")                      # equal principal
    assert flow.method == "02"
    click(qtbot, shell, "action_finish")
    assert flow.state is Svc.DONE
    click(qtbot, shell, "action_end")
    assert shell.stack.currentWidget() is shell.home and kiosk.terminal.session is None


def test_account_overview_after_identification_shows_masked_data_and_deposit_pages(qtbot, shell, kiosk):
    open_tile(qtbot, shell, "query")
    assert shell.stack.currentWidget() is shell.identify
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.SHOW)
    texts = " ".join(texts_on_screen(shell.service))
    assert "330802********1230" in texts and ZHANG.id_number not in texts
    assert ZHANG.name not in texts
    grab(qtbot, shell, "03-account-overview")
    click(qtbot, shell, "action_deposits")
    settle(qtbot, flow, Svc.SHOW)
    assert flow.step == "deposits"
    grab(qtbot, shell, "04-account-deposits")
    shell.go_back()                                       # footer 返回: one step back inside the item
    assert flow.step == "overview"
    click(qtbot, shell, "action_finish")
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None


def test_a_withdrawal_for_rent_end_to_end_with_a_receipt_then_the_screen_is_wiped(qtbot, shell, kiosk):
    t = kiosk.terminal
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, ZHANG, card=True)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "reason"
    grab(qtbot, shell, "05-withdrawal-reason")
    choose(qtbot, shell, "choice_07")                     # rent
    assert flow.step == "evidence"
    page = shell.service
    page.type_text("monthly_rent_fen", "2000")
    page.type_text("rent_months", "3")
    grab(qtbot, shell, "06-withdrawal-evidence")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "amount", flow.message
    for k in "1200":
        click(qtbot, shell, f"key_{k}")
    click(qtbot, shell, "key_dot")
    click(qtbot, shell, "key_5")
    grab(qtbot, shell, "07-withdrawal-amount")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    texts = texts_on_screen(page)
    assert any("¥1,200.50" in x for x in texts) and "壹仟贰佰元伍角整" in texts
    grab(qtbot, shell, "08-withdrawal-confirm")
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted
    texts = texts_on_screen(page)
    assert any("流水号" in x for x in texts) and any("1,200.50" in x for x in texts)
    assert ZHANG.id_number not in " ".join(texts) and ZHANG.name not in " ".join(texts)
    grab(qtbot, shell, "09-withdrawal-done")
    printer = t.devices.printer
    qtbot.waitUntil(lambda: printer.paper_present(), timeout=10000)
    click(qtbot, shell, "evaluate_5")
    qtbot.waitUntil(lambda: flow.evaluation in ("sent", "queued"), timeout=WAIT)
    click(qtbot, shell, "action_end")
    # the session is over: nothing personal left in any widget, and the flow forgot it too
    assert t.session is None and shell.stack.currentWidget() is shell.home
    qtbot.wait(20)
    everything = " ".join(texts_on_screen(shell))
    for secret in (ZHANG.name, ZHANG.id_number, "330802********1230", "1,200.50", "张*国"):
        assert secret not in everything, secret
    assert flow.identity is None and flow.card is None and flow.receipt_text == []
    assert shell.service.flow is None


def test_a_frozen_account_is_refused_in_plain_chinese(qtbot, shell, kiosk):
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, LIU, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_07")
    shell.service.type_text("monthly_rent_fen", "1500")
    shell.service.type_text("rent_months", "2")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.REFUSED)
    QApplication.processEvents()
    refusal = shell.service.findChild(type(shell.service.title), "refusal")
    assert refusal is not None and refusal.isVisible()
    assert refusal.text() == flow.message.zh and any("\u4e00" <= ch <= "\u9fff" for ch in refusal.text())
    assert "Traceback" not in refusal.text() and "WD_" not in refusal.text()
    grab(qtbot, shell, "10-withdrawal-refused")
    kiosk.terminal.set_language("en")
    assert "did not accept" in " ".join(texts_on_screen(shell.service))
    grab(qtbot, shell, "11-withdrawal-refused-en")
    kiosk.terminal.set_language("zh_CN")
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None


def test_an_online_only_item_is_refused_offline_and_says_so(qtbot, shell, kiosk):
    open_tile(qtbot, shell, "query")
    flow = identify_as(qtbot, shell, ZHANG)
    settle(qtbot, flow, Svc.SHOW)
    online(kiosk, False)                                  # the link drops; the resident asks for the details
    click(qtbot, shell, "action_deposits")
    settle(qtbot, flow, Svc.FAILED)
    QApplication.processEvents()
    refusal = shell.service.findChild(type(shell.service.title), "refusal")
    assert refusal.isVisible() and refusal.text() == flow.message.zh and "网络中断" in refusal.text()
    grab(qtbot, shell, "12-query-link-lost")
    click(qtbot, shell, "action_end")
    # an online-only item opened while offline is refused before anything is asked (its tile is greyed out
    # on the home screen; the flow refuses it too, whoever opens it)
    t = kiosk.terminal
    assert not next(x for x in t.tiles() if x.code == "query").available
    t.start_session(next(x for x in t.tiles() if x.code == "loan_calc"))
    flow = t.open_service("statement")
    shell.service.bind(flow)
    shell.show_page(shell.service)
    assert flow.state is Svc.FAILED and flow.message.code.startswith("OFFLINE")
    QApplication.processEvents()
    refusal = shell.service.findChild(type(shell.service.title), "refusal")
    assert refusal.isVisible() and refusal.text() == flow.message.zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refusal.text())
    grab(qtbot, shell, "13-online-only-offline")
    click(qtbot, shell, "action_end")
    assert t.session is None


def test_leaving_mid_withdrawal_by_the_home_button_wipes_the_card_and_the_person(qtbot, shell, kiosk):
    t = kiosk.terminal
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, SUN, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_03")                     # retirement: the whole balance, straight to confirm
    settle(qtbot, flow, Svc.CONFIRM)
    fields = dict((f["label"], f["value"]) for f in flow.view()["fields"])
    masked_card, figures = fields["收款银行卡"], flow.view()["amounts"][0]["figures"]
    assert masked_card in texts_on_screen(shell.service)
    grab(qtbot, shell, "16-withdrawal-closing-confirm")
    qtbot.mouseClick(shell.home_btn, LEFT)                # 首页: the visit ends here
    assert t.session is None and shell.stack.currentWidget() is shell.home
    QApplication.processEvents()
    everything = " ".join(texts_on_screen(shell))
    for secret in (masked_card, figures, SUN.name, SUN.id_number, "离休"):
        assert secret not in everything, secret
    assert flow.state is Svc.CANCELED and flow.identity is None and flow.card is None
    assert flow.outcome is None                           # nothing was submitted


def test_service_guides_open_without_identification(qtbot, shell, kiosk):
    open_tile(qtbot, shell, "guide")
    flow = shell.service.flow
    assert flow.state is Svc.SHOW and flow.step == "menu" and kiosk.terminal.session.identification is None
    grab(qtbot, shell, "14-guide-menu")
    click(qtbot, shell, "choice_guides")
    assert flow.step == "guides"
    first = flow.view()["choices"][0]["id"]
    choose(qtbot, shell, f"choice_{first}")
    assert flow.step == "guide"
    grab(qtbot, shell, "15-guide-text")
    click(qtbot, shell, "action_finish")
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None
