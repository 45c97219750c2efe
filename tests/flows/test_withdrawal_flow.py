"""A resident withdraws HPF money at the kiosk: reason, the center's answer, their own card, confirm, receipt."""
from __future__ import annotations

from conftest import LIU, ZHANG, identity
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for


def start(kiosk, person, code="withdrawal", **kw):
    flow = flow_for(code, kiosk.ctx, identity(person, **kw))
    flow.start()
    kiosk.settle(flow)
    return flow


def rent(flow, kiosk, rent="2,000", months="3"):
    flow.choose_reason("07")
    assert flow.step == "evidence"
    flow.submit_evidence({"monthly_rent_fen": rent, "rent_months": months})
    kiosk.settle(flow)


def test_withdrawal_for_rent_is_confirmed_in_words_and_paid_to_the_residents_own_card(kiosk):
    flow = start(kiosk, ZHANG)
    assert flow.state is Svc.INPUT and flow.step == "reason"
    assert any(c["label"] == "房租超过家庭工资收入规定比例" for c in flow.view()["choices"])
    rent(flow, kiosk)
    assert flow.state is Svc.INPUT and flow.step == "amount", flow.message
    top = flow.decision["max_amount_fen"]
    assert top > 0
    flow.enter_amount(top + 1)
    assert flow.message.code == "WD_AMOUNT_OVER_MAX"
    flow.enter_amount("1,200.50")
    assert flow.state is Svc.READ_CARD
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM
    view = flow.view()
    assert view["amounts"][0]["figures"] == "¥1,200.50"
    assert view["amounts"][0]["words"] == "壹仟贰佰元伍角整"
    card = dict((f["label"], f["value"]) for f in view["fields"])["收款银行卡"]
    assert "*" in card and kiosk.devices.cardreader.card.pan not in str(view)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert flow.outcome.accepted and flow.outcome.result["amount_fen"] == 120050
    job = kiosk.printer_sim.wait_for_jobs(1)[-1]
    assert "120050" not in job.text and "1,200.50" in job.text and "已受理" in job.text
    assert ZHANG[1] not in job.text and ZHANG[0] not in job.text


def test_a_frozen_account_is_refused_with_the_centers_reason(kiosk):
    flow = start(kiosk, LIU)
    rent(flow, kiosk)
    assert flow.state is Svc.REFUSED
    assert flow.message.zh and flow.message.code.startswith("WD_")
    assert flow.view()["evaluation"]["offered"]
