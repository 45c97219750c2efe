"""The GA/T 467 frame codec: request bytes as published, responses as real readers send them, a parser that
survives garbage, and a result-code table that leaves no SW3 without a code and a Chinese message."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.base import CompletionCode
from devices.idcard import protocol as p

# The request table of reference/device-protocols.md §1, byte for byte.
PUBLISHED_REQUESTS = {
    p.Command.RESET_SAM: "AA AA AA 96 69 00 03 10 FF EC",
    p.Command.SAM_STATUS: "AA AA AA 96 69 00 03 11 FF ED",
    p.Command.SAM_ID: "AA AA AA 96 69 00 03 12 FF EE",
    p.Command.FIND_CARD: "AA AA AA 96 69 00 03 20 01 22",
    p.Command.SELECT_CARD: "AA AA AA 96 69 00 03 20 02 21",
    p.Command.READ_TEXT_PHOTO: "AA AA AA 96 69 00 03 30 01 32",
    p.Command.READ_APPENDED_ADDRESS: "AA AA AA 96 69 00 03 30 03 30",
    p.Command.READ_CARD_MANAGEMENT_NO: "AA AA AA 96 69 00 03 30 05 36",
    p.Command.READ_TEXT_PHOTO_FINGERPRINT: "AA AA AA 96 69 00 03 30 10 23",
}


@pytest.mark.parametrize("command", list(PUBLISHED_REQUESTS))
def test_every_request_is_the_published_byte_string(command):
    assert p.request(command) == bytes.fromhex(PUBLISHED_REQUESTS[command])


def test_set_baud_and_max_rf_requests_match_the_table():
    assert p.set_baud_request(115200) == bytes.fromhex("AAAAAA9669 0003 6000 63")
    assert p.set_max_rf_bytes_request(0x50) == bytes.fromhex("AAAAAA9669 0004 61FF50 CA")


@pytest.mark.parametrize("wire, sw3, data_len", [
    ("aaaaaa9669 0004 000090 94", 0x90, 0),          # SAM OK
    ("aaaaaa9669 0004 000060 64", 0x60, 0),          # SAM self-test failure
    ("aaaaaa9669 0008 00009f 00000000 97", 0x9F, 4),  # find OK
    ("aaaaaa9669 0004 000080 84", 0x80, 0),          # find: no card
    ("aaaaaa9669 0004 000081 85", 0x81, 0),          # select failed
    ("aaaaaa9669 0004 000041 45", 0x41, 0),          # read failed
])
def test_real_reader_responses_parse(wire, sw3, data_len):
    resp = p.Response.from_body(p.parse_frame(bytes.fromhex(wire)))
    assert (resp.sw1, resp.sw2, resp.sw3, len(resp.data)) == (0, 0, sw3, data_len)


def test_a_full_text_and_photo_answer_is_1295_bytes_with_len_0508():
    frame = p.response(0x90, bytes.fromhex("0100 0400") + bytes(256) + bytes(1024))
    assert len(frame) == 1295 and frame[5:7] == b"\x05\x08"
    assert p.parse_frame(frame)[3:7] == bytes.fromhex("01000400")


def test_parser_skips_line_noise_and_finds_frames_split_across_reads():
    stream = b"\x00\xff\xaa\x13" + p.response(0x90) + b"\xaa\xaa" + p.response(0x9F, bytes(4))
    parser, bodies = p.FrameParser(), []
    for i in range(0, len(stream), 3):          # the UART delivers a few bytes at a time
        parser.feed(stream[i:i + 3])
        while (body := parser.next_frame()) is not None:
            bodies.append(body)
    assert [b[2] for b in bodies] == [0x90, 0x9F]
    assert parser.discarded == 6 and parser.pending == 0


def test_a_corrupt_frame_is_reported_once_and_the_next_good_frame_still_arrives():
    bad = bytearray(p.response(0x90, b"\x01\x02"))
    bad[-1] ^= 0xFF
    parser = p.FrameParser()
    parser.feed(bytes(bad) + p.response(0x9F, bytes(4)))
    with pytest.raises(p.ChecksumError):
        parser.next_frame()
    assert parser.next_frame()[2] == 0x9F
    assert parser.next_frame() is None


def test_an_impossible_length_is_a_length_error_not_a_wait_for_64k():
    parser = p.FrameParser()
    parser.feed(p.PREAMBLE + b"\xff\xff" + p.response(0x90))
    with pytest.raises(p.LengthError):
        parser.next_frame()
    assert parser.next_frame()[2] == 0x90


# Every SW3 the reference lists, and the host-side results, end as a code + Chinese message + English text.
REFERENCE_SW3 = [0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41,
                 0x47, 0x60, 0x66, 0x80, 0x81]


@pytest.mark.parametrize("sw3", REFERENCE_SW3)
def test_every_result_code_has_a_completion_code_and_a_chinese_message(sw3):
    c = p.sw3_completion(sw3, p.Command.READ_TEXT_PHOTO)
    assert c.error_code == f"SW3_{sw3:02X}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in c.message)
    assert f"SW3={sw3:02X}" in c.description and c.description.isascii()


def test_result_codes_map_to_what_the_screen_must_do():
    code = lambda sw3: p.sw3_completion(sw3).code  # noqa: E731
    assert code(0x90) is code(0x9F) is CompletionCode.SUCCESS
    assert code(0x60) is code(0x66) is CompletionCode.HARDWARE_ERROR        # call staff
    assert code(0x41) is code(0x80) is code(0x32) is CompletionCode.USER_ERROR   # customer acts
    assert code(0x21) is CompletionCode.UNSUPPORTED
    assert p.sw3_completion(0x5A).code is CompletionCode.HARDWARE_ERROR     # undocumented: staff, not a crash


# ---- fuzzing: the parser never raises anything but its own FrameError and always makes progress ----------

def _drain(parser: p.FrameParser) -> tuple[list[bytes], int]:
    bodies, errors = [], 0
    for _ in range(10_000):
        before = (parser.pending, parser.discarded)
        try:
            body = parser.next_frame()
        except p.FrameError:
            errors += 1
            assert (parser.pending, parser.discarded) != before, "an error must consume bytes"
            continue
        if body is None:
            return bodies, errors
        bodies.append(body)
    raise AssertionError("parser did not settle: it loops")


valid_frames = st.builds(lambda sw3, data: p.response(sw3, data), st.integers(0, 255), st.binary(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=64), valid_frames), max_size=8), st.integers(1, 64))
def test_fuzz_random_streams_only_raise_frame_errors_and_never_loop(pieces, chunk):
    stream = b"".join(pieces)
    parser = p.FrameParser()
    for i in range(0, len(stream), chunk):
        parser.feed(stream[i:i + chunk])
        _drain(parser)
    assert parser.pending <= max(p.HEADER_LEN + p.MAX_LEN, len(p.PREAMBLE))


@settings(max_examples=300, deadline=None)
@given(valid_frames, st.data())
def test_fuzz_mutated_frames_only_raise_frame_errors(frame, data):
    mutated = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        i = data.draw(st.integers(0, max(0, len(mutated) - 1)))
        if op == "flip" and mutated:
            mutated[i] ^= data.draw(st.integers(1, 255))
        elif op == "drop" and mutated:
            del mutated[i]
        else:
            mutated.insert(i, data.draw(st.integers(0, 255)))
    parser = p.FrameParser()
    parser.feed(bytes(mutated))
    _drain(parser)


@settings(max_examples=200, deadline=None)
@given(st.lists(valid_frames, min_size=1, max_size=5),
       st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\xaa", b"\x55")), min_size=6, max_size=6))
def test_fuzz_every_good_frame_is_recovered_from_noise_between_them(frames, noise):
    stream = b"".join(n + f for n, f in zip(noise, frames)) + noise[-1]
    parser = p.FrameParser()
    parser.feed(stream)
    bodies, errors = _drain(parser)
    assert errors == 0
    assert [p.build_frame(b) for b in bodies] == frames
