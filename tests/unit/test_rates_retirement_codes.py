from datetime import date
from decimal import Decimal

import pytest

from kiosk.domain.codes import Gender, PersonAccountState, WithdrawalReason, BusinessType, UnknownCode
from kiosk.domain.rates import rate_for, rate_table_bp, repricing_date
from kiosk.domain.retirement import retirement_age, retirement_date


@pytest.mark.parametrize("on, first, months, rate", [
    (date(2025, 5, 8), True, 360, "0.026"), (date(2025, 5, 8), True, 60, "0.021"),
    (date(2025, 5, 7), True, 360, "0.0285"), (date(2024, 5, 18), False, 360, "0.03325"),
    (date(2023, 1, 1), True, 61, "0.031"), (date(2016, 1, 1), False, 12, "0.03025"),
])
def test_rate_in_force_on_a_date(on, first, months, rate):
    assert rate_for(on, first, months) == Decimal(rate)


def test_rate_table_for_the_catalog_is_in_basis_points():
    rows = rate_table_bp()
    assert [r["effective_from"] for r in rows] == ["2015-08-26", "2022-10-01", "2024-05-18", "2025-05-08"]
    assert rows[-1]["first_home_gt5_bp"] == 260 and rows[-1]["second_home_gt5_pct"] == "3.075"
    assert repricing_date(date(2020, 3, 1), date(2025, 5, 8)) == date(2026, 1, 1)


def test_rate_before_the_table_is_refused():
    from kiosk.domain.errors import InvalidAmount
    with pytest.raises(InvalidAmount):
        rate_for(date(2010, 1, 1), True, 360)


@pytest.mark.parametrize("born, gender, original, years, months", [
    (date(1964, 12, 31), Gender.MALE, None, 60, 0),
    (date(1965, 1, 1), Gender.MALE, None, 60, 1),
    (date(1965, 5, 1), Gender.MALE, None, 60, 2),
    (date(1976, 8, 1), Gender.MALE, None, 62, 11),
    (date(1976, 9, 1), Gender.MALE, None, 63, 0),
    (date(1990, 1, 1), Gender.MALE, None, 63, 0),
    (date(1969, 12, 1), Gender.FEMALE, 55, 55, 0),
    (date(1970, 4, 30), Gender.FEMALE, 55, 55, 1),
    (date(1981, 9, 1), Gender.FEMALE, 55, 58, 0),
    (date(1975, 1, 1), Gender.FEMALE, 50, 50, 1),
    (date(1975, 3, 1), Gender.FEMALE, 50, 50, 2),
    (date(1984, 10, 1), Gender.FEMALE, 50, 54, 11),
    (date(1984, 11, 1), Gender.FEMALE, 50, 55, 0),
])
def test_statutory_retirement_age_under_the_2025_reform(born, gender, original, years, months):
    age = retirement_age(born, gender, original)
    assert (age.years, age.months) == (years, months)


def test_retirement_date_is_birth_plus_age():
    assert retirement_date(date(1965, 1, 31), Gender.MALE) == date(2025, 2, 28)
    assert retirement_date(date(1990, 6, 15), Gender.FEMALE) == date(2048, 6, 15)


def test_code_tables():
    assert PersonAccountState.from_code("01") is PersonAccountState.NORMAL
    assert PersonAccountState.from_code(6).label_zh == "冻结"
    assert WithdrawalReason.RENT.code == "07" and WithdrawalReason.RETIREMENT.closes_account
    assert WithdrawalReason.LIFT_INSTALLATION.is_local and not WithdrawalReason.RENT.is_local
    assert len(BusinessType) == 15
    with pytest.raises(UnknownCode) as err:
        PersonAccountState.from_code("42")
    assert err.value.code == "CODE_UNKNOWN" and "42" in err.value.message_zh


def test_catalog_entries_fit_the_wire_contract():
    from sync.protocol import RateEntry
    from kiosk.domain.rates import catalog_entries
    entries = [RateEntry(**e) for e in catalog_entries()]
    latest = entries[-1]
    assert (latest.effective_from, latest.first_home_le5_bp, latest.first_home_gt5_bp) == ("2025-05-08", 210, 260)
    assert latest.second_home_le5_bp == 253 and latest.second_home_gt5_bp == 308    # 2.525 / 3.075 rounded up
