"""The money items and the hard cases, end to end through the real screens (issue 8): the real embedded reference
center over signed loopback HTTP, the simulated ID reader, the simulated PC/SC bank card reader (real EMV code),
the simulated camera behind the real quality gates, and the real ESC/POS printer class with its print journal on
the simulated receipt printer.

    flexible employment: account opening (card pulled mid-read, inserted again), agreement signing, a deposit
    withdrawal offline: queued within the floor limits, receipt says so, header counts it, delivered exactly once
    withdrawal offline above the floor limit, and an online-only money item offline: refused in plain Chinese
    paper out in the middle of the receipt, then 补打 once paper is loaded (nothing lost)
    nobody inserts the bank card / nobody places the ID card: the flow or the session times out cleanly
    the center refusing money items (overdue loan, sealed account) in plain Chinese

Every screen is saved in normal and care mode (tests/artifacts/screens/services-*/money-*.png) with the clipped
text check of servicehelpers.grab()."""
from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QApplication

from kiosk.domain.money import format_yuan
from kiosk.flows.services.base import Svc
from kiosk.flows.services.flexible import year_month
from tests.ui.conftest import texts_on_screen
from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
from tests.ui.servicehelpers import grab_both as grab    # both modes, clipped-text and screen-size checks
from tests.ui.servicehelpers import (CHEN, LI, WAIT, ZHANG, ZHAO, ZHOU, choose, click, find, identify_as,
                                     online, open_tile, settle)

pytestmark = pytest.mark.ui


@pytest.fixture(autouse=True)
def _before_the_resident_came(kiosk):
    """What the terminal was told before this resident came (start-up syncs, notices posted to its thread) is
    delivered now, not onto this resident's screens."""
    kiosk.terminal.tasks.process()
    yield


# --- helpers of this module -------------------------------------------------------------------------------

def screen_text(shell) -> str:
    QApplication.processEvents()
    return " ".join(texts_on_screen(shell.service))


def refusal_text(shell) -> str:
    QApplication.processEvents()
    refusal = shell.service.findChild(type(shell.service.title), "refusal")
    assert refusal is not None and refusal.isVisible(), "no refusal panel on screen"
    return refusal.text()


def plain_chinese(text: str) -> bool:
    """A reason a resident can read: Chinese, no code names, no traceback."""
    return (any("\u4e00" <= ch <= "\u9fff" for ch in text) and "Traceback" not in text
            and not re.search(r"[A-Z]{2,}_[A-Z_]+", text))


def field_values(flow) -> dict:
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def sim_printer(kiosk):
    return kiosk.terminal.devices.printer.simulator.sim


def wait_message(qtbot, flow, code: str) -> None:
    qtbot.waitUntil(lambda: flow.message is not None and flow.message.code == code, timeout=WAIT)


def receipt_after(qtbot, kiosk, before: int):
    """The next receipt the simulated printer cut (decoded from the ESC/POS bytes it received)."""
    sim = sim_printer(kiosk)
    qtbot.waitUntil(lambda: len(sim.jobs) > before, timeout=WAIT)
    return sim.jobs[-1]


def end(qtbot, shell, kiosk) -> None:
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None and shell.stack.currentWidget() is shell.home


# --- 1. flexible employment -------------------------------------------------------------------------------

def test_a_flexible_worker_opens_an_account_with_her_card_signs_the_agreement_and_deposits(qtbot, shell, kiosk):
    t = kiosk.terminal
    reader = t.devices.cardreader.simulator
    # account opening (L2: ID card + face): base and ratio on the keypad, then the debit card
    open_tile(qtbot, shell, "flexible_open")
    flow = identify_as(qtbot, shell, ZHOU)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "terms"
    page = shell.service
    page.type_text("base", "5000")
    assert "5000" in find(shell, "input_base").text() and "12" in find(shell, "input_ratio").text()
    grab(qtbot, shell, "money-01-flexible-terms")
    click(qtbot, shell, "submit")
    qtbot.waitUntil(lambda: flow.state is Svc.READ_CARD and flow.busy == "read_card", timeout=WAIT)
    assert "请插入本人银行卡" in screen_text(shell)
    # somebody else's card (the holder's ID on the chip is not hers) is refused: the debit card must be hers
    reader.insert(holder=ZHANG)
    wait_message(qtbot, flow, "CARD_MISMATCH")
    assert flow.state is Svc.READ_CARD and flow.card is None and "不是您本人的" in screen_text(shell)
    reader.remove()
    # the resident pulls the card out in the middle of the read: asked to insert it again, nothing else
    reader.pull_during_read = True
    reader.insert(holder=ZHOU)
    wait_message(qtbot, flow, "CARD_PULLED")
    qtbot.waitUntil(lambda: flow.busy == "read_card", timeout=WAIT)
    assert flow.state is Svc.READ_CARD and flow.card is None
    assert "银行卡被拔出，请重新插入" in screen_text(shell)
    grab(qtbot, shell, "money-03-flexible-card-pulled")
    reader.insert(holder=ZHOU)                            # inserted again: read over the simulated reader
    settle(qtbot, flow, Svc.CONFIRM)
    pan = flow.card.pan
    masked = field_values(flow)["扣款银行卡"]
    text = screen_text(shell)
    assert masked in text and pan not in text and pan[-4:] in masked
    assert "¥600.00" in text and "陆佰元整" in text and "12%" in text
    assert ZHOU.id_number not in text and ZHOU.name not in text
    grab(qtbot, shell, "money-04-flexible-open-confirm")
    before = len(sim_printer(kiosk).jobs)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    result = flow.outcome.result
    assert flow.outcome.accepted and result["monthly_amount_fen"] == 60000
    agreement = result["agreement_no"]
    text = screen_text(shell)
    assert agreement in text and "¥600.00" in text       # the center's answer on screen ...
    job = receipt_after(qtbot, kiosk, before)
    assert agreement in job.text and "600.00" in job.text and "已受理" in job.text   # ... and on paper
    assert pan not in job.text and ZHOU.id_number not in job.text and ZHOU.name not in job.text
    grab(qtbot, shell, "money-05-flexible-open-done")
    reader.remove()
    end(qtbot, shell, kiosk)

    # agreement signing (L3: ID card + face + her own bank card, which is then the debit card)
    open_tile(qtbot, shell, "flexible_sign")
    flow = identify_as(qtbot, shell, ZHOU, card=True)
    settle(qtbot, flow, Svc.INPUT)
    shell.service.type_text("base", "6000")
    shell.service.type_text("ratio", "10")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    text = screen_text(shell)
    assert "¥600.00" in text and "陆佰元整" in text and "10%" in text and "¥6,000.00" in text
    before = len(sim_printer(kiosk).jobs)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    signed = flow.outcome.result["agreement_no"]
    assert flow.outcome.accepted and signed != agreement and signed in screen_text(shell)
    assert signed in receipt_after(qtbot, kiosk, before).text
    end(qtbot, shell, kiosk)
    reader.remove()

    # a one-off deposit of 3 months, debited from the signed card
    open_tile(qtbot, shell, "deposit")
    flow = identify_as(qtbot, shell, ZHOU)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "months" and field_values(flow)["每月缴存额"] == "¥600.00"
    choose(qtbot, shell, "choice_3")
    settle(qtbot, flow, Svc.CONFIRM)
    text = screen_text(shell)
    assert "¥1,800.00" in text and "壹仟捌佰元整" in text and "3个月" in text
    assert field_values(flow)["扣款银行卡"] in text and pan not in text
    grab(qtbot, shell, "money-09-deposit-confirm")
    before = len(sim_printer(kiosk).jobs)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    result = flow.outcome.result
    assert flow.outcome.accepted and result["balance_after_fen"] == 180000
    paid_up_to = year_month(result["paid_up_to"])          # e.g. 2027年01月
    text = screen_text(shell)
    assert paid_up_to in text and "¥1,800.00" in text and field_values(flow)["账户余额"] == "¥1,800.00"
    job = receipt_after(qtbot, kiosk, before)
    assert "1,800.00" in job.text and paid_up_to in job.text and "已受理" in job.text
    assert field_values(flow)["流水号"] in job.text
    grab(qtbot, shell, "money-10-deposit-done")
    end(qtbot, shell, kiosk)


# --- 2. offline: store-and-forward within the floor limits, refusal above them, later delivery exactly once --

def center_withdrawals(kiosk, client_id: str) -> int:
    """Rows the center booked for this client id (read from the center's own database)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(kiosk.embedded_center.db_url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT COUNT(*) FROM withdrawals WHERE client_id = :c"), {"c": client_id}).scalar()
    finally:
        engine.dispose()


def balance_fen(kiosk, person) -> int:
    from devices.base import CancelToken
    return kiosk.services.center.person(person.id_number, CancelToken(0))["account"]["balance_fen"]


def test_a_withdrawal_taken_offline_is_queued_says_so_and_reaches_the_center_exactly_once(qtbot, shell, kiosk):
    t = kiosk.terminal
    journal = kiosk.services.desk.journal
    queued_before = journal.figures().depth
    balance = balance_fen(kiosk, ZHANG)
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, ZHANG, card=True)     # identity needs the center: checked while online
    settle(qtbot, flow, Svc.INPUT)
    online(kiosk, False)                                   # then the link drops
    qtbot.waitUntil(lambda: shell.offline_bar.isVisible(), timeout=WAIT)
    choose(qtbot, shell, "choice_07")
    page = shell.service
    page.type_text("monthly_rent_fen", "1500")
    page.type_text("rent_months", "2")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "amount" and "离线受理" in screen_text(shell)
    # above the offline floor limit: refused at once, in plain Chinese; the resident may enter less
    limit = t.settings.offline.per_transaction_limit_fen
    page.type_text("amount", str(limit // 100 + 1))
    click(qtbot, shell, "submit")
    assert flow.state is Svc.INPUT and flow.message.code == "OFFLINE_AMOUNT_OVER_LIMIT"
    QApplication.processEvents()
    shown = shell.service.message.text()
    assert shell.service.message.isVisible() and f"网络中断时单笔最多受理{format_yuan(limit)}" in shown and plain_chinese(shown)
    grab(qtbot, shell, "money-11-offline-over-the-floor-limit")
    page.type_text("amount", "800")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    assert "¥800.00" in screen_text(shell) and "捌佰元整" in screen_text(shell)
    before = len(sim_printer(kiosk).jobs)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.queued
    cid = flow.outcome.client_id
    assert journal.get(cid).state.value == "queued"
    text = screen_text(shell)
    assert "已受理，待联网确认" in text and "¥800.00" in text
    job = receipt_after(qtbot, kiosk, before)              # the paper says it is queued, not done
    assert "已受理，待联网确认" in job.text and "800.00" in job.text and "联网后" in job.text
    # the sync worker tries, cannot reach the center, and reports the queue: the header counts the item
    assert kiosk.sync_worker.drain().error is not None
    want = f"待上传 {queued_before + 1} 笔"
    qtbot.waitUntil(lambda: shell.queue_label.text() == want, timeout=WAIT)
    assert shell.queue_label.isVisible()
    grab(qtbot, shell, "money-13-offline-queued-receipt")
    end(qtbot, shell, kiosk)
    assert shell.queue_label.text() == want                # still counted on the home screen

    # an online-only money item cannot be done offline: its tile is greyed out and the flow refuses it
    assert not next(x for x in t.tiles() if x.code == "flexible_sign").available
    t.start_session(next(x for x in t.tiles() if x.code == "loan_calc"))
    flow2 = t.open_service("flexible_sign")
    shell.service.bind(flow2)
    shell.show_page(shell.service)
    assert flow2.state is Svc.FAILED and flow2.message.code == "OFFLINE_NOT_ALLOWED"
    reason = refusal_text(shell)
    assert "需联网办理" in reason and plain_chinese(reason)
    end(qtbot, shell, kiosk)

    # the link returns: the worker delivers the queued withdrawal once; the center books it once
    online(kiosk, True)
    report = kiosk.sync_worker.drain()
    assert report.error is None and report.accepted >= 1
    assert journal.get(cid).state.value == "accepted"
    after = f"待上传 {journal.figures().depth} 笔" if journal.figures().depth else ""
    qtbot.waitUntil(lambda: shell.queue_label.text() == after, timeout=WAIT)     # the header stops counting it
    assert kiosk.sync_worker.drain().sent == 0             # nothing left: never sent twice
    status = kiosk.services.desk.center.client.transaction_status(cid)
    assert status.outcome.value == "accepted" and status.result["amount_fen"] == 80000
    assert center_withdrawals(kiosk, cid) == 1
    assert balance_fen(kiosk, ZHANG) == balance - 80000


# --- 3. paper out in the middle of the receipt, then 补打 ----------------------------------------------------

def test_paper_running_out_mid_receipt_loses_nothing_and_the_receipt_is_reprinted_marked_as_a_copy(
        qtbot, shell, kiosk):
    t = kiosk.terminal
    sim = sim_printer(kiosk)
    journal = t.devices.raw["receipt_printer"].journal        # the print journal of the real ESC/POS class
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, LI, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_06")                       # loan repayment: no materials to state
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "amount", flow.message
    shell.service.type_text("amount", "1000")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    before = len(sim.jobs)
    sim.run_out_after(4)                                    # the roll ends four lines into the receipt
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.PRINT_FAILED)
    # the money moved; only the paper failed: the screen says so plainly and offers 补打
    assert flow.outcome.accepted
    cid, job_id = flow.outcome.client_id, flow.print_job_id
    shown = shell.service.message.text()
    assert shell.service.message.isVisible() and plain_chinese(shown)
    assert shown == "打印失败：打印过程中纸张用完，回单未打印完整；补充纸张后可补打"
    assert find(shell, "action_reprint").text() == "补打" and find(shell, "action_skip_receipt").isVisible()
    assert any("1,000.00" in x for x in texts_on_screen(shell.service))   # the receipt's content stays on screen
    qtbot.waitUntil(lambda: len(sim.jobs) > before, timeout=WAIT)
    assert not sim.jobs[-1].complete                        # what came out is cut short
    failed = journal.get(job_id)
    assert failed.state.value == "failed" and failed.error_code == "PAPER_OUT"
    assert job_id in [j.id for j in journal.outstanding()]
    status = kiosk.services.desk.center.client.transaction_status(cid)
    assert status.outcome.value == "accepted" and status.result["amount_fen"] == 100000
    grab(qtbot, shell, "money-15-paper-out")
    # paper loaded: 补打 prints the same receipt again, marked as a copy; the failed job is resolved
    sim.load_paper()
    before = len(sim.jobs)
    click(qtbot, shell, "action_reprint")
    settle(qtbot, flow, Svc.DONE)
    copy = receipt_after(qtbot, kiosk, before)
    assert copy.complete and "补打" in copy.text and "1,000.00" in copy.text and status.result["serial"] in copy.text
    assert LI.id_number not in copy.text and LI.name not in copy.text
    assert journal.get(job_id).resolved_by == flow.printed[-1] and journal.get(flow.printed[-1]).is_copy
    assert job_id not in [j.id for j in journal.outstanding()]
    end(qtbot, shell, kiosk)


# --- 4. the card pulled mid-read is in test 1; here: nobody presents the card, nobody places the ID card ----

def test_nobody_inserting_the_bank_card_ends_the_item_with_a_clear_message(qtbot, shell, kiosk, monkeypatch):
    monkeypatch.setattr(kiosk.services, "card_timeout_s", 2.0)   # the configured wait (60 s), shrunk
    t = kiosk.terminal
    open_tile(qtbot, shell, "flexible_open")
    flow = identify_as(qtbot, shell, CHEN)
    settle(qtbot, flow, Svc.INPUT)
    shell.service.type_text("base", "4000")
    click(qtbot, shell, "submit")
    assert flow.state is Svc.READ_CARD
    settle(qtbot, flow, Svc.FAILED)
    assert flow.message.code == "CARD_TIMEOUT"
    reason = refusal_text(shell)
    assert reason == "等待插卡超时，本次办理已结束" and plain_chinese(reason)
    grab(qtbot, shell, "money-17-card-timeout")
    end(qtbot, shell, kiosk)
    everything = " ".join(texts_on_screen(shell))
    assert "陈*" not in everything and "330802********1277" not in everything
    assert flow.identity is None and flow.card is None and flow.outcome is None     # nothing was submitted


def test_nobody_placing_the_id_card_times_the_session_out_with_a_warning_first(qtbot, shell, kiosk, monkeypatch):
    from tests.ui.conftest import FakeClock
    t = kiosk.terminal
    clock = FakeClock()
    monkeypatch.setattr(t, "clock", clock)                  # the session's idle timer runs on this clock
    open_tile(qtbot, shell, "withdrawal")
    assert shell.stack.currentWidget() is shell.identify
    ident = t.session.identification
    idle, warning = t.settings.session.idle_timeout_s, t.settings.session.warning_s
    clock.advance(idle - warning + 1)
    t.tick()
    QApplication.processEvents()
    assert shell.overlay.isVisible() and "秒后自动退出" in shell.idle_count.text()
    assert "长时间未操作将自动退出" in shell.idle_text.text()
    grab(qtbot, shell, "money-18-id-card-idle-warning")
    clock.advance(warning)
    t.tick()
    QApplication.processEvents()
    assert t.session is None and shell.stack.currentWidget() is shell.home and not shell.overlay.isVisible()
    assert ident.state.value == "canceled" and not ident.busy
    assert shell.banner.isVisible() and "长时间未操作，已为您安全退出" in shell.banner_label.text()   # why, on screen
    grab(qtbot, shell, "money-19-session-timed-out")
    assert "长时间未操作，已为您安全退出" in [text for _lang, text in t.voice.spoken]     # said aloud (demo: muted voice)
    t.devices.idcard.simulator.place(ZHANG)                # a card placed now starts nothing
    qtbot.wait(300)
    assert t.session is None and shell.stack.currentWidget() is shell.home


# --- 5. the center says no, in plain Chinese -----------------------------------------------------------------

def test_the_center_refuses_money_items_in_plain_chinese(qtbot, shell, kiosk):
    journal = kiosk.services.desk.journal
    # 赵敏's loan is overdue: the center's rules refuse a loan-repayment withdrawal ...
    open_tile(qtbot, shell, "withdrawal")
    flow = identify_as(qtbot, shell, ZHAO, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_06")
    settle(qtbot, flow, Svc.REFUSED)
    reason = refusal_text(shell)
    assert reason == flow.message.zh and plain_chinese(reason) and flow.message.code.startswith("WD_")
    grab(qtbot, shell, "money-20-withdrawal-refused-overdue")
    end(qtbot, shell, kiosk)
    kiosk.terminal.devices.cardreader.simulator.remove()     # she takes her card; a new item, a new insertion
    # ... and a prepayment on the same loan
    open_tile(qtbot, shell, "loan_prepayment")
    flow = identify_as(qtbot, shell, ZHAO, card=True)
    settle(qtbot, flow, Svc.REFUSED)
    reason = refusal_text(shell)
    assert "逾期" in reason and plain_chinese(reason)
    end(qtbot, shell, kiosk)
    kiosk.terminal.devices.cardreader.simulator.remove()
    # 陈伟 (sealed account) opens a flexible account with a ratio outside the city's range: refused on submit
    open_tile(qtbot, shell, "flexible_open")
    flow = identify_as(qtbot, shell, CHEN)
    settle(qtbot, flow, Svc.INPUT)
    shell.service.type_text("base", "4000")
    shell.service.type_text("ratio", "5")
    click(qtbot, shell, "submit")
    qtbot.waitUntil(lambda: flow.state is Svc.READ_CARD and flow.busy == "read_card", timeout=WAIT)
    t = kiosk.terminal
    t.devices.cardreader.simulator.insert(holder=CHEN)
    settle(qtbot, flow, Svc.CONFIRM)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.REFUSED)
    reason = refusal_text(shell)
    assert "缴存比例" in reason and plain_chinese(reason) and flow.message.code == "FLEX_RATIO_RANGE"
    assert journal.get(flow.outcome.client_id).state.value == "rejected"
    grab(qtbot, shell, "money-21-flexible-open-refused-ratio")
    end(qtbot, shell, kiosk)
