import pytest

from kiosk.domain.errors import InvalidNumber
from kiosk.domain.numbers import BankCard, Uscc, organization_code_check, parse_landline, parse_mobile


def test_unionpay_card_with_good_luhn():
    from stdnum import luhn
    body = "622202123456789012"
    card = BankCard.parse(" ".join([body[:4], body[4:8], body[8:12], body[12:]]) + luhn.calc_check_digit(body))
    assert card.is_unionpay and card.luhn_ok and len(card.number) == 19
    assert str(card) == "622202*********" + card.number[-4:]


def test_card_failing_luhn_is_accepted_but_flagged():
    from stdnum import luhn
    body = "622202123456789012"
    wrong = str((int(luhn.calc_check_digit(body)) + 1) % 10)
    card = BankCard.parse(body + wrong)
    assert card.luhn_ok is False and card.number == body + wrong


@pytest.mark.parametrize("text, code", [("62220212345", "CARD_LENGTH"), ("6222abcd12345678", "CARD_FORMAT")])
def test_bad_cards_refused(text, code):
    with pytest.raises(InvalidNumber) as err:
        BankCard.parse(text)
    assert err.value.code == code and err.value.message_zh


def test_mobile_and_landline():
    assert parse_mobile("+86 138-0013-8000") == "13800138000"
    for bad in ("12800138000", "1380013800", "23800138000"):
        with pytest.raises(InvalidNumber) as err:
            parse_mobile(bad)
        assert err.value.code == "PHONE_FORMAT"
    assert parse_landline("0570-3012345") == "0570-3012345"
    with pytest.raises(InvalidNumber):
        parse_landline("570-3012345")


def test_uscc_reference_value_and_its_organisation_code():
    u = Uscc.parse("9144030071526726XG")
    assert u.organization_code == "71526726X" and u.division_code == "440300"
    assert organization_code_check("71526726") == "X"


def test_uscc_bad_check_and_bad_embedded_org_code():
    with pytest.raises(InvalidNumber) as err:
        Uscc.parse("9144030071526726XH")
    assert err.value.code == "USCC_CHECKSUM"
    from stdnum.cn.uscc import calc_check_digit
    body = "91440300715267260"          # org code check char wrong (should be X)
    with pytest.raises(InvalidNumber) as err:
        Uscc.parse(body + calc_check_digit(body))
    assert err.value.code == "USCC_ORG_CODE"
    with pytest.raises(InvalidNumber) as err:
        Uscc.parse("9144030071526726IG")
    assert err.value.code == "USCC_FORMAT"
