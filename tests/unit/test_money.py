from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from kiosk.domain.errors import InvalidAmount
from kiosk.domain.money import chinese_uppercase, format_yuan, parse_yuan, to_decimal


def test_parse_examples():
    assert parse_yuan("1,234.56") == 123456
    assert parse_yuan("¥1234.5") == 123450
    assert parse_yuan("0.01") == 1
    assert parse_yuan(Decimal("12.30")) == 1230
    assert parse_yuan(12) == 1200
    assert parse_yuan("-5.00", allow_negative=True) == -500


@pytest.mark.parametrize("value, code", [
    ("1.234", "AMOUNT_PRECISION"), (Decimal("0.001"), "AMOUNT_PRECISION"), ("-1", "AMOUNT_NEGATIVE"),
    (1.5, "AMOUNT_TYPE"), ("1,23.45", "AMOUNT_FORMAT"), ("", "AMOUNT_FORMAT"), ("1e3", "AMOUNT_FORMAT"),
])
def test_parse_refusals(value, code):
    with pytest.raises(InvalidAmount) as err:
        parse_yuan(value)
    assert err.value.code == code and err.value.message_zh


def test_max_amount():
    with pytest.raises(InvalidAmount) as err:
        parse_yuan("100.01", max_fen=10000)
    assert err.value.code == "AMOUNT_TOO_LARGE"


@given(st.integers(-10 ** 13, 10 ** 13))
def test_format_parse_round_trip(fen):
    assert parse_yuan(format_yuan(fen), allow_negative=True) == fen
    assert parse_yuan(to_decimal(fen), allow_negative=True) == fen


@pytest.mark.parametrize("fen, text", [
    (123456, "壹仟贰佰叁拾肆元伍角陆分"),
    (0, "零元整"),
    (5, "伍分"),
    (50, "伍角整"),
    (105, "壹元零伍分"),
    (100000, "壹仟元整"),
    (1050, "壹拾元伍角整"),
    (1000100, "壹万零壹元整"),
    (100100000, "壹佰万壹仟元整"),
    (1000000000, "壹仟万元整"),
    (10000000005, "壹亿元零伍分"),
    (10001000000, "壹亿零壹万元整"),
    (10000010000, "壹亿零壹佰元整"),
    (400340, "肆仟零叁元肆角整"),
    (44122235, "肆拾肆万壹仟贰佰贰拾贰元叁角伍分"),
    (99999999999999, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_chinese_uppercase(fen, text):
    assert chinese_uppercase(fen) == text


@given(st.integers(0, 99999999999999))
def test_uppercase_never_has_double_zero_or_trailing_zero(fen):
    text = chinese_uppercase(fen)
    assert "零零" not in text and not text.startswith("零壹")
    assert text.endswith("整") == (fen % 10 == 0)
