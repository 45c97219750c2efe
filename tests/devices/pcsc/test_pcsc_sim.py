"""The demo's simulated card reader: same commands and status events as the real one, no pcscd."""
from __future__ import annotations

import threading

import pytest

from config import load_settings
from devices import registry
from devices.base import CompletionCode, DeviceStatus, MediaState
from devices.pcsc.sim import SimCardReader

from devices.pcsc.testing import Events


@pytest.fixture
def sim():
    reader = SimCardReader()
    reader.APDU_TIMEOUT_S = 0.3
    yield reader
    reader.close()


def test_demo_profile_builds_the_simulated_reader_and_it_is_usable():
    built = registry.build(load_settings(profile="demo"), "cardreader")
    try:
        assert built.backend == "sim" and built.usability.ok
        assert built.device.status.state.device is DeviceStatus.ONLINE
        assert built.device.selftest().ok
        assert "unionpay" in built.device.simulator.available()
    finally:
        built.device.close()


def test_customer_inserts_card_while_the_kiosk_waits_and_the_card_is_read(sim):
    events = Events(sim)
    handle = sim.start_read_bank_card(timeout=0)              # wait for the customer
    threading.Timer(0.1, lambda: sim.simulator.insert("unionpay")).start()
    c = handle.result()
    assert c.ok and c.value.pan == "6217000010000000007"
    events.wait_for(lambda s: s.media is MediaState.PRESENT, "card present")
    sim.simulator.remove()
    events.wait_for(lambda s: s.media is MediaState.NOT_PRESENT, "card removed")


def test_demo_person_can_emulate_their_own_card(sim):
    sim.simulator.set_holder(name="李四", id_number="330802199001011234", pan="6228480402564890018")
    sim.simulator.insert("unionpay")
    c = sim.read_bank_card(timeout=1)
    assert c.ok
    assert (c.value.cardholder_name, c.value.id_number, c.value.pan) == (
        "李四", "330802199001011234", "6228480402564890018")


def test_no_card_within_the_timeout_is_a_timeout_with_a_chinese_prompt(sim):
    c = sim.read_bank_card(timeout=0.2)
    assert c.code is CompletionCode.TIMEOUT and c.error_code == "NO_CARD" and "插卡" in c.message


def test_waiting_for_the_customer_can_be_canceled(sim):
    handle = sim.start_read_bank_card(timeout=0)
    threading.Timer(0.1, handle.cancel).start()
    assert handle.result().code is CompletionCode.CANCELED


def test_card_pulled_mid_read_is_a_user_error_and_the_reader_shows_it_gone(sim):
    sim.simulator.insert("unionpay", pull_after=4)
    c = sim.read_bank_card(timeout=1)
    assert c.code is CompletionCode.USER_ERROR and c.error_code == "CARD_REMOVED"
    assert "请勿拔卡" in c.message
    assert sim.status.state.media is MediaState.NOT_PRESENT


def test_mute_card_is_a_hardware_error_not_a_hang(sim):
    sim.simulator.insert("mute")
    c = sim.read_bank_card(timeout=1)
    assert c.code is CompletionCode.HARDWARE_ERROR and c.error_code == "CARD_MUTE"


def test_social_security_card_is_read_by_the_simulator(sim):
    sim.simulator.insert("ssc", name="赵六", id_number="330802199001011234")
    c = sim.read_social_security_card(timeout=1)
    assert c.ok and c.value.name == "赵六" and c.value.ssn == "330802199001011234"


def test_machine_without_pyscard_is_told_what_is_missing(monkeypatch):
    import devices.pcsc.reader as pcsc_reader
    monkeypatch.setattr(pcsc_reader, "S", None)
    usable = pcsc_reader.PcscCardReader.is_usable()
    assert not usable.ok and "pyscard" in usable.missing
    reader = pcsc_reader.PcscCardReader("")
    try:
        assert reader.status.state.device is DeviceStatus.OFFLINE
        c = reader.read_bank_card(timeout=1)
        assert c.code is CompletionCode.DEVICE_NOT_READY
    finally:
        reader.close()


def test_real_reader_tests_name_the_missing_package_when_they_cannot_run(monkeypatch):
    from devices.pcsc import testing
    monkeypatch.setattr(testing, "pcscd_binary", lambda: None)
    assert "apt-get install pcscd" in testing.missing()
    monkeypatch.setattr(testing, "pcscd_binary", lambda: "/usr/sbin/pcscd")
    monkeypatch.setattr(testing, "vpcd_driver", lambda: None)
    assert "vsmartcard-vpcd" in testing.missing()
