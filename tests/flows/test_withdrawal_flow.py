"""A resident withdraws HPF money at the kiosk: reason, the center's answer, their own card, confirm, receipt."""
from __future__ import annotations

from tests.flows.flowhelpers import LIU, ZHANG, identity
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


def test_withdrawal_for_rent_is_queued_offline_and_delivered_once(kiosk, center):
    flow = start(kiosk, ZHANG)
    kiosk.offline()                                   # the link drops after identification
    flow.choose_reason("07")
    flow.submit_evidence({"monthly_rent_fen": "1500", "rent_months": "2"})
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.step == "amount"
    assert any("离线受理" in n for n in flow.view()["notes"])
    flow.enter_amount("800")
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.queued
    assert "已受理，待联网确认" in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    cid = flow.outcome.client_id
    assert kiosk.journal.get(cid).state.value == "queued"
    flow.evaluate(5)                                  # rating while offline is queued too
    kiosk.settle(flow)
    assert flow.evaluation == "queued"

    assert kiosk.drain().error is not None            # still offline: nothing delivered
    kiosk.online()
    report = kiosk.drain()
    assert report.accepted == 2 and kiosk.journal.get(cid).state.value == "accepted"
    assert kiosk.drain().sent == 0                    # nothing left to send
    status = kiosk.client.transaction_status(cid)
    assert status.outcome.value == "accepted" and status.result["amount_fen"] == 80000
    # delivered once: sending the same journaled item again is answered from the center's record, and the
    # balance does not move a second time
    from devices.base import CancelToken
    from sync.protocol import TransactionIn
    entry = kiosk.journal.get(cid)
    balance = kiosk.ctx.center.person(ZHANG[1], CancelToken(0))["account"]["balance_fen"]
    replay = kiosk.client.submit(TransactionIn(client_id=cid, kind=entry.kind, created_at=entry.created_at,
                                               payload=entry.payload, offline=True))
    assert replay.replayed and replay.result["amount_fen"] == 80000
    assert kiosk.ctx.center.person(ZHANG[1], CancelToken(0))["account"]["balance_fen"] == balance


def test_an_offline_withdrawal_over_the_floor_limit_is_refused_before_anything_is_queued(kiosk):
    flow = start(kiosk, ZHANG)
    kiosk.offline()
    rent(flow, kiosk)
    limit = kiosk.settings.offline.per_transaction_limit_fen
    flow.enter_amount(limit + 1)                      # refused at the amount step, in plain Chinese
    assert flow.state is Svc.INPUT and flow.step == "amount"
    assert flow.message.code == "OFFLINE_AMOUNT_OVER_LIMIT" and "网络中断时单笔最多受理" in flow.message.zh
    assert kiosk.journal.figures().depth == 0
    flow.enter_amount(limit)                          # at the limit it may be queued: on to the card
    assert flow.state is Svc.READ_CARD
    flow.cancel()


def test_an_amount_over_the_floor_limit_is_refused_at_confirmation_when_the_link_drops_just_before(kiosk):
    desk = kiosk.ctx.desk                             # a terminal configured with a ¥500.00 floor limit
    desk.limits = desk.limits.model_copy(update={"per_transaction_limit_fen": 50000})
    flow = start(kiosk, ZHANG)
    rent(flow, kiosk)                                 # online: the center's maximum applies, not the floor limit
    flow.enter_amount("800")
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM
    kiosk.offline()                                   # the link drops while the resident reads the confirmation
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.FAILED and flow.message.code == "OFFLINE_AMOUNT_OVER_LIMIT"
    assert kiosk.journal.figures().depth == 0


def test_someone_elses_card_is_refused_and_a_card_pulled_mid_read_is_asked_for_again(kiosk):
    flow = start(kiosk, ZHANG)
    rent(flow, kiosk)
    flow.enter_amount("100")
    reader = kiosk.devices.cardreader
    reader.insert(LIU)
    assert kiosk.tasks.run_until(lambda: flow.message is not None and flow.message.code == "CARD_MISMATCH", 10)
    assert flow.state is Svc.READ_CARD
    reader.pull_during_read = True
    reader.insert(ZHANG)
    assert kiosk.tasks.run_until(lambda: flow.message is not None and flow.message.code == "CARD_PULLED", 10)
    assert flow.state is Svc.READ_CARD
    reader.insert(ZHANG)
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM


def test_nobody_inserting_a_card_ends_the_item_with_a_clear_message(kiosk):
    flow = start(kiosk, ZHANG)
    rent(flow, kiosk)
    flow.enter_amount("100")
    assert flow.state is Svc.READ_CARD
    assert kiosk.tasks.run_until(lambda: flow.finished, 15)
    assert flow.state is Svc.FAILED and flow.message.code == "CARD_TIMEOUT"
    assert kiosk.journal.figures().depth == 0


def test_paper_running_out_during_the_receipt_is_reprinted_as_a_copy(kiosk):
    flow = start(kiosk, ZHANG)
    rent(flow, kiosk)
    flow.enter_amount("300")
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    kiosk.printer_sim.take_paper_out()
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.PRINT_FAILED and flow.outcome.accepted     # the money moved; only paper failed
    assert flow.view()["actions"] == ["reprint", "skip_receipt"]
    assert "补打" in flow.message.zh
    flow.reprint()                                   # still no paper: fails again, still reprintable
    kiosk.settle(flow)
    assert flow.state is Svc.PRINT_FAILED
    kiosk.printer_sim.load_paper()
    flow.reprint()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE
    job = kiosk.printer_sim.wait_for_jobs(1)[-1]
    assert "补打" in job.text and "300.00" in job.text


def test_a_queued_withdrawal_the_center_refuses_on_arrival_is_recorded_with_its_reason(kiosk):
    flow = start(kiosk, LIU)                          # frozen account: the center will say no
    kiosk.offline()
    rent(flow, kiosk)
    flow.enter_amount("500")
    kiosk.devices.cardreader.insert(LIU)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.queued     # the terminal took it within its limits
    kiosk.online()
    report = kiosk.drain()
    assert report.rejected == 1 and report.accepted == 0
    entry = kiosk.journal.get(flow.outcome.client_id)
    assert entry.state.value == "rejected" and entry.last_code.startswith("WD_") and entry.last_message
    assert entry.status_text_zh == "中心未受理"


def test_cancel_while_waiting_for_the_card_stops_the_read_and_journals_nothing(kiosk):
    flow = start(kiosk, ZHANG)
    rent(flow, kiosk)
    flow.enter_amount("100")
    assert flow.state is Svc.READ_CARD and flow.busy == "read_card"
    flow.cancel()
    assert flow.state is Svc.CANCELED and not flow.busy
    kiosk.devices.cardreader.insert(ZHANG)            # a late card changes nothing
    kiosk.tasks.process(wait=0.2)
    assert flow.state is Svc.CANCELED and kiosk.journal.figures().depth == 0
    flow.wipe()
    assert flow.view()["identity"] is None
