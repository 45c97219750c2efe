"""Loans at the kiosk: the calculator (offline too), the schedule, prepayment, the pre-application."""
from __future__ import annotations

from tests.flows.flowhelpers import LI, ZHANG, ZHAO, ZHOU, identity
from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.loan import build_schedule
from kiosk.domain.money import format_yuan
from devices.base import CancelToken
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for


def start(kiosk, person, code, level=3):
    flow = flow_for(code, kiosk.ctx, identity(person, level=level) if person else None)
    flow.start()
    kiosk.settle(flow)
    return flow


def amounts(flow):
    return {a["label"]: a for a in flow.view()["amounts"]}


def test_calculator_works_offline_exact_to_the_fen_with_both_methods_and_catalog_rates(kiosk):
    kiosk.offline()
    flow = start(kiosk, None, "loan_calc")
    assert flow.state is Svc.INPUT and flow.step == "terms"
    flow.calculate("500,000", "360", True)
    assert flow.state is Svc.SHOW, flow.message
    rate = kiosk.ctx.catalog().rates[-1].first_home_gt5_bp
    from decimal import Decimal
    want = build_schedule(50_000_000, Decimal(rate) / 10000, 360, RepaymentMethod.EQUAL_INSTALLMENT)
    a = amounts(flow)
    assert a["等额本息·首月月供"]["fen"] == want.first_payment_fen
    assert a["等额本息·支付利息总额"]["fen"] == want.total_interest_fen
    assert a["等额本金·首月月供"]["fen"] > a["等额本息·首月月供"]["fen"]
    assert a["等额本金·支付利息总额"]["fen"] < a["等额本息·支付利息总额"]["fen"]
    assert "中心利率表" in dict((f["label"], f["value"]) for f in flow.view()["fields"])["利率来源"]
    table = flow.view()["table"]
    assert table["pages"] == 30 and len(table["rows"]) == 12
    flow.next_page()
    assert flow.view()["table"]["rows"][0][0] == "13"
    flow.show_method("02")
    assert flow.view()["table"]["page"] == 1
    flow.calculate("abc", "360")
    assert flow.message.code.startswith("AMOUNT")
    flow.calculate("100000", "999")
    assert flow.message.code == "LOAN_TERM_INVALID"


def test_schedule_opens_at_the_first_unpaid_period(kiosk):
    flow = start(kiosk, LI, "loan_schedule", level=2)
    assert flow.state is Svc.SHOW and flow.step == "schedule", flow.message
    rows = flow.view()["table"]["rows"]
    states = [r[-1] for r in rows]
    assert "未还" in states
    flow.prev_page()
    assert flow.view()["table"]["page"] >= 1


def test_partial_prepayment_shortening_the_term_is_confirmed_in_words_and_booked(kiosk):
    flow = start(kiosk, LI, "loan_prepayment")
    assert flow.state is Svc.INPUT and flow.step == "mode", flow.message
    flow.choose_mode("shorten")
    flow.enter_amount("20,000")
    assert flow.state is Svc.CONFIRM
    assert amounts(flow)["本次还款金额"]["words"] == "贰万元整"
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert flow.outcome.accepted and flow.outcome.result["paid_fen"] == 2_000_000
    assert "20,000.00" in kiosk.printer_sim.wait_for_jobs(1)[-1].text


def test_full_prepayment_settles_the_loan_and_offers_the_payoff_certificate(kiosk):
    flow = start(kiosk, LI, "loan_prepayment")
    flow.choose_mode("full")
    assert flow.state is Svc.CONFIRM
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.paid_off, flow.message
    cert = flow.payoff_certificate()
    cert.start()
    kiosk.settle(cert)
    assert cert.state is Svc.DONE and len(cert.printed) == 2


def test_an_overdue_loan_cannot_be_prepaid_and_the_resident_is_told_why(kiosk):
    flow = start(kiosk, ZHAO, "loan_prepayment")
    assert flow.state is Svc.REFUSED and flow.message.code == "LOAN_IN_ARREARS"
    nothing = start(kiosk, ZHANG, "loan_prepayment")
    assert nothing.state is Svc.REFUSED and nothing.message.code == "LOAN_NONE"


def test_pre_application_shows_the_centers_limit_and_is_filed_online_only(kiosk):
    flow = start(kiosk, ZHANG, "loan_preapply")
    flow.submit_terms("1,000,000", "300,000", "240", True, "01")
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM, flow.message
    assert "可贷额度" in {f["label"] for f in flow.view()["fields"]}
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert flow.outcome.result["serial"].startswith("DK")
    assert "已受理，待审批" in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    nobody = start(kiosk, ZHOU, "loan_preapply")
    nobody.submit_terms("1,000,000", "300,000", "240")
    kiosk.settle(nobody)
    assert nobody.state is Svc.REFUSED and nobody.message.code == "ACCOUNT_NOT_FOUND"
    kiosk.offline()
    off = flow_for("loan_preapply", kiosk.ctx, identity(ZHANG))
    off.start()
    assert off.state is Svc.FAILED and off.message.code == "OFFLINE_NOT_ALLOWED"


def test_a_second_prepayment_starts_from_the_balance_the_first_one_left(kiosk):
    """After a partial prepayment the paid rows still carry the balance of their day: the next prepayment (and the
    full payoff) must start from the loan's real balance, on the kiosk's preview and in the center's books."""
    def prepay(mode, amount=None):
        flow = start(kiosk, LI, "loan_prepayment")
        assert flow.state is Svc.INPUT and flow.step == "mode", flow.message
        before = flow.loan["balance_fen"]
        flow.choose_mode(mode)
        if amount is not None:
            flow.enter_amount(amount)
        assert flow.state is Svc.CONFIRM, flow.message
        preview = {f["label"]: f["value"] for f in flow.view()["fields"]}
        flow.confirm()
        kiosk.settle(flow)
        assert flow.state is Svc.DONE, flow.message
        return before, preview, flow.outcome.result

    b0, _, first = prepay("shorten", "20000")
    assert first["balance_after_fen"] == b0 - 2_000_000
    b1, preview, second = prepay("reduce", "20000")
    assert b1 == first["balance_after_fen"] and second["balance_after_fen"] == b1 - 2_000_000
    assert second["remaining_periods"] == first["remaining_periods"]
    assert second["next_payment_fen"] < first["next_payment_fen"]          # reduce: less a month, really
    assert preview["还款后月供"] == format_yuan(second["next_payment_fen"])   # the kiosk previewed the same
    sched = kiosk.ctx.center.schedule(LI[1], second["contract_no"], CancelToken(0))
    owed = sum(r["principal_fen"] for r in sched["installments"] if r["state"] == "due")
    assert owed == second["balance_after_fen"]                              # the new rows repay exactly the balance
    b2, _, full = prepay("full")
    assert b2 == second["balance_after_fen"] and full["paid_off"]
    assert b2 <= full["paid_fen"] <= b2 + b2 * 31 // 3600                   # balance + at most a month's interest
