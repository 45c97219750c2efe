"""The BER-TLV parser reads what EMV cards send and refuses everything else with its own error."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.pcsc import tlv
from devices.pcsc.cards import make_card
from devices.pcsc.tlv import TlvError

PPSE_FCI = bytes.fromhex(
    "6F34840E325041592E5359532E4444463031A522BF0C1F611D4F08A000000333010101500E556E696F6E50617920446562697487"
    "0101")


def test_ppse_answer_is_parsed_into_its_templates_and_the_aid_is_found():
    tree = tlv.parse(PPSE_FCI)
    assert [t.tag for t in tree] == [0x6F]
    entry = tlv.find(tree, 0x61)
    assert entry is not None and entry.constructed
    assert entry.find(0x4F).value == bytes.fromhex("A000000333010101")
    assert tlv.find(tree, 0x50).value == b"UnionPay Debit"
    assert tlv.find(tree, 0xBF0C).constructed       # two-byte constructed tag


def test_long_form_lengths_and_three_byte_tags_are_read():
    value = bytes(range(200)) * 2                    # 400 bytes: length 82 01 90
    data = tlv.encode(0xDF8101, value) + tlv.encode(0x5A, b"\x62\x17")
    tree = tlv.parse(data)
    assert tree[0].tag == 0xDF8101 and tree[0].value == value
    assert data[3:6] == b"\x82\x01\x90"
    assert tree[1].value == b"\x62\x17"


def test_padding_between_objects_is_skipped():
    data = b"\x00\x00" + tlv.encode(0x5A, b"\x01") + b"\xff\xff" + tlv.encode(0x5F24, b"\x31\x12\x31")
    assert [t.tag for t in tlv.parse(data)] == [0x5A, 0x5F24]


@pytest.mark.parametrize("data, problem", [
    (bytes.fromhex("5A0562"), "runs past the end"),
    (bytes.fromhex("5A80"), "indefinite"),
    (bytes.fromhex("5A85010000000001"), "length field of 5 bytes"),
    (bytes.fromhex("9F"), "tag runs past the end"),
    (bytes.fromhex("9F8181818101"), "longer than 4 bytes"),
    (bytes.fromhex("7003" "5A05"), "runs past the end"),
    (bytes.fromhex("5A"), "length missing"),
])
def test_malformed_input_is_refused_with_a_reason(data, problem):
    with pytest.raises(TlvError, match=problem):
        tlv.parse(data)


def test_deeply_nested_templates_are_refused_not_recursed_into():
    data = b"\x5A\x01\x00"
    for _ in range(40):
        data = tlv.encode(0x70, data)
    with pytest.raises(TlvError, match="nested too deeply"):
        tlv.parse(data)


def test_pdol_is_read_as_tags_and_lengths():
    assert tlv.parse_dol(bytes.fromhex("9F7A019F02065F2A02DF6901")) == [
        (0x9F7A, 1), (0x9F02, 6), (0x5F2A, 2), (0xDF69, 1)]


def test_repr_of_an_object_never_shows_its_value():
    t = tlv.parse(tlv.encode(0x5A, bytes.fromhex("6217000010000000007F")))[0]
    assert "6217" not in repr(t) and "5A" in repr(t)


# ------------------------------------------------------------------ fuzzing

def _only_tlv_errors(data: bytes) -> None:
    try:
        tree = tlv.parse(data)
    except TlvError:
        return
    for t in tlv.walk(tree):                          # what was accepted is consistent
        assert isinstance(t.value, bytes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_give_a_tree_or_a_tlv_error_and_nothing_else(data):
    _only_tlv_errors(data)
    try:
        tlv.parse_dol(data)
    except TlvError:
        pass


def _real_responses() -> list[bytes]:
    """Every R-APDU body the synthetic UnionPay card and SSC give during a read."""
    from devices.pcsc import emv
    from devices.pcsc.apdu import ApduChannel

    bodies: list[bytes] = []

    class Recorder:
        def __init__(self, card):
            self.card = card

        def transmit(self, apdu):
            r = self.card.respond(apdu)
            if len(r) > 2:
                bodies.append(r[:-2])
            return r
    emv.read_bank_card(ApduChannel(Recorder(make_card("unionpay"))))
    emv.read_bank_card(ApduChannel(Recorder(make_card("unionpay-credit"))))
    emv.read_social_security_card(ApduChannel(Recorder(make_card("ssc"))))
    return bodies


RESPONSES = _real_responses()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RESPONSES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                            min_size=1, max_size=6),
       st.integers(0, 10_000))
def test_mutated_card_responses_give_a_tree_or_a_tlv_error(body, flips, cut):
    data = bytearray(body)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    _only_tlv_errors(bytes(data[: max(1, cut % (len(data) + 1))]))
    _only_tlv_errors(bytes(data))


_tags = st.sampled_from([0x5A, 0x57, 0x5F20, 0x9F61, 0x9F62, 0x5F24, 0xDF69, 0x9F7A, 0x01])
_templates = st.sampled_from([0x70, 0x77, 0x6F, 0xA5, 0xBF0C, 0x61])
_trees = st.recursive(
    st.tuples(_tags, st.binary(max_size=300)).map(lambda tv: tlv.encode(*tv)),
    lambda children: st.tuples(_templates, st.lists(children, max_size=4)).map(
        lambda tc: tlv.build(tc[0], *tc[1])),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(_trees, min_size=1, max_size=4))
def test_what_we_encode_parses_back_to_the_same_bytes(objects):
    data = b"".join(objects)
    tree = tlv.parse(data)
    assert b"".join(t.encode() for t in tree) == data
