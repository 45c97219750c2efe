"""Phone change at the kiosk when the center will not send or accept a code: the resident is told in the center's
plain words and stays where they can act (resend, another number), the item is not ended as "network down".
Real center over loopback; its SMS limits are real (1 per minute and 10 per day per phone)."""
from __future__ import annotations

import re

import requests

from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for
from tests.flows.flowhelpers import WANG, ZHANG, identity


def start(kiosk, person):
    flow = flow_for("phone_change", kiosk.ctx, identity(person, level=2))
    flow.start()
    kiosk.settle(flow)
    return flow


def code_for(center, phone):
    rows = requests.get(center.url + "/v1/sandbox/sms", params={"phone": phone, "limit": 1}, timeout=10).json()
    return re.search(r"(\d{6})", rows[0]["text"]).group(1)


def test_a_resend_too_soon_keeps_the_code_step_and_says_how_long_to_wait(kiosk, center):
    flow = start(kiosk, ZHANG)
    flow.submit_phone("13912340001")
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.step == "code", flow.message
    flow.resend()                                          # within the minute: the center refuses (429)
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.step == "code", flow.message
    assert flow.message.code == "SMS_TOO_FREQUENT" and "秒后再试" in flow.message.zh
    assert "resend" in flow.view()["actions"]
    flow.submit_code(code_for(center, "13912340001"))     # the first code still works
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message


def test_a_number_that_just_got_a_code_is_refused_at_the_number_step_and_another_can_be_tried(kiosk, center):
    first = start(kiosk, ZHANG)
    first.submit_phone("13912340002")
    kiosk.settle(first)
    assert first.step == "code"
    first.cancel()
    second = start(kiosk, WANG)                            # someone types the same number within the minute
    second.submit_phone("13912340002")
    kiosk.settle(second)
    assert second.state is Svc.INPUT and second.step == "phone" and second.message.code == "SMS_TOO_FREQUENT"
    second.submit_phone("13912340003")
    kiosk.settle(second)
    assert second.state is Svc.INPUT and second.step == "code", second.message


def test_a_code_the_center_has_locked_is_said_plainly_and_resend_stays_offered(kiosk, center):
    from devices.base import CancelToken
    flow = start(kiosk, ZHANG)
    flow.submit_phone("13912340004")
    kiosk.settle(flow)
    right = code_for(center, "13912340004")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for n in range(4):                                     # 4 wrong answers elsewhere; the 5th uses the code up
        assert kiosk.ctx.center.verify_sms(ZHANG[1], "phone_change", "13912340004", wrong, f"burn-{n}",
                                           CancelToken(0)) is False
    flow.submit_code(wrong)                                # the 5th wrong answer: the center voids the code
    kiosk.settle(flow)
    assert flow.state is Svc.INPUT and flow.step == "code", flow.message
    assert flow.message.code == "SMS_CODE_LOCKED" and "resend" in flow.view()["actions"]
    assert flow.outcome is None                            # nothing was changed
