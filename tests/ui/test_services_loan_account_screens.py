"""Issue 8, loans, account services and transfer-in at the kiosk screen, end to end: the real Qt shell, the real
embedded reference center (signed HTTP over loopback), the simulated ID reader, camera and PC/SC bank-card reader
behind the real adapters, the real ESC/POS printer class on the simulated printer. SMS codes are read from the
center's sandbox outbox (GET /v1/sandbox/sms?phone=) and typed on the on-screen keypads, as a resident would.

Every screen of every flow is saved in normal and care mode (tests/artifacts/screens/services-*/L*.png); grab()
fails on clipped text. The tests share one center (module scope) and run in file order: 李秀英's schedule, then
her repayment-account change and partial prepayments, then the full prepayment that settles her loan."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.loan import build_schedule
from kiosk.domain.masking import mask_card, mask_phone
from kiosk.domain.money import chinese_uppercase, format_yuan
from kiosk.flows.identification import IdStep
from kiosk.flows.services.base import Svc
from tests.ui.conftest import texts_on_screen
from tests.ui.servicehelpers import kiosk, shell  # noqa: F401  (pytest fixtures)
from tests.ui.servicehelpers import LEFT, LI, WAIT, WANG, WU, ZHANG, ZHAO, click, choose, find, settle
from tests.ui.servicehelpers import grab_both as grab

pytestmark = pytest.mark.ui

PHONES = {ZHANG.id_number: "13805700001", LI.id_number: "13805700002", WANG.id_number: "13805700003",
          ZHAO.id_number: "13805700004", WU.id_number: "13805700009"}        # center/README.md demo persons
LI_NEW_CARD = "6217000010000000018"                                         # Luhn-valid UnionPay number


# --- helpers ------------------------------------------------------------------------------------------------
def open_item(qtbot, shell, code: str) -> None:
    """Tap the item's home tile; an item the catalog does not list yet is opened the same way the shell opens a
    tile (Shell.open_item with the registry's own item)."""
    tile = shell.home.show_tile(code)
    if tile is not None:
        return qtbot.mouseClick(tile, LEFT)
    from kiosk.flows.home import Tile
    from kiosk.flows.services.registry import spec
    s = spec(code)
    shell.open_item(Tile(s.code, s.name_zh, s.name_en, s.identity_level, True, moves_money=s.moves_money))


def sandbox_code(kiosk, phone: str) -> str:
    """The newest code the center 'sent' to that phone (its sandbox SMS outbox, not signed, sandbox only)."""
    r = requests.get(kiosk.embedded_center.url + "/v1/sandbox/sms", params={"phone": phone, "limit": 1}, timeout=10)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert rows, f"no SMS to {phone}"
    m = re.search(r"(\d{6})", rows[0]["text"])
    assert m, rows[0]
    return m.group(1)


def keys(qtbot, pad, digits: str) -> None:
    for d in digits:
        qtbot.mouseClick(pad.key(d), LEFT)


def identify(qtbot, shell, kiosk, person, card: bool = False):
    """Place the ID card (and the person's own bank card for money items); the simulated camera passes the face;
    when the item's level asks for an SMS code to the registered phone, read it from the sandbox and type it on
    the identification screen's keypad. Returns the service flow once its page shows."""
    t = shell.terminal
    t.devices.idcard.simulator.place(person)
    if card:
        t.devices.cardreader.simulator.insert(holder=person)
    page = shell.identify

    def ready():
        f = page.flow
        return shell.stack.currentWidget() is shell.service or (
            f is not None and f.state is IdStep.SMS and f.sms_ticket is not None and not f.busy)
    qtbot.waitUntil(ready, timeout=WAIT)
    if shell.stack.currentWidget() is not shell.service:
        keys(qtbot, page.sms_pad, sandbox_code(kiosk, PHONES[person.id_number]))
        qtbot.mouseClick(page.sms_ok, LEFT)
        qtbot.waitUntil(lambda: shell.stack.currentWidget() is shell.service, timeout=WAIT)
    return shell.service.flow


def screen_text(shell) -> str:
    QApplication.processEvents()
    return " ".join(texts_on_screen(shell.service))


def fields(flow) -> dict:
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def refusal_text(shell) -> str:
    QApplication.processEvents()
    w = shell.service.findChild(type(shell.service.title), "refusal")
    assert w is not None and w.isVisible()
    return w.text()


def last_receipt(kiosk, before: int) -> str:
    sim = kiosk.terminal.devices.printer.simulator.sim
    jobs = sim.wait_for_jobs(before + 1, timeout=10)
    assert len(jobs) > before, "no receipt printed"
    return jobs[-1].text


def jobs(kiosk) -> int:
    return len(kiosk.terminal.devices.printer.simulator.sim.jobs)


def end(qtbot, shell, kiosk) -> None:
    click(qtbot, shell, "action_end")
    assert kiosk.terminal.session is None and shell.stack.currentWidget() is shell.home


# --- 1. loans --------------------------------------------------------------------------------------------------
def test_loan_calculator_both_methods_exact_to_the_fen_at_the_catalogs_rate(qtbot, shell, kiosk):
    """hpf-rules.md check values: 1,000,000 over 360 months at 2.6% -> 等额本息 4,003.40/month; 等额本金 first month
    4,944.44, 6.02 less each month, last 2,783.80, total interest 391,083.33. (The 等额本息 total interest of the
    notes, 441,222.96, is the unrounded payment x 360; kiosk.domain.loan rounds every installment to the fen and
    lets the last absorb the residual, so its exact total is what the screen must show.)"""
    rates = kiosk.terminal.catalog.rates
    latest = max(rates, key=lambda r: r.effective_from)
    assert latest.first_home_gt5_bp == 260                     # the 2025-05-08 PBOC rate, from the center's catalog
    open_item(qtbot, shell, "loan_calc")
    flow = shell.service.flow
    assert flow.state is Svc.INPUT and flow.step == "terms"
    for d in "1000000":
        click(qtbot, shell, f"key_{d}")
    assert "1000000" in find(shell, "input_amount").text()
    grab(qtbot, shell, "L01-loan-calc-terms")
    click(qtbot, shell, "submit")
    assert flow.state is Svc.SHOW, flow.message
    want = {m: build_schedule(100_000_000, Decimal("0.026"), 360, m)
            for m in (RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL)}
    annuity, principal = want[RepaymentMethod.EQUAL_INSTALLMENT], want[RepaymentMethod.EQUAL_PRINCIPAL]
    assert annuity.first_payment_fen == 400_340
    assert principal.first_payment_fen == 494_444 and principal.installments[-1].payment_fen == 278_380
    assert principal.total_interest_fen == 39_108_333
    pays = [x.payment_fen for x in principal.installments]
    assert {a - b for a, b in zip(pays, pays[1:])} <= {601, 602}   # 6.0185 a month, each rounded to the fen
    text = screen_text(shell)
    for fen in (400_340, annuity.total_interest_fen, 494_444, 39_108_333):
        assert format_yuan(fen) in text, format_yuan(fen)
        assert chinese_uppercase(fen) in text, chinese_uppercase(fen)
    assert "2.6%" in text and "中心利率表" in text
    rows = flow.table["rows"]                                  # 等额本息 shown first: every month the same
    assert rows[0][2] == rows[1][2] == format_yuan(400_340)
    grab(qtbot, shell, "L02-loan-calc-result-annuity")
    click(qtbot, shell, "choice_02")                           # 等额本金
    assert flow.method == "02"
    rows = flow.table["rows"]
    assert rows[0][2] == format_yuan(494_444) and rows[1][2] == format_yuan(pays[1])
    assert format_yuan(pays[1]) in screen_text(shell)
    grab(qtbot, shell, "L03-loan-calc-result-principal")
    click(qtbot, shell, "next_page")
    assert flow.table["page"] == 2 and flow.table["rows"][0][0] == "13"
    assert format_yuan(principal.installments[12].payment_fen) in screen_text(shell)
    assert not shell.service.pad.isVisible()                   # the result has the room; 上一步 brings the terms back
    click(qtbot, shell, "action_back")
    assert flow.state is Svc.INPUT and flow.step == "terms" and shell.service.pad.isVisible()
    assert flow.view()["inputs"][0]["value"] == "1000000" and flow.view()["table"] is None
    click(qtbot, shell, "submit")
    assert flow.state is Svc.SHOW and flow.amounts[0]["fen"] == 400_340
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)


def test_loan_preapplication_from_the_keypad_gets_the_centers_answer_and_a_serial(qtbot, shell, kiosk):
    open_item(qtbot, shell, "loan_preapply")
    flow = identify(qtbot, shell, kiosk, ZHANG)
    settle(qtbot, flow, Svc.INPUT)
    page = shell.service
    assert flow.step == "terms" and page.active == "house_price"
    for d in "1000000":
        click(qtbot, shell, f"key_{d}")
    click(qtbot, shell, "input_amount")
    for d in "300000":
        click(qtbot, shell, f"key_{d}")
    click(qtbot, shell, "input_months")
    click(qtbot, shell, "key_clear")
    for d in "240":
        click(qtbot, shell, f"key_{d}")
    click(qtbot, shell, "input_method")                       # 等额本息 -> 等额本金
    assert page.values["method"] == "02" and page.values["months"] == "240"
    grab(qtbot, shell, "L04-loan-preapply-terms")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    f = fields(flow)
    assert f["还款方式"] == "等额本金" and f["贷款期限"] == "240个月" and f["年利率"] == "2.6%"
    limit = flow.limit
    assert limit["allowed"] and f["可贷额度"] == format_yuan(limit["max_amount_fen"])
    text = screen_text(shell)
    assert "¥300,000.00" in text and "叁拾万元整" in text and f["可贷额度"] in text
    grab(qtbot, shell, "L05-loan-preapply-confirm")
    before = jobs(kiosk)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    serial = flow.outcome.result["serial"]
    assert serial.startswith("DK") and flow.outcome.accepted
    text = screen_text(shell)
    assert serial in text and "已受理，待审批" in text
    assert ZHANG.id_number not in text and ZHANG.name not in text
    paper = last_receipt(kiosk, before)
    assert serial in paper and "300,000.00" in paper and ZHANG.id_number not in paper
    grab(qtbot, shell, "L06-loan-preapply-done")
    end(qtbot, shell, kiosk)


def test_repayment_schedule_turns_pages_and_the_rows_change(qtbot, shell, kiosk):
    open_item(qtbot, shell, "loan_schedule")
    flow = identify(qtbot, shell, kiosk, LI)
    settle(qtbot, flow, Svc.SHOW)
    assert flow.step == "schedule"
    table = flow.table
    assert table["pages"] > 2 and "状态" in table["columns"]
    first = [r[0] for r in table["rows"]]
    assert "未还" in [r[-1] for r in table["rows"]]            # opens at the page of the first unpaid period
    text = screen_text(shell)
    assert f"第 {table['page']} / {table['pages']} 页" in text
    assert all(c in text for c in table["rows"][0][:3])
    grab(qtbot, shell, "L07-loan-schedule")
    click(qtbot, shell, "next_page")
    assert flow.table["page"] == table["page"] + 1
    second = [r[0] for r in flow.table["rows"]]
    assert second[0] == str(int(first[-1]) + 1) and set(first).isdisjoint(second)
    text = screen_text(shell)
    assert flow.table["rows"][0][2] in text and f"第 {table['page'] + 1} / " in text
    grab(qtbot, shell, "L08-loan-schedule-next-page")
    click(qtbot, shell, "prev_page")
    click(qtbot, shell, "prev_page")
    assert flow.table["page"] == table["page"] - 1
    assert set(r[-1] for r in flow.table["rows"]) == {"已还"}
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)


def test_repayment_account_takes_only_a_new_card_in_the_borrowers_own_name(qtbot, shell, kiosk):
    t = kiosk.terminal
    reader = t.devices.cardreader.simulator
    open_item(qtbot, shell, "repayment_account")
    flow = identify(qtbot, shell, kiosk, LI, card=True)       # L3: ID card, face, her own bank card
    qtbot.waitUntil(lambda: flow.state is Svc.READ_CARD or flow.finished, timeout=WAIT)   # waits for a card
    assert flow.state is Svc.READ_CARD, flow.message
    assert fields(flow) == {} and "新的还款银行卡" in screen_text(shell)
    grab(qtbot, shell, "L09-repayment-account-insert-card")
    reader.remove()                                           # the card used to identify her comes out
    reader.insert(pan="6222021234567890128", holder=ZHANG)    # someone else's card
    qtbot.waitUntil(lambda: flow.message is not None and flow.message.code == "CARD_MISMATCH"
                    or flow.state is not Svc.READ_CARD, timeout=WAIT)
    assert flow.state is Svc.READ_CARD and flow.card is None
    assert "不是您本人的" in screen_text(shell)
    grab(qtbot, shell, "L10-repayment-account-card-not-hers")
    reader.remove()
    reader.insert(pan=LI_NEW_CARD, holder=LI)                 # her own new card
    settle(qtbot, flow, Svc.CONFIRM)
    masked = mask_card(LI_NEW_CARD)
    assert fields(flow)["新还款银行卡"] == masked
    text = screen_text(shell)
    assert masked in text and LI_NEW_CARD not in text
    grab(qtbot, shell, "L11-repayment-account-confirm")
    before = jobs(kiosk)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted and flow.outcome.result["bank_card_masked"] == masked
    assert masked in screen_text(shell)
    paper = last_receipt(kiosk, before)
    assert masked in paper and LI_NEW_CARD not in paper
    assert "借款合同号" in paper and flow.loan["contract_no"][-4:] in paper    # long numbers are masked on paper
    grab(qtbot, shell, "L12-repayment-account-done")
    end(qtbot, shell, kiosk)


def _prepay_partial(qtbot, shell, kiosk, mode: str, shot: str):
    open_item(qtbot, shell, "loan_prepayment")
    flow = identify(qtbot, shell, kiosk, LI, card=True)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "mode"
    periods_before = int(fields(flow)["剩余期数"].rstrip("期"))
    payment_before = fields(flow)["当前月供"]
    if mode == "shorten":
        grab(qtbot, shell, "L13-prepayment-mode")
    choose(qtbot, shell, f"choice_{mode}")
    assert flow.step == "amount"
    for d in "20000":
        click(qtbot, shell, f"key_{d}")
    if mode == "shorten":                                     # the reduce screens look the same until the answer
        grab(qtbot, shell, f"{shot}-amount")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.CONFIRM)
    text = screen_text(shell)
    assert "¥20,000.00" in text and "贰万元整" in text       # figures and Chinese capitals
    preview = fields(flow)
    if mode == "shorten":
        grab(qtbot, shell, f"{shot}-confirm")
    before = jobs(kiosk)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    r = flow.outcome.result
    assert flow.outcome.accepted and r["paid_fen"] == 2_000_000 and r["mode"] == mode
    # the center's answer, on screen and on paper, agrees with what the kiosk previewed before confirming
    assert f"{r['remaining_periods']}期" == preview["还款后剩余期数"]
    assert format_yuan(r["next_payment_fen"]) == preview["还款后月供"]
    text = screen_text(shell)
    paper = last_receipt(kiosk, before)
    for shown in (f"{r['remaining_periods']}期", format_yuan(r["next_payment_fen"]), format_yuan(r["balance_after_fen"]),
                  "20,000.00"):
        assert shown in text and shown in paper, shown
    assert LI.id_number not in paper and LI.name not in text
    grab(qtbot, shell, f"{shot}-done")
    end(qtbot, shell, kiosk)
    return periods_before, payment_before, r


def test_partial_prepayment_shortening_the_term(qtbot, shell, kiosk):
    periods, payment, r = _prepay_partial(qtbot, shell, kiosk, "shorten", "L14-prepayment-shorten")
    assert r["remaining_periods"] < periods                   # fewer periods ...
    assert r["next_payment_fen"] <= int(payment.replace("¥", "").replace(",", "").replace(".", ""))


def test_partial_prepayment_reducing_the_payment(qtbot, shell, kiosk):
    periods, payment, r = _prepay_partial(qtbot, shell, kiosk, "reduce", "L15-prepayment-reduce")
    assert r["remaining_periods"] == periods                  # same term ...
    assert r["next_payment_fen"] < int(payment.replace("¥", "").replace(",", "").replace(".", ""))   # ... less a month


def test_an_overdue_loan_is_refused_in_plain_chinese(qtbot, shell, kiosk):
    open_item(qtbot, shell, "loan_prepayment")
    flow = identify(qtbot, shell, kiosk, ZHAO, card=True)
    settle(qtbot, flow, Svc.REFUSED)
    assert flow.message.code == "LOAN_IN_ARREARS"
    text = refusal_text(shell)
    assert text == "贷款有逾期未还款项，请先归还逾期款项" and "LOAN_" not in text
    assert "(LOAN_IN_ARREARS)" in screen_text(shell)          # the code, for staff, beside the words
    grab(qtbot, shell, "L16-prepayment-refused-overdue")
    end(qtbot, shell, kiosk)


def test_full_prepayment_settles_the_loan_with_the_amount_in_words(qtbot, shell, kiosk):
    open_item(qtbot, shell, "loan_prepayment")
    flow = identify(qtbot, shell, kiosk, LI, card=True)
    settle(qtbot, flow, Svc.INPUT)
    choose(qtbot, shell, "choice_full")
    settle(qtbot, flow, Svc.CONFIRM)
    due = flow.amount_fen
    text = screen_text(shell)
    assert format_yuan(due) in text and chinese_uppercase(due) in text
    grab(qtbot, shell, "L17-prepayment-full-confirm")
    before = jobs(kiosk)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    r = flow.outcome.result
    assert r["paid_off"] and r["paid_fen"] == due and r["balance_after_fen"] == 0
    text = screen_text(shell)
    assert "贷款已结清" in text and fields(flow)["贷款余额"] == "¥0.00" and format_yuan(due) in text
    paper = last_receipt(kiosk, before)
    assert format_yuan(due).lstrip("¥") in paper and "全部结清" in paper
    grab(qtbot, shell, "L18-prepayment-full-done")
    contract = flow.loan["contract_no"]
    # the payoff certificate in the same visit: no second identification
    before = jobs(kiosk)
    click(qtbot, shell, "action_follow_up")
    cert = shell.service.flow
    assert cert is not flow and cert.code == "payoff_certificate" and flow.state is Svc.DONE
    settle(qtbot, cert, Svc.DONE)
    assert len(cert.printed) == 2 and cert.contract_no == contract          # A4 certificate + receipt
    paper = last_receipt(kiosk, before)
    assert "已出具" in paper and "A4" in paper and LI.id_number not in paper
    grab(qtbot, shell, "L18b-payoff-certificate-done")
    end(qtbot, shell, kiosk)
    # the center's books agree: the loan is paid off
    from devices.base import CancelToken
    loan = next(l for l in kiosk.services.center.loans(LI.id_number, CancelToken(0)) if l["contract_no"] == contract)
    assert loan["state"] == "paid_off" and loan["balance_fen"] == 0


# --- 2. account services ---------------------------------------------------------------------------------------
def test_phone_change_proves_the_new_number_by_an_sms_code_typed_on_the_keypad(qtbot, shell, kiosk):
    new = "13957012345"
    open_item(qtbot, shell, "phone_change")
    flow = identify(qtbot, shell, kiosk, WANG)                 # ID card + face (+ SMS to the old number at L3)
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "phone"
    for d in new:
        click(qtbot, shell, f"key_{d}")
    grab(qtbot, shell, "L19-phone-change-number")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.step == "code", flow.message
    text = screen_text(shell)
    assert mask_phone(new) in text and new not in text        # "验证码已发送至新号码 139****2345"
    grab(qtbot, shell, "L20-phone-change-code")
    code = sandbox_code(kiosk, new)                           # the code went to the NEW number
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for d in wrong:
        click(qtbot, shell, f"key_{d}")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.INPUT)
    assert flow.message.code == "SMS_WRONG" and "还可输入 2 次" in screen_text(shell)
    grab(qtbot, shell, "L21-phone-change-wrong-code")
    click(qtbot, shell, "key_clear")
    for d in code:
        click(qtbot, shell, f"key_{d}")
    before = jobs(kiosk)
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted and flow.outcome.result["phone_masked"] == mask_phone(new)
    text = screen_text(shell)
    assert mask_phone(new) in text and new not in text
    paper = last_receipt(kiosk, before)
    assert mask_phone(new) in paper and new not in paper
    grab(qtbot, shell, "L22-phone-change-done")
    end(qtbot, shell, kiosk)
    # the center's record now holds the new number
    from devices.base import CancelToken
    assert kiosk.services.center.person(WANG.id_number, CancelToken(0))["phone_masked"] == mask_phone(new)
    PHONES[WANG.id_number] = new


def test_query_password_is_typed_twice_on_a_scrambled_keypad_and_a_mismatch_is_refused(qtbot, shell, kiosk):
    open_item(qtbot, shell, "query_password")
    flow = identify(qtbot, shell, kiosk, ZHANG)
    settle(qtbot, flow, Svc.INPUT)
    pad = shell.service.pad

    def shown_layout():
        QApplication.processEvents()
        return [k.text() for k in pad.keys]

    assert flow.step == "new" and pad.isVisible()
    first_layout = shown_layout()
    assert first_layout == flow.pad_layout and sorted(first_layout) == list("0123456789")
    keys(qtbot, pad, "480937")                                # pressed by label wherever the key sits now
    assert find(shell, "input_password").text().endswith("●" * 6)
    assert "480937" not in screen_text(shell)
    grab(qtbot, shell, "L23-query-password-new")
    click(qtbot, shell, "submit")
    assert flow.step == "repeat" and shown_layout() == flow.pad_layout
    keys(qtbot, pad, "480938")                                # not the same
    click(qtbot, shell, "submit")
    assert flow.step == "new" and flow.message.code == "PASSWORD_MISMATCH"
    assert "两次输入的密码不一致" in screen_text(shell)
    grab(qtbot, shell, "L24-query-password-mismatch")
    layouts = {tuple(first_layout), tuple(shown_layout())}
    keys(qtbot, pad, "480937")
    click(qtbot, shell, "submit")
    layouts.add(tuple(shown_layout()))
    assert len(layouts) >= 2                                  # the keys move between entries
    keys(qtbot, pad, "480937")
    click(qtbot, shell, "submit")
    settle(qtbot, flow, Svc.DONE)
    assert flow.outcome.accepted and "查询密码已设置" in screen_text(shell)
    grab(qtbot, shell, "L25-query-password-done")
    end(qtbot, shell, kiosk)
    from devices.base import CancelToken
    from kiosk.flows.services.account_services import password_digest
    port = kiosk.services.center
    assert port.verify_query_password(ZHANG.id_number, password_digest(ZHANG.id_number, "480937"), "ui-qp-1",
                                      CancelToken(0))["verified"] is True
    assert port.verify_query_password(ZHANG.id_number, password_digest(ZHANG.id_number, "480938"), "ui-qp-2",
                                      CancelToken(0))["verified"] is False


# --- 3. transfer-in --------------------------------------------------------------------------------------------
def test_transfer_in_in_progress_is_shown_and_no_second_application_is_offered(qtbot, shell, kiosk):
    open_item(qtbot, shell, "transfer_in")
    flow = identify(qtbot, shell, kiosk, WU)
    settle(qtbot, flow, Svc.SHOW)
    text = screen_text(shell)
    assert "处理中" in text and "办结前不能再次申请" in text
    assert shell.service.findChild(QPushButton, "action_apply") is None
    grab(qtbot, shell, "L26-transfer-in-in-progress")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)


def test_transfer_in_application_with_the_origin_center_then_its_status(qtbot, shell, kiosk):
    open_item(qtbot, shell, "transfer_in")
    flow = identify(qtbot, shell, kiosk, ZHANG)
    settle(qtbot, flow, Svc.SHOW)
    assert "没有转移接续业务记录" in screen_text(shell)
    click(qtbot, shell, "action_apply")
    assert flow.state is Svc.INPUT and flow.step == "origin"
    grab(qtbot, shell, "L27-transfer-in-origin")
    choose(qtbot, shell, "choice_C33010")                     # 杭州
    assert flow.state is Svc.CONFIRM
    assert "杭州住房公积金管理中心" in screen_text(shell)
    grab(qtbot, shell, "L28-transfer-in-confirm")
    before = jobs(kiosk)
    click(qtbot, shell, "action_confirm")
    settle(qtbot, flow, Svc.DONE)
    letter = flow.outcome.result["letter_no"]
    assert re.fullmatch(r"C33080\d{6}\d{4}", letter)          # this center's code + YYMMDD + sequence
    text = screen_text(shell)
    assert letter in text and "处理中" in text
    assert letter in last_receipt(kiosk, before)
    grab(qtbot, shell, "L29-transfer-in-done")
    end(qtbot, shell, kiosk)
    shell.terminal.devices.idcard.simulator.lift()            # the next visit: the status afterwards
    open_item(qtbot, shell, "transfer_in")
    flow = identify(qtbot, shell, kiosk, ZHANG)
    settle(qtbot, flow, Svc.SHOW)
    row = flow.table["rows"][0]
    assert row[0] == letter and row[1] == "杭州住房公积金管理中心" and row[2] == "处理中"
    text = screen_text(shell)
    assert letter in text and "处理中" in text and shell.service.findChild(QPushButton, "action_apply") is None
    grab(qtbot, shell, "L30-transfer-in-status")
    click(qtbot, shell, "action_finish")
    end(qtbot, shell, kiosk)
