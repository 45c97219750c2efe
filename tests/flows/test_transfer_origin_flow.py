"""Transfer-in at the kiosk without typing: the origin center is chosen from a list, the resident can step back,
and the 联系函 carries the chosen center's code and name to the center (real center over loopback)."""
from __future__ import annotations

from devices.base import CancelToken
from kiosk.flows.services.base import Svc
from kiosk.flows.services.registry import flow_for
from kiosk.flows.services.transfer import ORIGIN_CENTERS
from tests.flows.flowhelpers import ZHANG, identity


def start(kiosk, person, code):
    flow = flow_for(code, kiosk.ctx, identity(person, level=2))
    flow.start()
    kiosk.settle(flow)
    return flow


def test_the_origin_is_chosen_from_the_list_back_returns_and_the_letter_names_the_chosen_center(kiosk):
    flow = start(kiosk, ZHANG, "transfer_in")
    assert flow.state is Svc.SHOW and "apply" in flow.view()["actions"]
    flow.apply()
    v = flow.view()
    assert flow.state is Svc.INPUT and v["step"] == "origin" and v["inputs"] == []       # nothing to type
    assert [c["id"] for c in v["choices"]] == [c for c, _ in ORIGIN_CENTERS]
    assert "choose_origin" in v["actions"] and "back" in v["actions"]
    assert all(len(c) == 6 and c != "C33080" for c, _ in ORIGIN_CENTERS)             # never this center itself
    flow.choose_origin("C99999")                                                      # not offered
    assert flow.state is Svc.INPUT and flow.message.code == "TRANSFER_CENTER_CODE"
    flow.back()
    assert flow.state is Svc.SHOW and flow.view()["choices"] == [] and "apply" in flow.view()["actions"]
    flow.apply()
    flow.choose_origin("C31000")
    assert flow.state is Svc.CONFIRM
    assert {f["label"]: f["value"] for f in flow.view()["fields"]} == {"转出地中心": "上海市公积金管理中心",
                                                                       "转出地中心代码": "C31000"}
    flow.back()                                                                       # changed her mind
    assert flow.state is Svc.SHOW
    flow.apply()
    flow.choose_origin("C33010")
    flow.confirm()
    kiosk.settle(flow)
    assert flow.state is Svc.DONE, flow.message
    letter = flow.outcome.result["letter_no"]
    cases = kiosk.ctx.center.transfers(ZHANG[1], CancelToken(0))
    assert [(c["letter_no"], c["from_center"], c.get("from_center_name")) for c in cases] == \
        [(letter, "C33010", "杭州住房公积金管理中心")]                                  # one case, the chosen center
    again = start(kiosk, ZHANG, "transfer_in")
    assert again.state is Svc.SHOW and "apply" not in again.view()["actions"]
    again.apply()                                                                     # refused while one is open
    assert again.state is Svc.SHOW
