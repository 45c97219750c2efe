"""A teller or kiosk reads an identity number; bad numbers are refused with a code and a Chinese message."""
from datetime import date

import pytest
from hypothesis import given, strategies as st

from kiosk.domain.codes import Gender
from kiosk.domain.ids import (DocumentType, ForeignPermanentResidenceId, InvalidDocument, ResidentId,
                              check_char, parse_document, upgrade_15_to_18)

TODAY = date(2026, 1, 1)

bodies = st.builds(
    lambda prov, rest, born, seq: f"{prov}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(["11", "33", "44", "65"]), st.integers(0, 9999),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY), st.integers(0, 999))


def test_reference_ids_parse_with_birth_date_and_gender():
    a = ResidentId.parse("11010519491231002X", today=TODAY)
    assert (a.birth_date, a.gender, a.province) == (date(1949, 12, 31), Gender.FEMALE, "北京")
    b = ResidentId.parse("440524188001010014", today=TODAY)
    assert (b.birth_date, b.gender) == (date(1880, 1, 1), Gender.MALE)
    assert a.document_type is DocumentType.RESIDENT_ID and a.document_type.certificate_code == "01"


def test_lowercase_x_and_spaces_are_accepted():
    assert ResidentId.parse(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"


@given(bodies)
def test_every_body_with_its_check_char_validates(body):
    number = body + check_char(body)
    assert ResidentId.parse(number, today=TODAY).number == number


@given(bodies, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_refused(body, pos, ch):
    number = body + check_char(body)
    if number[pos] == ch or (pos < 17 and ch == "X"):
        return
    changed = number[:pos] + ch + number[pos + 1:]
    with pytest.raises(InvalidDocument) as err:
        ResidentId.parse(changed, today=TODAY)
    assert err.value.code == "ID_CHECKSUM"


@pytest.mark.parametrize("number, code", [
    ("11010519491231002", "ID_FORMAT"),
    ("1101051949123100AX", "ID_FORMAT"),
    ("110105194912310021", "ID_CHECKSUM"),
])
def test_malformed_ids_say_what_is_wrong(number, code):
    with pytest.raises(InvalidDocument) as err:
        ResidentId.parse(number, today=TODAY)
    assert err.value.code == code
    assert err.value.message_zh and all(ord(c) < 128 for c in str(err.value))
    assert number not in str(err.value)  # no personal data in the log line


def _with_check(body):
    return body + check_char(body)


def test_impossible_and_future_birth_dates_are_refused():
    with pytest.raises(InvalidDocument) as err:
        ResidentId.parse(_with_check("11010519490230002"), today=TODAY)
    assert err.value.code == "ID_BIRTH_DATE"
    with pytest.raises(InvalidDocument) as err:
        ResidentId.parse(_with_check("11010520300101002"), today=TODAY)
    assert err.value.code == "ID_BIRTH_FUTURE"


def test_unknown_province_is_refused():
    with pytest.raises(InvalidDocument) as err:
        ResidentId.parse(_with_check("99010519491231002"), today=TODAY)
    assert err.value.code == "ID_REGION"


def test_fifteen_digit_id_is_upgraded():
    assert upgrade_15_to_18("610104620927690") == "610104196209276908"
    parsed = ResidentId.parse("610104620927690", today=TODAY)
    assert parsed.number == "610104196209276908" and parsed.birth_date == date(1962, 9, 27)


def test_hk_macau_taiwan_permits_use_the_same_check():
    for number, where in (("810000199408230021", "香港"), ("830000199201300022", "台湾")):
        p = ResidentId.parse(number, today=TODAY)
        assert p.is_residence_permit and p.province == where
        assert p.document_type is DocumentType.HKMT_RESIDENCE_PERMIT
    with pytest.raises(InvalidDocument):
        ResidentId.parse("810000199408230021", today=TODAY, allow_permit=False)
    with pytest.raises(InvalidDocument) as err:
        parse_document(DocumentType.RESIDENT_ID, "810000199408230021", today=TODAY)
    assert err.value.code == "ID_TYPE_MISMATCH"


def test_foreign_permanent_residence_both_formats():
    old = ForeignPermanentResidenceId.parse("KAZ110090123105", today=TODAY)
    assert old.document_type is DocumentType.FOREIGN_PERMANENT_RESIDENCE_2017
    assert old.birth_date == date(1990, 12, 31) and old.nationality == "KAZ"
    with pytest.raises(InvalidDocument) as err:
        ForeignPermanentResidenceId.parse("KAZ110090123106", today=TODAY)
    assert err.value.code == "FPR_CHECKSUM"
    new_body = "93384019900101001"   # 9 + Zhejiang 33 + nationality 840 + 1990-01-01 + 001
    new = ForeignPermanentResidenceId.parse(new_body + check_char(new_body), today=TODAY)
    assert new.document_type is DocumentType.FOREIGN_PERMANENT_RESIDENCE_2023
    assert (new.nationality, new.province_code, new.gender) == ("840", "33", Gender.MALE)
    assert new.document_type.certificate_code == "04"


def test_str_and_repr_of_parsed_numbers_are_masked():
    from kiosk.domain.numbers import BankCard
    rid = ResidentId.parse("11010519491231002X", today=TODAY)
    assert str(rid) == "110105********002X"
    assert "11010519491231002X" not in repr(rid) and "19491231" not in repr(rid)
    fpr = ForeignPermanentResidenceId.parse("KAZ110090123105", today=TODAY)
    assert "KAZ110090123105" not in repr(fpr)
    assert "6222021234567890123" not in repr(BankCard.parse("6222021234567890123"))


def test_region_name_is_informative_only():
    assert ResidentId.parse("11010519491231002X", today=TODAY).region_name == "北京市朝阳区"
    body = "33089919900101001"           # county 330899 is not in GB/T 2260: still a valid number
    unknown = ResidentId.parse(body + check_char(body), today=TODAY)
    assert unknown.region_name == "" and unknown.province == "浙江"
    assert ResidentId.parse("810000199408230021", today=TODAY).region_name == "香港"
