"""The real adapter through the real pcscd and the vpcd virtual reader, with the virtual card (vcard.py)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from config import load_settings
from devices import registry
from devices.base import CompletionCode, DeviceStatus, MediaState
from devices.pcsc import testing
from devices.pcsc.reader import PcscCardReader

from devices.pcsc.testing import SLOT1, Events, wait_state

pytestmark = pytest.mark.pcsc
ROOT = Path(__file__).resolve().parents[3]
LI = dict(name="李四", id_number="330802199001011234", pan="6228480402564890018")


def test_unionpay_debit_card_is_read_through_pcscd_over_the_contact_directory(pcsc_reader, insert_card):
    insert_card("unionpay", **LI)
    c = pcsc_reader.read_bank_card(timeout=5, interface="contact")
    assert c.ok, c
    card = c.value
    assert (card.pan, card.cardholder_name, card.id_number) == (LI["pan"], "李四", LI["id_number"])
    assert card.interface == "contact" and card.aid == "A000000333010101" and card.kind == "debit"
    assert card.expiry is not None and card.pan_sequence == 1


def test_contactless_card_is_read_through_ppse(pcsc_reader, insert_card):
    insert_card("unionpay-contactless", **LI)
    c = pcsc_reader.read_bank_card(timeout=5)
    assert c.ok and c.value.interface == "contactless" and c.value.pan == LI["pan"]


def test_credit_card_with_format_1_gpo_and_6cxx_is_read(pcsc_reader, insert_card):
    insert_card("unionpay-credit")
    c = pcsc_reader.read_bank_card(timeout=5)
    assert c.ok and c.value.kind == "credit" and c.value.cardholder_name == "张三"


def test_card_without_holder_name_is_read_with_an_empty_name(pcsc_reader, insert_card):
    insert_card("unionpay-noname")
    c = pcsc_reader.read_bank_card(timeout=5)
    assert c.ok and c.value.cardholder_name == "" and c.value.id_number == ""
    assert c.value.pan == "6217000010000000007"


def test_customer_inserts_the_card_while_the_kiosk_waits(pcsc_reader, insert_card):
    handle = pcsc_reader.start_read_bank_card(timeout=0)
    t = threading.Timer(0.3, lambda: insert_card("unionpay", wait=False))
    t.start()
    c = handle.result()
    t.join()
    assert c.ok and c.value.pan == "6217000010000000007"


def test_insert_and_remove_are_announced_as_media_events(pcsc_reader, insert_card):
    events = Events(pcsc_reader)
    card = insert_card("unionpay")
    events.wait_for(lambda s: s.media is MediaState.PRESENT and s.device is DeviceStatus.ONLINE, "card present")
    events.clear()
    insert_card.remove(card)
    events.wait_for(lambda s: s.media is MediaState.NOT_PRESENT, "card removed")
    assert all(s.device is DeviceStatus.ONLINE for s in events.states)


def test_card_pulled_mid_read_is_a_user_error_with_a_clear_message(pcsc_reader, insert_card):
    insert_card("unionpay", pull_after=5)
    c = pcsc_reader.read_bank_card(timeout=5)
    assert c.code is CompletionCode.USER_ERROR and c.error_code == "CARD_REMOVED"
    assert "读卡完成前请勿拔卡" in c.message
    wait_state(pcsc_reader, lambda s: s.media is MediaState.NOT_PRESENT, "card gone")
    # the next customer's card reads normally
    insert_card("unionpay")
    assert pcsc_reader.read_bank_card(timeout=5).ok


def test_mute_card_is_a_hardware_error_and_the_reader_recovers_when_it_is_taken_out(pcsc_reader, insert_card):
    mute = insert_card("mute")
    c = pcsc_reader.read_bank_card(timeout=5)
    assert c.code is CompletionCode.HARDWARE_ERROR and c.error_code == "CARD_MUTE"
    assert "卡片无响应" in c.message
    insert_card.remove(mute)
    insert_card("unionpay")
    assert pcsc_reader.read_bank_card(timeout=5).ok


def test_no_card_within_the_timeout_and_cancel_while_waiting(pcsc_reader):
    c = pcsc_reader.read_bank_card(timeout=0.5)
    assert c.code is CompletionCode.TIMEOUT and c.error_code == "NO_CARD"
    handle = pcsc_reader.start_read_bank_card(timeout=0)
    threading.Timer(0.2, handle.cancel).start()
    assert handle.result().code is CompletionCode.CANCELED


def test_social_security_card_is_read_without_a_pin(pcsc_reader, insert_card):
    insert_card("ssc", name="赵六", id_number="330802199001011234")
    c = pcsc_reader.read_social_security_card(timeout=5)
    assert c.ok and c.value.name == "赵六" and c.value.ssn == "330802199001011234"
    assert c.value.spec_version == "3.00"


def test_reader_is_chosen_by_name_pattern(pcscd, insert_card):
    insert_card("unionpay", slot=SLOT1, **LI)
    reader = PcscCardReader("00 01")
    try:
        wait_state(reader, lambda s: s.media is MediaState.PRESENT, "card in slot 00 01")
        assert reader.reader_name == SLOT1
        c = reader.read_bank_card(timeout=5)
        assert c.ok and c.value.pan == LI["pan"]
    finally:
        reader.close()


def test_pattern_matching_no_reader_is_no_device_and_says_what_is_missing(pcscd):
    reader = PcscCardReader("Bank Card Reader XYZ")
    try:
        wait_state(reader, lambda s: s.device is DeviceStatus.NO_DEVICE, "noDevice")
        usable = reader.is_usable()
        assert not usable.ok and "Bank Card Reader XYZ" in usable.missing and "Virtual PCD" in usable.missing
        c = reader.read_bank_card(timeout=1)
        assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "NO_READER"
        assert not reader.selftest().ok
    finally:
        reader.close()


def test_configured_pcsc_backend_is_built_from_settings(pcscd, monkeypatch):
    monkeypatch.setenv("HPF_KIOSK__DEVICES__CARDREADER__READER_PATTERN", "Virtual PCD 00 00")
    built = registry.build(load_settings(profile="village-kiosk"), "cardreader")
    try:
        assert built.backend == "pcsc" and built.usability.ok, built.usability
        wait_state(built.device, lambda s: s.device is DeviceStatus.ONLINE, "online")
        assert built.device.selftest().ok
    finally:
        built.device.close()


def test_reader_unplugged_is_no_device_and_comes_back_by_itself(pcscd, pcsc_reader):
    events = Events(pcsc_reader)
    try:
        pcscd.restart(with_vpcd=False)           # pcscd comes back without any reader
        events.wait_for(lambda s: s.device is DeviceStatus.NO_DEVICE, "noDevice")
        c = pcsc_reader.read_bank_card(timeout=1)
        assert c.code is CompletionCode.DEVICE_NOT_READY
    finally:
        pcscd.restart(with_vpcd=True)
    wait_state(pcsc_reader, lambda s: s.device is DeviceStatus.ONLINE, "online again")


def test_pcscd_stopping_is_offline_and_it_recovers_when_pcscd_is_back(pcscd, pcsc_reader, insert_card):
    events = Events(pcsc_reader)
    try:
        pcscd.stop()
        events.wait_for(lambda s: s.device is DeviceStatus.OFFLINE, "offline")
        c = pcsc_reader.read_bank_card(timeout=1)
        assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "PCSC_NO_SERVICE"
        assert "读卡器未就绪" in c.message
        assert not PcscCardReader.is_usable().ok
    finally:
        pcscd.start()
    wait_state(pcsc_reader, lambda s: s.device is DeviceStatus.ONLINE, "online again")
    insert_card("unionpay")
    assert pcsc_reader.read_bank_card(timeout=5).ok


def _cli(*args, env_extra=None, timeout=60):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "kiosk.cli.main", "devices", "read-card", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_pcscd_not_running_is_reported_by_the_cli_as_not_ready(pcscd):
    # point the client library at a socket no daemon listens on (the shared pcscd keeps running)
    r = _cli("--reader", "Virtual", "--timeout", "1", "--json",
             env_extra={"PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"})
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["result"] == "deviceNotReady" and out["code"] == "PCSC_NO_SERVICE"
    assert out["message"] == "读卡器未就绪，请联系工作人员"


def test_technician_reads_a_card_from_the_cli_masked_unless_revealed(pcscd, insert_card):
    insert_card("unionpay", **LI)
    r = _cli("--reader", "00 00", "--timeout", "5")
    assert r.returncode == 0, r.stderr
    assert "622848*********0018" in r.stdout and LI["pan"] not in r.stdout
    assert "李*" in r.stdout and LI["id_number"] not in r.stdout
    r = _cli("--reader", "00 00", "--timeout", "5", "--json", "--reveal")
    assert r.returncode == 0 and json.loads(r.stdout)["card"]["pan"] == LI["pan"]


def test_cli_without_a_card_exits_non_zero(pcscd):
    r = _cli("--reader", "00 00", "--timeout", "0.5")
    assert r.returncode == 1 and "未检测到卡片" in r.stderr


def test_virtual_card_runs_as_a_program(pcscd, pcsc_reader):
    proc = subprocess.Popen([sys.executable, "-m", "devices.pcsc.vcard", "--port", "35963", "--card", "unionpay",
                             "--name", "周七", "--pan", "6228480402564890018"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        c = pcsc_reader.read_bank_card(timeout=10)
        assert c.ok and c.value.cardholder_name == "周七" and c.value.pan == "6228480402564890018"
    finally:
        proc.terminate()
        proc.wait(10)
    wait_state(pcsc_reader, lambda s: s.media is MediaState.NOT_PRESENT, "card gone")


def test_harness_refuses_to_start_a_second_pcscd(pcscd, tmp_path):
    with pytest.raises(testing.HarnessError, match="already running"):
        testing.Pcscd(tmp_path).start()


def test_harness_clears_a_stale_socket_left_by_a_dead_pcscd(pcscd):
    pcscd.stop()
    try:
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(testing.SOCKET))          # a socket file nobody listens on
        stale.close()
        assert testing.SOCKET.exists() and not testing.socket_is_live()
    finally:
        pcscd.start()
    assert testing.socket_is_live()
