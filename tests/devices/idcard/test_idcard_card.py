"""What the reader makes of a card's 256-byte text block: four card kinds, GB 3304 nations, dates and 长期,
numbers checked, and personal data that never shows in a repr, a log line or an f-string."""
from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import CompletionCode
from devices.idcard import card as c
from devices.idcard.photo import BMP_SIZE, VendorWltDecoder, load_photo_decoder
from devices.idcard.sim import SYNTHETIC_CARDS, fixture_photo_bmp


def ucs2(text: str, nbytes: int) -> bytes:
    raw = text.encode("utf-16-le")
    return raw + " ".encode("utf-16-le") * ((nbytes - len(raw)) // 2)


def hand_made_resident_block(valid_to: str = "20380301", marker: bytes = b" \x00") -> bytes:
    """Laid out field by field from the published table, not with the code under test."""
    number = SYNTHETIC_CARDS["resident"].id_number
    block = (ucs2("张晓明", 30) + ucs2("1", 2) + ucs2("01", 4) + ucs2("19880615", 16)
             + ucs2("浙江省衢州市柯城区荷花街道县学街88号", 70) + ucs2(number, 36) + ucs2("衢州市公安局柯城分局", 30)
             + ucs2("20180301", 16) + ucs2(valid_to, 16) + ucs2("", 36))
    return block[:248] + marker + block[250:]


def test_a_resident_card_laid_out_by_the_table_parses_field_by_field():
    card = c.parse_text(hand_made_resident_block(), b"W" * 1024)
    assert card.card_type is c.CardType.RESIDENT
    assert (card.name, card.gender, card.nation) == ("张晓明", "男", "汉")
    assert card.birth == date(1988, 6, 15) and card.valid_to == date(2038, 3, 1)
    assert card.address == "浙江省衢州市柯城区荷花街道县学街88号"
    assert card.authority == "衢州市公安局柯城分局" and card.photo_wlt == b"W" * 1024


def test_a_card_valid_for_life_reads_changqi():
    card = c.parse_text(hand_made_resident_block(valid_to="长期"))
    assert card.long_term and card.valid_to is None
    assert card.validity_text == "2018.03.01-长期" and not card.expired(date(2099, 1, 1))


def test_a_zero_type_byte_is_a_resident_card_too():
    assert c.parse_text(hand_made_resident_block(marker=b"\x00\x00")).card_type is c.CardType.RESIDENT


@pytest.mark.parametrize("name", sorted(SYNTHETIC_CARDS))
def test_every_card_kind_round_trips_through_its_layout(name):
    original = SYNTHETIC_CARDS[name]
    block = c.encode_text(original)
    assert len(block) == 256
    assert block[248:250] == original.card_type.marker.encode("utf-16-le")
    parsed = c.parse_text(block, original.photo_wlt, original.fingerprint)
    assert parsed == original


def test_hk_macau_taiwan_permit_carries_pass_number_and_no_nation():
    card = c.parse_text(c.encode_text(SYNTHETIC_CARDS["hmt"]))
    assert card.card_type.label_zh == "港澳台居民居住证"
    assert (card.pass_number, card.issue_count, card.nation) == ("H12345678", "01", "")


def test_foreign_cards_carry_english_name_and_nationality():
    old = c.parse_text(c.encode_text(SYNTHETIC_CARDS["foreign_2017"]))
    new = c.parse_text(c.encode_text(SYNTHETIC_CARDS["foreign_2023"]))
    assert (old.english_name, old.nationality, old.name) == ("MARTIN, JOHN PAUL", "USA", "马丁")
    assert (new.english_name, new.nationality, new.gender) == ("MUELLER, ANNA MARIA", "DEU", "女")
    assert old.birth == date(1988, 6, 15) and new.id_number.startswith("9")


def test_nation_codes_follow_gb3304_and_deang_is_spelled_right():
    assert len([k for k in c.NATIONS if "01" <= k <= "56"]) == 56
    assert c.NATIONS["01"] == "汉" and c.NATIONS["46"] == "德昂" and c.NATIONS["56"] == "基诺"
    assert "德昴" not in c.NATIONS.values()
    assert c.NATIONS["97"] == "其他" and c.NATIONS["98"] == "外国血统中国籍人士"


@pytest.mark.parametrize("mutate, why", [
    (lambda b: b[:122] + ucs2("330802198806150030", 36) + b[158:], "check character"),
    (lambda b: b[:36] + ucs2("19880230", 16) + b[52:], "no 30 February"),
    (lambda b: b[:32] + ucs2("77", 4) + b[36:], "no nation 77"),
    (lambda b: b[:248] + "Q".encode("utf-16-le") + b[250:], "unknown card type"),
    (lambda b: b[:200], "short block"),
    (lambda b: b[:36] + b"\x00\xd8" * 8 + b[52:], "not UCS-2"),
])
def test_a_block_that_cannot_be_a_card_is_invalid_data_with_a_chinese_message(mutate, why):
    with pytest.raises(c.CardDataError) as err:
        c.parse_text(mutate(hand_made_resident_block()))
    completion = err.value.completion
    assert completion.code is CompletionCode.INVALID_DATA and completion.error_code == "CARD_DATA"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in completion.message)
    assert "330802198806150030" not in completion.description


def test_birth_on_the_card_must_match_the_number():
    card = replace(SYNTHETIC_CARDS["resident"], birth=date(1988, 6, 16))
    with pytest.raises(c.CardDataError):
        c.validate_card(card)


def test_repr_str_and_logs_never_show_the_name_number_or_address(caplog):
    card = SYNTHETIC_CARDS["resident"]
    for shown in (repr(card), str(card), f"{card}"):
        assert card.id_number not in shown and card.name not in shown and "县学街" not in shown
        assert "330802********0032" in shown and "张**" in shown
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("read %s", card)
    assert card.id_number not in caplog.text


@settings(max_examples=60, deadline=None)
@given(name=st.text(alphabet="张王李赵欧阳娜明华·", min_size=1, max_size=15),
       address=st.text(alphabet="浙江省衢州市柯城区路号街道村0123456789", max_size=35),
       nation=st.sampled_from(sorted(c.NATIONS)), long_term=st.booleans())
def test_any_resident_card_survives_encode_then_parse(name, address, nation, long_term):
    card = replace(SYNTHETIC_CARDS["resident"], name=name, address=address, nation_code=nation,
                   valid_to=None if long_term else date(2038, 3, 1))
    assert c.parse_text(c.encode_text(card), card.photo_wlt) == card


def test_read_response_lengths_must_add_up():
    text, photo = b"t" * 256, b"p" * 1024
    assert c.parse_read_data(c.build_read_data(text, photo, None, False), False) == (text, photo, None)
    with_fp = c.build_read_data(text, photo, b"f" * 1024, True)
    assert c.parse_read_data(with_fp, True) == (text, photo, b"f" * 1024)
    with pytest.raises(c.CardDataError):
        c.parse_read_data(with_fp[:-1], True)


# ---- the photo decoder plug-in --------------------------------------------------------------------------

def test_without_the_vendor_library_there_is_no_decoder_and_no_crash(monkeypatch, tmp_path):
    monkeypatch.setenv("HPF_WLT2BMP", str(tmp_path / "libwlt2bmp.so"))   # configured but not installed
    assert load_photo_decoder() is None


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build a stand-in vendor library")
def test_a_vendor_library_exporting_unpack_is_loaded_with_ctypes(monkeypatch, tmp_path):
    # A stand-in with the vendor's signature (it copies a fixed BMP): this tests the binding, not WLT.
    bmp = fixture_photo_bmp(SYNTHETIC_CARDS["resident"])
    assert len(bmp) == BMP_SIZE
    src = tmp_path / "wlt.c"
    src.write_text("#include <string.h>\nstatic const unsigned char B[] = {" + ",".join(map(str, bmp)) + "};\n"
                   "int unpack(char *wlt, char *bmp, int save) { if (wlt[0] == 0) return -1;"
                   " memcpy(bmp, B, sizeof B); return 1; }\n")
    lib = tmp_path / "libwlt2bmp.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    monkeypatch.setenv("HPF_WLT2BMP", str(lib))
    decoder = load_photo_decoder()
    assert isinstance(decoder, VendorWltDecoder)
    assert decoder.decode(b"\x01" * 1024) == bmp
    assert decoder.decode(b"\x00" * 1024) is None       # the library said no: no photo, no exception
