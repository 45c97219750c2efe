"""Flexible employment agreement signing, the deposit's receipt, and the offline floor limit checked while the
resident is still choosing the amount (no Qt; the real center over loopback, the real ESC/POS class)."""
from __future__ import annotations

from tests.flows.flowhelpers import ZHANG, ZHOU, identity
from kiosk.flows.ports import BankCard
from kiosk.flows.services.base import Svc
from kiosk.flows.services.flexible import year_month
from kiosk.flows.services.registry import flow_for


def start(kiosk, person, code, level=3, card=None):
    flow = flow_for(code, kiosk.ctx, identity(person, level=level, card=card))
    flow.start()
    kiosk.settle(flow)
    return flow


def fields(flow):
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def open_account(kiosk, base="5,000", ratio="12"):
    flow = start(kiosk, ZHOU, "flexible_open", level=2)
    flow.submit_terms(base, ratio)
    pan = kiosk.devices.cardreader.insert(ZHOU)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    kiosk.devices.cardreader.remove()
    return flow, pan


def test_year_month_reads_like_a_date_and_leaves_anything_else_alone():
    assert year_month("202701") == "2027年01月"
    assert year_month("") == "" and year_month("2027-01") == "2027-01" and year_month("20270") == "20270"


def test_signing_a_new_agreement_with_the_card_proved_at_identification_changes_the_monthly_amount(kiosk):
    opened, first_pan = open_account(kiosk)
    from tests.flows.flowhelpers import luhn_pan
    card = BankCard(luhn_pan(), "3012", ZHOU[0], ZHOU[1])          # her other card, checked during identification
    flow = start(kiosk, ZHOU, "flexible_sign", level=3, card=card)
    assert flow.state is Svc.INPUT and flow.step == "terms"
    flow.submit_terms("6,000", "10")
    assert flow.state is Svc.CONFIRM                             # no second card read: the proved card is used
    f = fields(flow)
    assert f["扣款银行卡"].endswith(card.pan[-4:]) and card.pan not in str(flow.view())
    assert flow.view()["amounts"][0]["fen"] == 60000 and flow.view()["amounts"][0]["words"] == "陆佰元整"
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.accepted, flow.message
    agreement = flow.outcome.result["agreement_no"]
    assert agreement != opened.outcome.result["agreement_no"] and fields(flow)["协议编号"] == agreement
    job = kiosk.printer_sim.wait_for_jobs(2)[-1]
    assert agreement in job.text and card.pan not in job.text

    dep = start(kiosk, ZHOU, "deposit", level=2)                 # the deposit follows the new agreement
    f = fields(dep)
    assert f["每月缴存额"] == "¥600.00" and f["扣款银行卡"].endswith(card.pan[-4:])
    assert not f["扣款银行卡"].endswith(first_pan[-4:])
    dep.choose_months(2)
    dep.confirm()
    kiosk.settle(dep)
    assert dep.state is Svc.DONE and dep.outcome.accepted
    r = dep.outcome.result
    f = fields(dep)
    assert f["缴至年月"] == year_month(r["paid_up_to"]) and f["账户余额"] == "¥1,200.00" and r["balance_after_fen"] == 120000
    job = kiosk.printer_sim.wait_for_jobs(3)[-1]
    assert f["流水号"] in job.text and "1,200.00" in job.text and year_month(r["paid_up_to"]) in job.text


def test_signing_without_a_flexible_account_is_refused_by_the_center(kiosk):
    card = BankCard("6222020000000000008", "3012", ZHANG[0], ZHANG[1])
    flow = start(kiosk, ZHANG, "flexible_sign", level=3, card=card)
    flow.submit_terms("5,000", "12")
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.REFUSED and flow.message.code == "FLEX_NOT_FLEXIBLE" and "灵活就业" in flow.message.zh
    assert kiosk.journal.get(flow.outcome.client_id).state.value == "rejected"


def test_an_offline_deposit_over_the_floor_limit_is_refused_when_the_months_are_chosen(kiosk):
    open_account(kiosk, base="10,000", ratio="12")               # ¥1,200.00 a month
    desk = kiosk.ctx.desk
    desk.limits = desk.limits.model_copy(update={"per_transaction_limit_fen": 300000})   # ¥3,000.00 offline
    dep = start(kiosk, ZHOU, "deposit", level=2)
    kiosk.offline()
    dep.choose_months(3)                                         # ¥3,600.00: over the limit
    assert dep.state is Svc.INPUT and dep.step == "months" and dep.message.code == "OFFLINE_AMOUNT_OVER_LIMIT"
    assert dep.message.zh == "网络中断时单笔最多受理¥3,000.00，请减少月数或联网后办理"
    dep.choose_months(2)                                         # ¥2,400.00: queued, and the paper says so
    assert dep.state is Svc.CONFIRM
    dep.confirm()
    kiosk.settle(dep)
    assert dep.state is Svc.DONE and dep.outcome.queued
    assert fields(dep)["办理结果"] == "已受理，待联网确认"
    job = kiosk.printer_sim.wait_for_jobs(2)[-1]
    assert "已受理，待联网确认" in job.text and "联网后由公积金中心确认扣款" in job.text
    kiosk.online()
    assert kiosk.drain().accepted == 1
    assert kiosk.journal.get(dep.outcome.client_id).state.value == "accepted"


def test_the_amount_check_lets_everything_through_online_and_for_local_items(kiosk):
    desk = kiosk.ctx.desk
    desk.check_amount("withdrawal", 10 ** 12)                     # online: the center decides, not the floor limit
    kiosk.offline()
    desk.check_amount("loan_calc", 10 ** 12)                      # local items never queue
    desk.check_amount("withdrawal", desk.limits.per_transaction_limit_fen)


def test_the_sync_worker_reports_the_queue_depth_while_the_link_is_down(kiosk):
    """The kiosk's header counts queued items from the worker's "queue" events: an item queued offline must be
    counted before the link returns, not only after a successful upload."""
    events = []
    kiosk.worker.subscribe(lambda ev: events.append((ev.name, dict(ev.data))))
    flow = start(kiosk, ZHANG, "withdrawal")
    kiosk.offline()
    flow.choose_reason("07")
    flow.submit_evidence({"monthly_rent_fen": "1,500", "rent_months": "2"})
    kiosk.settle(flow)
    flow.enter_amount("500")
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.queued
    assert kiosk.drain().error is not None                       # the worker's attempt fails: link down
    depths = [d["depth"] for name, d in events if name == "queue"]
    assert depths and depths[-1] == 1
    assert ("link", False) in [(name, d.get("online")) for name, d in events]
    kiosk.online()
    assert kiosk.drain().accepted == 1
    assert [d["depth"] for name, d in events if name == "queue"][-1] == 0


def test_a_deposit_whose_receipt_is_left_behind_stays_in_the_print_journal_for_staff_to_reprint(kiosk):
    open_account(kiosk, base="4,000", ratio="12")
    dep = start(kiosk, ZHOU, "deposit", level=2)
    dep.choose_months(1)
    kiosk.printer_sim.take_paper_out()
    dep.confirm()
    kiosk.settle(dep)
    assert dep.state is Svc.PRINT_FAILED and dep.outcome.accepted          # the deposit is booked all the same
    assert dep.message.zh.startswith("打印失败：") and "补打" in dep.message.zh and dep.message.zh.count("补打") == 1
    job_id = dep.print_job_id
    dep.skip_receipt()                                                  # 不要凭条: the resident leaves without it
    assert dep.state is Svc.DONE and dep.message.code == "PRINTER_UNAVAILABLE"
    journal = kiosk.receipt_device.journal
    left = [j for j in journal.outstanding() if j.id == job_id]
    assert left and left[0].error_code == "PAPER_OUT" and "480.00" in str(left[0].document.to_dict())
    kiosk.printer_sim.load_paper()                                      # staff reprint it later, as a copy
    from devices.base import CancelToken
    from kiosk.flows.services.ports import ReceiptPrinterAdapter
    copy_id = ReceiptPrinterAdapter(kiosk.receipt_device).reprint(job_id, CancelToken(10))
    assert journal.get(job_id).resolved_by == copy_id and not [j for j in journal.outstanding() if j.id == job_id]
    assert "补打" in kiosk.printer_sim.wait_for_jobs(1)[-1].text
