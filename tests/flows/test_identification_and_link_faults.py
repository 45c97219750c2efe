"""Items that start with identification against the real center, and a link that fails mid-submit."""
from __future__ import annotations

import pytest

from tests.flows.flowhelpers import ZHANG, identity
from kiosk.flows.identification import IdStep
from kiosk.flows.ports import IdentityDocument
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for
from sync.client import HttpCenterClient, TerminalCredentials
from sync.testing.faultproxy import Fault, FaultProxy


def test_certificate_starts_with_id_card_and_face_checked_by_the_center(kiosk):
    flow = flow_for("deposit_use_certificate", kiosk.ctx)
    flow.start()
    assert flow.state is Svc.IDENTIFY and flow.view()["identification"]["step"] == IdStep.READ_ID.value
    assert flow.view()["identification"]["prompt"] == "请将身份证放在读卡区"
    kiosk.devices.idcard.place(IdentityDocument(name=ZHANG[0], id_number=ZHANG[1]))
    assert kiosk.tasks.run_until(lambda: flow.finished, 30), (flow.state, flow.identification.state)
    assert flow.state is Svc.DONE, flow.message
    assert flow.identity.factors >= {"id", "face"} and flow.identity.level == 2


def test_withdrawal_pays_to_the_card_proved_during_identification(kiosk):
    flow = flow_for("withdrawal", kiosk.ctx)
    flow.start()
    kiosk.devices.idcard.place(IdentityDocument(name=ZHANG[0], id_number=ZHANG[1]))
    assert kiosk.tasks.run_until(lambda: flow.identification.state is IdStep.BANK_CARD, 30), flow.identification.state
    pan = kiosk.devices.cardreader.insert(ZHANG)
    assert kiosk.tasks.run_until(lambda: flow.state is Svc.INPUT, 30), (flow.state, flow.message)
    flow.choose_reason("07")
    flow.submit_evidence({"monthly_rent_fen": "1500", "rent_months": "1"})
    kiosk.settle(flow)
    flow.enter_amount("500")
    assert flow.state is Svc.CONFIRM                   # no second card read: the card was proved already
    assert kiosk.devices.cardreader.reads == 1
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.accepted
    flow.wipe()
    assert flow.identity is None and flow.card is None and pan not in str(flow.view())


def test_identification_failure_ends_the_item_with_its_message(kiosk):
    kiosk.offline()
    flow = flow_for("deposit_use_certificate", kiosk.ctx)
    kiosk.online()                                    # online for the item, but the face check cannot reach ...
    flow.start()
    kiosk.offline()                                   # ... the center once the card is read
    kiosk.devices.idcard.place(IdentityDocument(name=ZHANG[0], id_number=ZHANG[1]))
    assert kiosk.tasks.run_until(lambda: flow.finished, 30)
    assert flow.state is Svc.FAILED and flow.message.code == "CENTER_OFFLINE"


@pytest.fixture
def proxy(center):
    p = FaultProxy("127.0.0.1", center.port, seed=7).start()
    try:
        yield p
    finally:
        p.stop()


def _through(kiosk, proxy, read_timeout_s=5.0):
    client = HttpCenterClient(proxy.url, kiosk.client.credentials, connect_timeout_s=1, read_timeout_s=read_timeout_s)
    kiosk.ctx.center.client = client
    return client


@pytest.mark.parametrize("fault", [Fault.RESET_AFTER_COMMIT, Fault.BLACK_HOLE])
def test_a_reply_lost_or_timed_out_after_the_center_booked_it_is_settled_once_by_the_worker(kiosk, proxy, fault):
    client = _through(kiosk, proxy)
    flow = flow_for("withdrawal", kiosk.ctx, identity(ZHANG))
    flow.start()
    flow.choose_reason("07")
    flow.submit_evidence({"monthly_rent_fen": "1500", "rent_months": "2"})
    kiosk.settle(flow)
    flow.enter_amount("700")
    kiosk.devices.cardreader.insert(ZHANG)
    kiosk.settle(flow)
    from devices.base import CancelToken
    before = kiosk.ctx.center.person(ZHANG[1], CancelToken(0))["account"]["balance_fen"]
    proxy.script(fault)
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE and flow.outcome.queued and flow.outcome.code == "SENT_UNCONFIRMED"
    assert "已受理，待联网确认" in kiosk.printer_sim.wait_for_jobs(1)[-1].text
    report = kiosk.drain()
    assert report.accepted == 1, report
    assert kiosk.journal.get(flow.outcome.client_id).state.value == "accepted"
    after = kiosk.ctx.center.person(ZHANG[1], CancelToken(0))["account"]["balance_fen"]
    # booked exactly once: after a lost reply the center had it and replays; after a black hole it never had it
    assert before - after == 70000
    client.close()


def test_a_query_whose_reply_never_comes_ends_with_the_offline_message_not_a_hang(kiosk, proxy):
    _through(kiosk, proxy)
    proxy.script(Fault.BLACK_HOLE)
    flow = flow_for("query", kiosk.ctx, identity(ZHANG, level=2))
    flow.start()
    kiosk.settle(flow)
    assert flow.state is Svc.FAILED and flow.message.code == "CENTER_OFFLINE"
    assert "网络" in flow.message.zh
