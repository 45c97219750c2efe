"""Stories of a resident at the ID-card reader, told through the real IdCardReader talking over a real pty to
the simulated SAM module: every card kind reads, every fault ends in a clear Completion, the worker survives,
the reader comes back by itself when it is plugged in again."""
from __future__ import annotations

import threading

import pytest

from devices import registry
from devices.base import CompletionCode, DeviceStatus, MediaState
from devices.idcard import protocol as p
from devices.idcard.card import CardType, IdCardData
from devices.idcard.reader import IdCardReader
from devices.idcard.sim import SYNTHETIC_CARDS, Fault, IdCardSimulator, SimIdCardReader


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_clear(completion, code: CompletionCode, error_code: str) -> None:
    assert completion.code is code, completion
    assert completion.error_code == error_code, completion
    assert has_chinese(completion.message) and completion.description


@pytest.mark.parametrize("name", sorted(SYNTHETIC_CARDS))
def test_each_card_kind_placed_on_the_reader_is_read_in_full(sim, reader, name):
    placed = sim.place(name)
    result = reader.read_card(timeout=5).result()
    assert result.ok, result
    card: IdCardData = result.value
    assert card == placed
    assert card.photo_wlt == placed.photo_wlt and len(card.photo_wlt) == 1024
    assert card.photo_bmp is not None and card.photo_bmp[:2] == b"BM"      # the fixture decoder plug-in
    assert reader.status.state.device is DeviceStatus.ONLINE


def test_a_card_with_fingerprints_is_read_with_command_30_10(sim, reader):
    sim.place("resident_fingerprint")
    card = reader.read_card(timeout=5, fingerprint=True).result().value
    assert card.fingerprint == SYNTHETIC_CARDS["resident_fingerprint"].fingerprint
    assert p.Command.READ_TEXT_PHOTO_FINGERPRINT.value in sim.requests


def test_a_card_without_fingerprints_read_with_30_10_has_none(sim, reader):
    sim.place("resident")
    card = reader.read_card(timeout=5, fingerprint=True).result().value
    assert card.fingerprint is None and card.name == "张晓明"


def test_the_single_commands_answer_in_order_find_select_read(sim, reader):
    assert reader.find_card().code is CompletionCode.USER_ERROR            # nothing there yet: SW3 80
    sim.place("resident")
    assert reader.find_card().ok and reader.select_card().ok
    assert reader.read_text_photo().value.id_number == SYNTHETIC_CARDS["resident"].id_number
    assert reader.reset_sam().ok and reader.sam_status().ok
    assert reader.sam_id().value == "05.01-20101207-0000218429-1234567890"


def test_selftest_reports_the_sam_id(reader):
    result = reader.selftest()
    assert result.ok and result.value["sam_id"].startswith("05.01-")


def test_nobody_places_a_card_and_the_wait_times_out_with_a_prompt(reader, statuses):
    result = reader.read_card(timeout=0.5).result()
    assert_clear(result, CompletionCode.TIMEOUT, "NO_CARD_TIMEOUT")
    assert reader.status.state.media is MediaState.NOT_PRESENT


def test_the_customer_cancels_while_the_kiosk_waits_without_a_time_limit(sim, reader):
    handle = reader.read_card(timeout=0)
    assert not handle.done()
    handle.cancel()
    result = handle.result()
    assert result.code is CompletionCode.CANCELED          # canceled, not timed out
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok         # the worker is alive and reads the next card


def test_waiting_for_the_customer_then_the_card_arrives(sim, reader, statuses):
    handle = reader.read_card(timeout=0)
    statuses.wait_for(lambda s: s.media is MediaState.NOT_PRESENT)
    sim.place("resident_long_term")
    result = handle.result()
    assert result.ok and result.value.long_term
    assert any(e.media is MediaState.PRESENT for e in statuses.events)


def test_a_card_lifted_mid_read_asks_the_customer_to_place_it_again(sim, reader):
    sim.place("resident")
    sim.set_fault(Fault.LIFT_MID_READ, p.Command.READ_TEXT_PHOTO)
    assert_clear(reader.read_card(timeout=5).result(), CompletionCode.USER_ERROR, "SW3_41")
    assert sim.card is None
    sim.clear_fault()
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok


def test_a_garbled_card_read_asks_for_the_card_again(sim, reader):
    sim.place("resident")
    sim.set_fault(Fault.CHECKSUM, p.Command.READ_TEXT_PHOTO)
    result = reader.read_card(timeout=5).result()
    assert_clear(result, CompletionCode.INVALID_DATA, "RX_CHECKSUM")
    assert "重新放置" in result.message
    assert sim.requests.count(p.Command.READ_TEXT_PHOTO.value) == 1   # the SAM halted the card: no retry
    sim.clear_fault()
    sim.lift()
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok


def test_one_garbled_poll_answer_is_retried_and_the_customer_never_notices(sim, reader):
    sim.place("resident")
    sim.set_fault(Fault.CHECKSUM, p.Command.FIND_CARD, times=1)
    sim.set_fault(Fault.TRUNCATED, p.Command.SELECT_CARD, times=1)
    assert reader.read_card(timeout=5).result().ok
    assert sim.faults == set()


def test_a_line_that_keeps_garbling_polls_ends_the_wait_with_invalid_data(sim, reader):
    sim.set_fault(Fault.CHECKSUM, p.Command.FIND_CARD)
    assert_clear(reader.read_card(timeout=0).result(), CompletionCode.INVALID_DATA, "RX_CHECKSUM")


def test_a_closed_reader_answers_not_ready_instead_of_hanging(make_reader):
    reader = make_reader()
    reader.close()
    assert_clear(reader.read_card(timeout=0).result(), CompletionCode.DEVICE_NOT_READY, "CLOSED")


def test_a_truncated_answer_is_invalid_data_not_a_hang(sim, reader):
    sim.place("hmt")
    sim.set_fault(Fault.TRUNCATED, p.Command.READ_TEXT_PHOTO)
    assert_clear(reader.read_card(timeout=10).result(), CompletionCode.INVALID_DATA, "RX_TRUNCATED")
    sim.clear_fault()
    sim.lift()
    sim.place("hmt")
    assert reader.read_card(timeout=5).result().value.card_type is CardType.HMT_RESIDENCE_PERMIT


def test_a_silent_reader_goes_offline_and_comes_back_online(sim, reader, statuses):
    sim.set_fault(Fault.SILENCE)
    assert_clear(reader.read_card(timeout=5).result(), CompletionCode.DEVICE_NOT_READY, "RX_TIMEOUT")
    assert reader.status.state.device is DeviceStatus.OFFLINE
    mark = len(statuses.events)
    sim.clear_fault()
    statuses.wait_for(lambda s: s.device is DeviceStatus.ONLINE, since=mark)   # the idle probe finds it


@pytest.mark.parametrize("fault, sw3", [(Fault.SAM_FAILURE, "SW3_60"), (Fault.SAM_UNAUTHORISED, "SW3_66")])
def test_a_failed_security_module_is_a_hardware_error_for_staff(sim, reader, statuses, fault, sw3):
    sim.place("resident")
    sim.set_fault(fault)
    assert_clear(reader.read_card(timeout=5).result(), CompletionCode.HARDWARE_ERROR, sw3)
    assert_clear(reader.selftest(), CompletionCode.HARDWARE_ERROR, sw3)
    assert reader.status.state.device is DeviceStatus.HARDWARE_ERROR
    mark = len(statuses.events)
    sim.clear_fault()
    statuses.wait_for(lambda s: s.device is DeviceStatus.ONLINE, since=mark)
    assert reader.read_card(timeout=5).result().ok


def test_unplugged_reader_is_no_device_and_returns_by_itself_when_plugged_back(sim, reader, statuses):
    sim.unplug()
    statuses.wait_for(lambda s: s.device is DeviceStatus.NO_DEVICE)
    assert_clear(reader.read_card(timeout=2).result(), CompletionCode.DEVICE_NOT_READY, "PORT_MISSING")
    assert not reader.is_usable().ok and "not found" in reader.is_usable().missing
    mark = len(statuses.events)
    sim.replug()
    statuses.wait_for(lambda s: s.device is DeviceStatus.ONLINE, since=mark)
    sim.place("foreign_2023")
    assert reader.read_card(timeout=5).result().ok


def test_a_card_left_on_the_reader_is_read_once_per_placement(sim, reader):
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok
    assert reader.read_card(timeout=0.5).result().code is CompletionCode.TIMEOUT   # still lying there
    assert sim.reads == 1
    sim.lift()
    sim.place("resident")                        # the next customer (or the same one, again)
    assert reader.read_card(timeout=5).result().ok and sim.reads == 2


def test_even_a_reader_that_does_not_halt_cards_reads_one_placement_once(sim, make_reader):
    sim.halt_after_read = False                  # some modules keep answering "found"
    reader = make_reader(halting_module=False)
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok
    assert reader.read_card(timeout=0.5).result().code is CompletionCode.TIMEOUT
    assert sim.reads == 1
    sim.lift()
    reader.read_card(timeout=0.3).result()       # the reader sees the empty slot ...
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok and sim.reads == 2   # ... so this is a new placement


def test_the_same_card_placed_again_between_two_reads_is_read_again(sim, reader):
    for _ in range(3):                           # no polling in between: a halting SAM still tells
        sim.place("resident")
        assert reader.read_card(timeout=5).result().ok
        sim.lift()
    assert sim.reads == 3


def test_status_events_are_sent_only_when_something_changes(sim, reader, statuses):
    for _ in range(3):
        assert reader.sam_status().ok
    assert statuses.events == []                 # was online already: nothing new to announce


def test_another_baud_rate_paced_like_a_real_uart(tmp_path):
    sim = IdCardSimulator(link=str(tmp_path / "tty57600"), baud=57600, pace=True).start()
    reader = SimIdCardReader(sim, probe_interval_s=5)
    try:
        assert reader.baud == 57600
        sim.place("resident_deang")
        card = reader.read_card(timeout=5).result().value
        assert card.nation == "德昂"
    finally:
        reader.close()


def test_a_missing_port_is_named_by_is_usable_and_by_the_completion(tmp_path):
    reader = IdCardReader(str(tmp_path / "ttyUSB9"), response_timeout_s=0.2, probe_interval_s=5)
    try:
        assert reader.status.state.device is DeviceStatus.NO_DEVICE
        assert "ttyUSB9 not found" in reader.is_usable().missing
        assert_clear(reader.selftest(), CompletionCode.DEVICE_NOT_READY, "PORT_MISSING")
    finally:
        reader.close()
    assert IdCardReader.is_usable().ok           # asked of the class: pyserial is installed


def test_an_unsupported_baud_rate_is_refused_up_front(tmp_path):
    with pytest.raises(ValueError):
        IdCardReader(str(tmp_path / "tty"), baud=4800)


def test_the_registry_builds_the_simulated_reader_for_the_demo_profile():
    from config import load_settings
    built = registry.build(load_settings(profile="demo"), "idcard")
    try:
        assert built.usability.ok and isinstance(built.device, SimIdCardReader)
        assert built.device.status.state.device is DeviceStatus.ONLINE
        built.device.simulator.place("resident")
        assert built.device.read_card(timeout=5).result().ok
    finally:
        built.device.close()


def test_the_registry_reports_a_teller_reader_that_is_not_plugged_in(monkeypatch, tmp_path):
    from config import load_settings
    monkeypatch.setenv("HPF_KIOSK__DEVICES__IDCARD__PORT", str(tmp_path / "ttyUSB0"))
    built = registry.build(load_settings(profile="bank-teller"), "idcard")
    try:
        assert not built.usability.ok and "not found" in built.usability.missing
    finally:
        if built.device:
            built.device.close()


def test_a_flow_thread_reads_with_its_own_token_and_gets_errors_as_device_errors(sim, reader):
    from devices.base import CancelToken, DeviceError
    sim.place("foreign_2017")
    assert reader.read_blocking(CancelToken(5)).english_name == "MARTIN, JOHN PAUL"
    sim.set_fault(Fault.SAM_FAILURE)
    with pytest.raises(DeviceError) as err:
        reader.read_blocking(CancelToken(5))
    assert err.value.completion.error_code == "SW3_60"


def test_a_flow_that_gives_up_cancels_the_read_on_the_device(sim, reader):
    from devices.base import Canceled, CancelToken
    token = CancelToken(0)
    outcome = []
    t = threading.Thread(target=lambda: outcome.append(_catch(lambda: reader.read_blocking(token))))
    t.start()
    token.cancel()
    t.join(10)
    assert isinstance(outcome[0], Canceled)
    assert reader.sam_status().ok                  # the device worker is free again


def _catch(fn):
    try:
        return fn()
    except Exception as exc:
        return exc


def test_lifting_a_card_from_a_reader_that_does_not_halt_is_noticed_while_idle(sim, make_reader):
    sim.halt_after_read = False
    reader = make_reader(halting_module=False)
    sim.place("resident")
    assert reader.read_card(timeout=5).result().ok and reader.card_present() and sim.card_present()
    lifted = threading.Event()
    reader.status.subscribe(lambda role, s: s.media is MediaState.NOT_PRESENT and lifted.set())
    sim.lift()
    assert lifted.wait(10), "the idle probe never noticed the empty slot"
    assert not reader.card_present()


# Whatever comes down the line, the reader ends with a Completion and its worker lives on.
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_line_noise = st.one_of(
    st.binary(min_size=1, max_size=80),
    st.binary(max_size=40).map(lambda b: p.PREAMBLE + b),                          # a frame that never ends
    st.tuples(st.integers(0, 255), st.binary(max_size=60)).map(lambda t: p.response(*t)),   # any SW3, any data
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=_line_noise, command=st.sampled_from([p.Command.FIND_CARD, p.Command.SELECT_CARD,
                                                   p.Command.READ_TEXT_PHOTO]))
def test_fuzz_any_answer_on_the_line_ends_in_a_completion(sim, noise, command):
    sim.clear_fault()
    sim.place("resident")
    sim.noise = noise
    sim.set_fault(Fault.NOISE, command)
    reader = IdCardReader(sim.port, response_timeout_s=0.2, read_timeout_s=0.2, frame_slack_s=0.1,
                          probe_interval_s=30, photo_decoder=None)
    try:
        result = reader.read_card(timeout=3).result()
        assert result.code is not CompletionCode.INTERNAL_ERROR, result
        assert result.ok or (result.error_code and has_chinese(result.message)), result
        sim.clear_fault()
        assert reader.sam_status().ok                  # the worker is alive and the line recovers
    finally:
        reader.close()


def test_a_teller_terminal_configured_for_a_serial_reader_reads_through_it(monkeypatch, sim):
    from config import load_settings
    monkeypatch.setenv("HPF_KIOSK__DEVICES__IDCARD__PORT", sim.port)
    built = registry.build(load_settings(profile="bank-teller"), "idcard")
    try:
        assert built.backend == "gat467" and built.usability.ok
        assert type(built.device) is IdCardReader and built.device.port == sim.port
        sim.place("resident_long_term")
        assert built.device.read_card(timeout=5).result().value.validity_text == "2012.05.20-长期"
    finally:
        built.device.close()
