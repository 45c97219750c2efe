"""The identification flow without Qt: a resident proves who they are at the level each item needs."""
from __future__ import annotations

from devices.base import CompletionCode, DeviceError
from kiosk.flows.identification import IdStep, IdentificationFlow, Fallback
from kiosk.flows.ports import Devices
from kiosk.flows.standins import DEMO_PEOPLE
from kiosk.flows.tasks import Tasks

S = IdStep


def wait_for(terminal, flow, *states):
    assert terminal.tasks.run_until(lambda: flow.state in states and flow.waiting_for_customer or flow.finished, 10), \
        f"flow stuck in {flow.state} (busy={flow.busy!r})"
    return flow.state


def test_calculator_needs_no_identification(start_item, terminal):
    flow = start_item("loan_calculator")
    assert flow.state is S.VERIFIED and flow.used == set()


def test_query_is_identified_by_the_id_card_alone(start_item, terminal, sims):
    flow = start_item("account_query")
    assert flow.state is S.READ_ID and flow.busy == "read_id"
    sims.idcard.place()
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED
    assert flow.summary() == {"name": "张*", "id_number": "110105********002X", "factors": "id"}


def test_certificate_needs_a_face_the_center_accepts(start_item, terminal, sims):
    frames, shown = [], []
    flow = start_item("deposit_certificate")
    flow.on_frame(lambda img, rep: frames.append(rep))
    flow.on_guidance(shown.append)
    sims.idcard.place()
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED
    assert flow.used == {"id", "face"}
    hints = [r.hint for r in frames]
    assert "too_far" in hints and "off_center" in hints and frames[-1].passed
    assert [g.code for g in shown][:2] == ["FACE_TOO_FAR", "FACE_OFF_CENTER"]   # every change is shown
    spoken = [text for _, text in terminal.voice.spoken]
    assert "请靠近一些" in spoken and "很好，正在核验" in spoken             # and spoken, calmly


def test_withdrawal_needs_id_face_and_the_bank_card(start_item, terminal, sims):
    flow = start_item("withdrawal")
    sims.idcard.place()
    assert wait_for(terminal, flow, S.BANK_CARD) is S.BANK_CARD
    sims.cardreader.insert(DEMO_PEOPLE[0]["pan"])
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED
    assert flow.used == {"id", "face", "bank_card"}


def test_payoff_certificate_needs_an_sms_code_as_third_factor(start_item, terminal, sims, center):
    flow = start_item("payoff_certificate")
    sims.idcard.place()
    assert wait_for(terminal, flow, S.SMS) is S.SMS
    assert flow.sms_ticket and flow.message.zh == "验证码已发送至 138****8000"
    flow.submit_sms(center.simulator.last_sms_code)
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED


def test_a_wrong_sms_code_says_how_many_tries_are_left_then_locks(start_item, terminal, sims, center):
    flow = start_item("payoff_certificate")
    sims.idcard.place()
    wait_for(terminal, flow, S.SMS)
    right = center.simulator.last_sms_code
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    flow.submit_sms(wrong)
    terminal.tasks.run_until(lambda: flow.message.code == "SMS_WRONG", 5)
    assert flow.state is S.SMS and flow.message.zh == "验证码错误，还可输入 2 次"
    flow.submit_sms("12")                      # too short: refused locally, no attempt used
    assert flow.message.code == "SMS_FORMAT" and flow.code_attempts_left == 2
    flow.submit_sms(wrong)
    terminal.tasks.run_until(lambda: flow.code_attempts_left == 1 and not flow.busy, 5)
    flow.submit_sms(wrong)
    assert wait_for(terminal, flow, S.FAILED) is S.FAILED
    assert flow.message.code == "SMS_LOCKED"


def test_two_refused_faces_lead_to_the_fallback_choice(start_item, terminal, sims, center):
    center.simulator.reject_faces = 2
    flow = start_item("deposit_certificate")
    sims.idcard.place()
    assert wait_for(terminal, flow, S.FALLBACK) is S.FALLBACK
    assert flow.face_failures == 2 and flow.message.code == "FACE_FAILED_TWICE"
    assert flow.fallback_options == [Fallback.ID_SMS, Fallback.ID_PASSWORD, Fallback.STAFF]


def test_fallback_by_query_password_on_a_scrambled_pad(start_item, terminal, sims, center):
    center.simulator.reject_faces = 2
    flow = start_item("deposit_certificate")
    sims.idcard.place()
    wait_for(terminal, flow, S.FALLBACK)
    flow.choose_fallback(Fallback.ID_PASSWORD)
    assert flow.state is S.PASSWORD and sorted(flow.pad_layout) == list("0123456789")
    layouts = {tuple(flow.pad_layout)}
    flow.submit_password("000000")
    terminal.tasks.run_until(lambda: flow.message and flow.message.code == "PASSWORD_WRONG", 5)
    layouts.add(tuple(flow.pad_layout))
    flow.submit_password(DEMO_PEOPLE[0]["password"])
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED
    assert flow.used == {"id", "password"}


def test_fallback_by_sms_then_staff_help_is_always_offered(start_item, terminal, sims, center):
    center.simulator.reject_faces = 2
    flow = start_item("deposit_certificate")
    sims.idcard.place()
    wait_for(terminal, flow, S.FALLBACK)
    flow.choose_fallback(Fallback.STAFF)
    assert flow.state is S.STAFF
    assert any(t == "已通知工作人员，请稍候" for _, t in terminal.voice.spoken)
    flow.choose_fallback(Fallback.ID_SMS)
    wait_for(terminal, flow, S.SMS)
    flow.submit_sms(center.simulator.last_sms_code)
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED


def test_at_level_3_an_sms_fallback_still_needs_the_bank_card(start_item, terminal, sims, center):
    center.simulator.reject_faces = 2
    flow = start_item("payoff_certificate")
    sims.idcard.place()
    wait_for(terminal, flow, S.FALLBACK)
    flow.choose_fallback("id_sms")
    wait_for(terminal, flow, S.SMS)
    flow.submit_sms(center.simulator.last_sms_code)
    assert wait_for(terminal, flow, S.BANK_CARD) is S.BANK_CARD
    sims.cardreader.insert()
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED


def test_no_camera_goes_straight_to_the_fallback(start_item, terminal, sims):
    sims.camera.missing = True
    flow = start_item("deposit_certificate")
    sims.idcard.place()
    assert wait_for(terminal, flow, S.FALLBACK) is S.FALLBACK
    assert flow.message.code == "CAMERA_UNAVAILABLE"


def test_a_card_pulled_during_the_read_asks_to_insert_it_again(start_item, terminal, sims):
    flow = start_item("withdrawal")
    sims.idcard.place()
    wait_for(terminal, flow, S.BANK_CARD)
    sims.cardreader.pull_during_read = True
    sims.cardreader.insert()
    terminal.tasks.run_until(lambda: flow.message and flow.message.code == "CARD_PULLED", 5)
    assert flow.state is S.BANK_CARD and flow.busy == "read_card"      # waiting for the card again
    sims.cardreader.insert()
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED


def test_someone_elses_bank_card_is_refused(start_item, terminal, sims):
    flow = start_item("withdrawal")
    sims.idcard.place()
    wait_for(terminal, flow, S.BANK_CARD)
    sims.cardreader.insert(DEMO_PEOPLE[1]["pan"])
    terminal.tasks.run_until(lambda: flow.message and flow.message.code == "CARD_MISMATCH", 5)
    assert flow.state is S.BANK_CARD and "bank_card" not in flow.used


def test_missing_id_reader_fails_with_a_clear_message(start_item, terminal, sims):
    sims.idcard.missing = True
    flow = start_item("account_query")
    assert flow.state is S.FAILED
    assert flow.message.code == "ID_READER_UNAVAILABLE" and "工作人员" in flow.message.zh


def test_an_unreadable_id_card_is_asked_for_again(start_item, terminal, sims):
    flow = start_item("account_query")
    sims.idcard.fail_next = DeviceError(CompletionCode.USER_ERROR, "SW3_41", "read failed")
    sims.idcard.place()
    terminal.tasks.run_until(lambda: flow.message and flow.message.code == "ID_READ_RETRY", 5)
    assert flow.state is S.READ_ID
    sims.idcard.place()
    assert wait_for(terminal, flow, S.VERIFIED) is S.VERIFIED


def test_center_offline_during_face_check_fails_plainly(start_item, terminal, sims, center):
    center.simulator.online = False
    flow = start_item("deposit_certificate")
    sims.idcard.place()
    assert wait_for(terminal, flow, S.FAILED) is S.FAILED
    assert flow.message.code == "CENTER_OFFLINE"


def test_cancel_stops_the_wait_for_the_card(start_item, terminal, sims):
    flow = start_item("account_query")
    flow.cancel()
    assert flow.state is S.CANCELED and flow.busy == ""
    sims.idcard.place()                                  # a late card changes nothing
    terminal.tasks.process(wait=0.2)
    assert flow.state is S.CANCELED and flow.document is None


def test_identity_level_must_be_known():
    import pytest
    with pytest.raises(ValueError):
        IdentificationFlow(4, Devices(), None, Tasks())
