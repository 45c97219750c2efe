"""Reading bank cards and social-security cards: the EMV/PBOC dialogue against synthetic cards, in-process."""
from __future__ import annotations

import datetime as dt

import pytest

from devices.base import CompletionCode, DeviceError
from devices.pcsc import emv
from devices.pcsc.apdu import ApduChannel
from devices.pcsc.cards import CardHolder, T0Card, UnionPayCard, make_card

WANG = CardHolder(name="王小明", id_number="330802199001011234", pan="6222021234567890128",
                  expiry=dt.date(2030, 6, 30), pan_sequence=2)


class Wire:
    """A transport straight into a card model that remembers the command headers."""

    def __init__(self, card):
        self.card, self.sent = card, []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        answer = self.card.respond(apdu)
        assert answer is not None, "card was mute"
        return answer


def read(card, interface="auto"):
    wire = Wire(card)
    return emv.read_bank_card(ApduChannel(wire), interface), wire


def test_contact_read_of_a_unionpay_debit_card_gives_pan_expiry_name_and_id_number():
    card, wire = read(make_card("unionpay", WANG), "contact")
    assert card.pan == "6222021234567890128"
    assert card.expiry == dt.date(2030, 6, 30)
    assert card.cardholder_name == "王小明"                 # GBK on the card
    assert card.id_number == "330802199001011234"
    assert card.id_type is emv.IdDocumentType.RESIDENT_ID and card.id_type.label_zh == "身份证"
    assert card.pan_sequence == 2
    assert card.aid == "A000000333010101" and card.kind == "debit" and card.kind_zh == "借记卡"
    assert card.interface == "contact"
    headers = [a[:2].hex() for a in wire.sent]
    assert headers[0] == "00a4" and wire.sent[0][5:] .startswith(b"1PAY.SYS.DDF01")
    assert "00c0" in headers                                  # T=0: 61xx answered with GET RESPONSE
    assert "80a8" in headers and "00b2" in headers


def test_contactless_read_uses_ppse():
    card, wire = read(make_card("unionpay-contactless", WANG), "auto")
    assert card.interface == "contactless" and card.pan == WANG.pan
    assert any(b"2PAY.SYS.DDF01" in a for a in wire.sent)


def test_auto_falls_back_to_ppse_when_the_card_has_no_pse():
    card, wire = read(make_card("unionpay-contactless"))
    assert card.interface == "contactless"


def test_card_without_directories_is_read_by_selecting_unionpay_aids_directly():
    card, _ = read(make_card("unionpay-nodir", WANG))
    assert card.pan == WANG.pan and card.aid == "A000000333010101"


def test_credit_card_with_format_1_gpo_and_6cxx_answers_and_extended_name():
    card, wire = read(make_card("unionpay-credit", WANG))
    assert card.kind == "credit" and card.kind_zh == "贷记卡"
    assert card.cardholder_name == "王小明"                 # from 9F0B
    # 6Cxx: the READ RECORD was sent again with the Le the card asked for
    reads = [a for a in wire.sent if a[1] == 0xB2]
    assert any(a[-1] != 0 for a in reads)


def test_card_without_cardholder_data_reads_with_empty_name_and_id():
    card, _ = read(make_card("unionpay-noname"))
    assert card.pan == CardHolder().pan
    assert card.cardholder_name == "" and card.id_number == "" and card.id_type is None


def test_gpo_carries_the_pdol_filled_with_terminal_data():
    model = make_card("unionpay")
    model.pdol = bytes.fromhex("9F7A019F02065F2A02DF69019F66049F37049A039C019F1A029505DF6004")
    now = dt.datetime(2026, 3, 5, 10, 30, 0)
    term = emv.terminal_data(amount_fen=12345, now=now, random_bytes=lambda n: b"\xAB" * n)
    emv.read_bank_card(ApduChannel(Wire(model)), "contact", terminal=term)
    got = model.last_gpo_data
    assert got == (b"\x00" + bytes.fromhex("000000012345") + b"\x01\x56" + b"\x00" + term[0x9F66]
                   + b"\xAB" * 4 + bytes.fromhex("260305") + b"\x31" + b"\x01\x56" + bytes(5)
                   + bytes(4))                                  # DF60 is unknown: zero-filled


def test_unpredictable_number_differs_between_reads():
    a, b = make_card("unionpay"), make_card("unionpay")
    emv.read_bank_card(ApduChannel(Wire(a)))
    emv.read_bank_card(ApduChannel(Wire(b)))
    off = 1 + 6 + 2 + 1 + 4                                     # 9F37 position in the default PDOL
    assert a.last_gpo_data[off:off + 4] != b.last_gpo_data[off:off + 4]


def test_dol_values_are_padded_by_their_format():
    dol = [(0x9F02, 8), (0x9F4E, 3), (0x5F2A, 1), (0xDF01, 2)]
    out = emv.fill_dol(dol, {0x9F02: bytes.fromhex("000000000100"), 0x9F4E: b"HPFKIOSK", 0x5F2A: b"\x01\x56"})
    assert out == bytes.fromhex("0000000000000100") + b"HPF" + b"\x56" + b"\x00\x00"


def test_amount_in_fen_becomes_n12_bcd():
    assert emv.terminal_data(amount_fen=100_000_00)[0x9F02] == bytes.fromhex("000010000000")
    with pytest.raises(ValueError):
        emv.terminal_data(amount_fen=-1)


class Refusing(T0Card):
    """A card that answers every command with one status word."""

    def __init__(self, sw: bytes):
        super().__init__()
        self.sw = sw

    def process(self, apdu):
        return b"", self.sw


def test_card_without_a_unionpay_application_is_unsupported_with_a_chinese_message():
    with pytest.raises(DeviceError) as err:
        read(Refusing(b"\x6A\x82"))
    c = err.value.completion
    assert c.code is CompletionCode.UNSUPPORTED and c.error_code == "SW6A82"
    assert "更换银行卡" in c.message and "6A82" in c.description


class GpoRefused(UnionPayCard):
    def _gpo(self, data):
        return b"", b"\x69\x85"


def test_gpo_conditions_not_satisfied_is_a_user_error():
    with pytest.raises(DeviceError) as err:
        read(GpoRefused())
    assert err.value.completion.code is CompletionCode.USER_ERROR
    assert err.value.completion.error_code == "SW6985"


class Garbled(UnionPayCard):
    def _select(self, name):
        body, sw = super()._select(name)
        return (body[:-3] if body else body), sw


def test_garbled_card_data_is_invalid_data_not_a_crash():
    with pytest.raises(DeviceError) as err:
        read(Garbled())
    assert err.value.completion.code is CompletionCode.INVALID_DATA
    assert "malformed TLV" in err.value.completion.description


class Chatty(T0Card):
    def respond(self, apdu):
        return b"\x00\x61\x01"


def test_a_card_that_answers_61xx_forever_is_given_up_on():
    with pytest.raises(DeviceError) as err:
        read(Chatty())
    assert err.value.completion.code is CompletionCode.HARDWARE_ERROR


def test_bank_card_data_masks_itself_in_logs_and_by_default():
    card, _ = read(make_card("unionpay", WANG))
    for text in (repr(card), str(card), f"{card}"):
        assert "6222021234567890128" not in text and "330802199001011234" not in text and "小明" not in text
        assert "622202*********0128" in text
    d = card.to_dict()
    assert d["pan"] == "622202*********0128" and d["id_number"] == "330802********1234"
    assert d["cardholder_name"] == "王**" and d["expiry"] == "06/30"
    assert card.to_dict(reveal=True)["pan"] == "6222021234567890128"


def test_social_security_card_gives_card_number_version_and_holder_when_no_pin_is_needed():
    ssc = emv.read_social_security_card(ApduChannel(Wire(make_card("ssc", WANG, ssc_card_number="B98765432"))))
    assert ssc.card_number == "B98765432" and ssc.spec_version == "3.00"
    assert ssc.ssn == "330802199001011234" and ssc.name == "王小明"
    assert not ssc.personal_data_locked
    assert "330802199001011234" not in repr(ssc) and ssc.to_dict()["ssn"] == "330802********1234"


def test_pin_protected_social_security_card_is_read_without_trying_a_pin():
    model = make_card("ssc-locked", WANG)
    wire = Wire(model)
    ssc = emv.read_social_security_card(ApduChannel(wire))
    assert ssc.personal_data_locked and ssc.ssn == "" and ssc.name == ""
    assert ssc.spec_version == "2.00" and ssc.card_number == WANG.ssc_card_number
    assert model.verify_attempts == 0 and not any(a[1] == 0x20 for a in wire.sent)


def test_bank_card_in_place_of_a_social_security_card_is_told_apart():
    with pytest.raises(DeviceError) as err:
        emv.read_social_security_card(ApduChannel(Wire(make_card("unionpay"))))
    assert err.value.completion.code is CompletionCode.UNSUPPORTED
    assert "社保卡" in err.value.completion.message


def test_synthetic_card_refuses_an_invalid_card_number():
    with pytest.raises(ValueError):
        make_card("unionpay", pan="12ab")
    with pytest.raises(KeyError):
        make_card("no-such-card")


class TwoApps(UnionPayCard):
    """Debit application refuses this terminal (6985); the credit application works."""

    CREDIT = bytes.fromhex("A000000333010102")

    def _directory_entry(self):
        from devices.pcsc.tlv import build, encode
        return (build(0x61, encode(0x4F, bytes.fromhex("A000000333010101")), encode(0x87, b"\x01"))
                + build(0x61, encode(0x4F, self.CREDIT), encode(0x87, b"\x02")))

    def _select(self, name):
        if name == bytes.fromhex("A000000333010101"):
            self.selected = b"debit"
            return bytes.fromhex("6F0A8408A000000333010101"), b"\x90\x00"
        return super()._select(name)

    def _gpo(self, data):
        if self.selected == b"debit":
            return b"", b"\x69\x85"
        return super()._gpo(data)


def test_application_refusing_gpo_is_skipped_for_the_next_one():
    model = TwoApps(WANG, aid=TwoApps.CREDIT)
    card, _ = read(model)
    assert card.aid == "A000000333010102" and card.pan == WANG.pan


# ------------------------------------------------------------------ a broken card never crashes the read

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class Mangler:
    """Passes APDUs to a good card and corrupts chosen bytes of its answers."""

    def __init__(self, card, flips):
        self.card, self.flips, self.n = card, dict(flips), 0

    def transmit(self, apdu):
        answer = bytearray(self.card.respond(apdu))
        self.n += 1
        for (which, pos), byte in self.flips.items():
            if which == self.n and answer:
                answer[pos % len(answer)] = byte
        return bytes(answer)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["unionpay", "unionpay-credit", "unionpay-contactless", "ssc"]),
       st.dictionaries(st.tuples(st.integers(1, 16), st.integers(0, 300)), st.integers(0, 255), max_size=4))
def test_corrupted_card_answers_end_in_card_data_or_a_device_error(kind, flips):
    channel = ApduChannel(Mangler(make_card(kind), flips))
    try:
        if kind == "ssc":
            emv.read_social_security_card(channel)
        else:
            emv.read_bank_card(channel)
    except DeviceError as exc:
        assert exc.completion.message and exc.completion.error_code


@pytest.mark.parametrize("apdu, fixed", [
    ("00B2010C00", "00B2010C1D"),                  # case 2: Le replaced
    ("00A4020002EF05", "00A4020002EF051D"),        # case 3: Le added, data kept
    ("00A404000E315041592E5359532E444446303100", "00A404000E315041592E5359532E44444630311D"),  # case 4
])
def test_resending_with_the_le_the_card_asked_for_keeps_the_command_data(apdu, fixed):
    from devices.pcsc.apdu import with_le
    assert with_le(bytes.fromhex(apdu), 0x1D) == bytes.fromhex(fixed)


class Track2Only(UnionPayCard):
    """Card data only as track-2 equivalent (57), as some qPBOC cards give it."""

    def _records(self):
        from devices.pcsc.tlv import build, encode
        t2 = self.holder.pan + "D" + self.holder.expiry.strftime("%y%m") + "2201234567890"
        t2 += "F" if len(t2) % 2 else ""
        rest = build(0x70, encode(0x9F08, b"\x00\x30"))
        return {(1, 1): build(0x70, encode(0x57, bytes.fromhex(t2))), (1, 2): rest, (2, 1): rest}


def test_pan_and_expiry_come_from_track_2_when_the_card_has_no_5a():
    card, _ = read(Track2Only(CardHolder(pan="6217000010000000007", expiry=dt.date(2029, 2, 1))))
    assert card.pan == "6217000010000000007"
    assert card.expiry == dt.date(2029, 2, 28)          # end of the month on the card
