"""Flexible employment, transfer-in, phone change, information, progress and evaluation at the kiosk."""
from __future__ import annotations

import re

import requests

from tests.flows.flowhelpers import LIU, WU, ZHANG, ZHOU, identity
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import ITEMS, check_all, flow_for


def start(kiosk, person, code, level=3):
    flow = flow_for(code, kiosk.ctx, identity(person, level=level) if person else None)
    flow.start()
    kiosk.settle(flow)
    return flow


def fields(flow):
    return {f["label"]: f["value"] for f in flow.view()["fields"]}


def test_flexible_worker_opens_an_account_signs_with_their_card_and_deposits_from_it(kiosk):
    flow = start(kiosk, ZHOU, "flexible_open", level=2)
    flow.submit_terms("5,000", "12")
    assert flow.state is Svc.READ_CARD
    pan = kiosk.devices.cardreader.insert(ZHOU)
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM
    assert flow.view()["amounts"][0]["figures"] == "¥600.00" and flow.view()["amounts"][0]["words"] == "陆佰元整"
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert flow.outcome.result["monthly_amount_fen"] == 60000
    assert pan not in kiosk.printer_sim.wait_for_jobs(1)[-1].text

    dep = start(kiosk, ZHOU, "deposit", level=2)
    assert dep.state is Svc.INPUT and dep.step == "months", dep.message
    assert fields(dep)["扣款银行卡"].endswith(pan[-4:]) and pan not in str(dep.view())
    dep.choose_months(3)
    assert dep.view()["amounts"][0]["fen"] == 180000
    dep.confirm()
    kiosk.settle(dep)
    assert dep.state is Svc.DONE and dep.outcome.accepted, dep.message


def test_flexible_terms_outside_the_city_range_are_refused_by_the_center(kiosk):
    flow = start(kiosk, ZHOU, "flexible_open", level=2)
    flow.submit_terms("5,000", "5")
    kiosk.devices.cardreader.insert(ZHOU)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.REFUSED and "缴存比例" in flow.message.zh
    assert kiosk.journal.get(flow.outcome.client_id).state.value == "rejected"


def test_a_flexible_deposit_is_queued_offline_within_the_limits_and_delivered_later(kiosk):
    flow = start(kiosk, ZHOU, "flexible_open", level=2)
    flow.submit_terms("3,000", "10")
    kiosk.devices.cardreader.insert(ZHOU)
    kiosk.settle(flow)
    flow.confirm()
    kiosk.settle(flow)
    dep = start(kiosk, ZHOU, "deposit", level=2)      # the agreement was read online ...
    kiosk.offline()                                    # ... then the link dropped
    dep.choose_months(1)
    dep.confirm()
    kiosk.settle(dep)
    assert dep.state is Svc.DONE and dep.outcome.queued
    assert "已受理，待联网确认" in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    kiosk.online()
    assert kiosk.drain().accepted == 1
    assert kiosk.journal.get(dep.outcome.client_id).state.value == "accepted"


def test_employer_paid_resident_cannot_make_a_flexible_deposit(kiosk):
    flow = start(kiosk, ZHANG, "deposit", level=2)
    assert flow.state is Svc.REFUSED and flow.message.code == "FLEX_NOT_FLEXIBLE"


def test_transfer_in_status_is_shown_and_a_new_application_gets_a_letter_number(kiosk):
    busy = start(kiosk, WU, "transfer_in", level=2)
    assert busy.state is Svc.SHOW and "apply" not in busy.view()["actions"]
    assert busy.view()["table"]["rows"][0][2] == "处理中"
    flow = start(kiosk, ZHANG, "transfer_in", level=2)
    flow.apply()
    flow.submit_origin("12")
    assert flow.message.code == "TRANSFER_CENTER_CODE"
    flow.submit_origin("C11000", "北京住房公积金管理中心")
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    letter = fields(flow)["联系函编号"]
    prog = start(kiosk, ZHANG, "progress_query", level=1)
    prog.submit_serial(letter)
    kiosk.settle(prog)
    assert prog.state is Svc.SHOW and fields(prog)["办理状态"] == "处理中"


def test_progress_query_for_an_unknown_serial_asks_again(kiosk):
    prog = start(kiosk, ZHANG, "progress_query", level=1)
    prog.submit_serial("TQ0000000000")
    kiosk.settle(prog)
    assert prog.state is Svc.INPUT and prog.message.code == "SERIAL_NOT_FOUND"
    prog.submit_serial("?")
    assert prog.message.code == "SERIAL_FORMAT"


def _sms_code(center, phone: str) -> str:
    rows = requests.get(center.url + "/v1/sandbox/sms", params={"phone": phone, "limit": 1}, timeout=10).json()
    return re.search(r"验证码(\d{6})", rows[0]["text"]).group(1)


def test_phone_change_proves_the_new_number_by_sms_then_changes_it(kiosk, center):
    flow = start(kiosk, ZHANG, "phone_change", level=2)
    flow.submit_phone("1380013")
    assert flow.message.code.startswith("PHONE") or flow.state is Svc.INPUT
    flow.submit_phone("13912345670")
    kiosk.settle(flow)
    assert flow.step == "code" and "139****5670" in flow.message.zh
    flow.submit_code("000000" if _sms_code(center, "13912345670") != "000000" else "111111")
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.message.code == "SMS_WRONG"
    flow.submit_code(_sms_code(center, "13912345670"))
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert fields(flow)["新手机号码"] == "139****5670"
    over = start(kiosk, ZHANG, "query", level=2)
    assert fields(over)["登记手机"] == "139****5670"


def test_information_is_readable_offline_from_the_cached_catalog(kiosk):
    kiosk.offline()
    flow = start(kiosk, None, "guide", level=0)
    assert flow.state is Svc.SHOW and flow.step == "menu"
    flow.open("guides")
    assert any(c["id"] == "withdrawal" for c in flow.view()["choices"])
    flow.show_guide("withdrawal")
    f = fields(flow)
    assert "身份证" in f["所需材料"] and "3个工作日" in f["办理时限"] and f["办理渠道"] == "网络中断时可离线受理"
    flow.open("hotline") if flow.state is Svc.SHOW and flow.step == "menu" else flow.menu()
    flow.open("hotline")
    assert fields(flow)["服务热线"] == "12329"
    flow.menu()
    flow.open("faq")
    assert len(flow.view()["fields"]) >= 3 and flow.view()["table"] is None
    flow.finish()
    assert flow.state is Svc.DONE


def test_evaluation_after_an_item_reaches_the_center(kiosk):
    flow = start(kiosk, LIU, "query", level=2)
    flow.finish()
    assert flow.view()["evaluation"]["offered"]
    flow.evaluate(4, "很方便")
    kiosk.settle(flow)
    assert flow.evaluation == "sent" and not flow.view()["evaluation"]["offered"]
    alone = start(kiosk, None, "evaluation", level=0)
    alone.rate(5)
    kiosk.settle(alone)
    assert alone.state is Svc.DONE and alone.evaluation == "sent"


def test_every_registered_item_has_a_flow_and_a_view_screens_can_render(kiosk):
    assert check_all() == []
    for code in ITEMS:
        flow = flow_for(code, kiosk.ctx)
        v = flow.view()
        assert {"item", "title", "state", "step", "fields", "choices", "amounts", "actions"} <= set(v)


def test_query_password_is_set_twice_on_a_scrambled_pad_and_only_its_digest_reaches_the_center(kiosk, caplog):
    from devices.base import CancelToken
    from kiosk.flows.services.account_services import password_digest
    flow = start(kiosk, ZHANG, "query_password", level=2)
    assert sorted(flow.view()["pad_layout"]) == list("0123456789")
    flow.submit_password("123456")
    assert flow.message.code == "PASSWORD_WEAK"
    flow.submit_password("480937")
    assert flow.step == "repeat"
    flow.submit_password("480930")
    assert flow.step == "new" and flow.message.code == "PASSWORD_MISMATCH"
    flow.submit_password("480937")
    flow.submit_password("480937")
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    entry = kiosk.journal.get(flow.outcome.client_id)
    assert "480937" not in str(entry.payload) and "480937" not in caplog.text
    port = kiosk.ctx.center
    ok = port.verify_query_password(ZHANG[1], password_digest(ZHANG[1], "480937"), "k1", CancelToken(0))
    bad = port.verify_query_password(ZHANG[1], password_digest(ZHANG[1], "480938"), "k2", CancelToken(0))
    assert ok["verified"] is True and bad == {"verified": False, "attempts_left": 4}


def test_repayment_account_moves_to_the_residents_new_card(kiosk):
    from tests.flows.flowhelpers import LI, WANG
    flow = flow_for("repayment_account", kiosk.ctx, identity(LI))
    flow.start()
    assert kiosk.tasks.run_until(lambda: flow.state is Svc.READ_CARD or flow.finished, 10)
    assert flow.state is Svc.READ_CARD, flow.message
    pan = kiosk.devices.cardreader.insert(LI)
    kiosk.settle(flow)
    assert flow.state is Svc.CONFIRM and pan not in str(flow.view())
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    assert fields(flow)["新还款银行卡"].endswith(pan[-4:])
    paid_off = start(kiosk, WANG, "repayment_account")
    assert paid_off.state is Svc.REFUSED and paid_off.message.code == "LOAN_NONE"


def test_the_composition_root_gets_a_working_context_from_a_terminal(kiosk, center, tmp_path):
    """kiosk/app.py can offer the flows with one call; here on a stand-in Terminal with the test's devices."""
    from types import SimpleNamespace

    from kiosk.flows.services.registry import context_for_terminal
    from sync.client import TerminalCredentials
    closers = []
    terminal = SimpleNamespace(devices=kiosk.devices, tasks=kiosk.tasks, center=kiosk.ctx.identity_center,
                               catalog=kiosk.ctx.catalog(), online=True, call_staff=lambda where: None)
    ctx = context_for_terminal(kiosk.settings, terminal, base_url=center.url,
                               credentials=kiosk.client.credentials, switch=kiosk.switch, closers=closers,
                               a4_device=kiosk.a4_device)
    try:
        flow = flow_for("query", ctx, identity(ZHANG, level=2))
        flow.start()
        kiosk.settle(flow)
        assert flow.state is Svc.SHOW and fields(flow)["账户状态"] == "正常"
        terminal.online = False
        off = flow_for("query", ctx, identity(ZHANG, level=2))
        off.start()
        assert off.state is Svc.FAILED and off.message.code == "OFFLINE_NOT_ALLOWED"
    finally:
        for close in closers:
            close()
