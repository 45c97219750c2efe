"""A depositor asks how much they can borrow; the center answers with the limit, the term and a trial plan."""
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from center.rules.facts import LoanApplication
from center.rules.loan import CombinedLoan, check_loan, max_term_months, split_combined
from kiosk.domain.codes import PersonAccountState, RepaymentMethod
from kiosk.domain.loan import build_schedule

ON = date(2025, 6, 2)   # the day the requests are decided (2025-05-08 rates, Quzhou baseline policy)
with_ = replace         # the same person with some facts changed

PRICE = 200_000_000   # 2,000,000 yuan


def test_limit_is_the_smallest_of_four_rounded_down_to_a_thousand(person, policy):
    facts = with_(person, balance_fen=3_012_345)                      # × 15 = 451,851.75 yuan
    d = check_loan(facts, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert d.allowed
    assert d.limits_fen["balance_multiple"] == 45_185_175
    assert d.limits_fen["city_cap"] == 50_000_000 and d.limits_fen["price_ratio"] == 160_000_000
    assert d.max_amount_fen == 45_100_000                             # rounded down to 1,000 yuan
    assert d.annual_rate == Decimal("0.026") and d.max_months == 360
    assert d.monthly_payment_fen == build_schedule(45_100_000, Decimal("0.026"), 360).first_payment_fen


def test_city_cap_single_and_household(person, policy):
    rich = with_(person, balance_fen=100_000_000, deposit_base_fen=5_000_000)
    single = check_loan(rich, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert single.max_amount_fen == 50_000_000
    pair = check_loan(rich, LoanApplication(house_price_fen=PRICE, months=360, co_borrowers=1), ON, policy)
    assert pair.max_amount_fen == 80_000_000


def test_down_payment_limits_second_homes_more(person, policy):
    rich = with_(person, balance_fen=100_000_000, deposit_base_fen=5_000_000)
    first = check_loan(rich, LoanApplication(house_price_fen=50_000_000, months=360), ON, policy)
    second = check_loan(rich, LoanApplication(house_price_fen=50_000_000, months=360, first_home=False), ON, policy)
    assert first.max_amount_fen == 40_000_000 and second.max_amount_fen == 35_000_000
    assert second.annual_rate == Decimal("0.03075")                  # second-home floor


def test_repayment_capacity_limits_low_incomes(person, policy):
    low = with_(person, balance_fen=50_000_000, deposit_base_fen=300_000, other_monthly_debt_fen=50_000)
    d = check_loan(low, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert d.limits_fen["capacity"] < 50_000_000
    assert d.monthly_payment_fen <= 300_000 // 2 - 50_000            # 50 % of income minus other debt
    broke = with_(low, other_monthly_debt_fen=200_000)
    d = check_loan(broke, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert not d.allowed and d.code == "LOAN_LIMIT_ZERO" and "还款能力" in d.message_zh


def test_check_value_trial_one_million_at_2_6(person, policy):
    rich = with_(person, balance_fen=100_000_000, deposit_base_fen=5_000_000)
    app = LoanApplication(house_price_fen=PRICE, months=360, co_borrowers=1, requested_fen=80_000_000)
    d = check_loan(rich, app, ON, policy)
    assert d.allowed and d.monthly_payment_fen == 320_272           # 800,000 × (4,003.40 / 1,000,000 ≈)
    assert d.total_interest_fen == build_schedule(80_000_000, Decimal("0.026"), 360).total_interest_fen


def test_term_ends_by_retirement_plus_five(person, policy):
    # man born 1975-06-15: retires at 62 years 8 months on 2038-02-15, so the loan must end by 2043-02-15
    older = with_(person, birth_date=date(1975, 6, 15))
    assert max_term_months(older, ON, policy) == 212                 # 2025-06-02 .. 2043-02-15
    d = check_loan(older, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert not d.allowed and d.code == "LOAN_TERM_TOO_LONG" and d.max_months == 212
    assert "17年8个月" in d.message_zh
    assert check_loan(older, LoanApplication(house_price_fen=PRICE, months=212), ON, policy).allowed


@pytest.mark.parametrize("overrides, code", [
    (dict(account_state=PersonAccountState.SEALED), "LOAN_ACCOUNT_STATE"),
    (dict(continuous_months=5), "LOAN_CONTINUOUS"),
    (dict(outstanding_loan_fen=1), "LOAN_OUTSTANDING"),
    (dict(loans_used=2), "LOAN_COUNT"),
    (dict(birth_date=date(2008, 1, 1)), "LOAN_AGE_MIN"),
    (dict(birth_date=date(1960, 1, 1)), "LOAN_AGE_RETIRED"),
    (dict(fraud_ban_until=date(2030, 1, 1)), "LOAN_FRAUD_BAN"),
])
def test_ineligible_applicants_are_told_why(person, policy, overrides, code):
    d = check_loan(with_(person, **overrides), LoanApplication(house_price_fen=PRICE, months=120), ON, policy)
    assert not d.allowed and d.code == code and d.message_zh


def test_request_above_the_limit_is_refused_with_the_limit(person, policy):
    d = check_loan(person, LoanApplication(house_price_fen=PRICE, months=360, requested_fen=99_000_000), ON, policy)
    assert not d.allowed and d.code == "LOAN_OVER_LIMIT" and d.max_amount_fen > 0
    assert "最高可贷" in d.message_zh


def test_flexible_depositor_uses_flexible_continuity(person, policy):
    flex = with_(person, flexible_depositor=True, continuous_months=6)
    assert check_loan(flex, LoanApplication(house_price_fen=PRICE, months=120), ON, policy).allowed


def test_equal_principal_capacity_uses_the_first_installment(person, policy):
    app = LoanApplication(house_price_fen=PRICE, months=360, method=RepaymentMethod.EQUAL_PRINCIPAL)
    low = with_(person, balance_fen=50_000_000, deposit_base_fen=400_000)
    d = check_loan(low, app, ON, policy)
    assert d.allowed and d.monthly_payment_fen <= 200_000


def test_combined_loan_hpf_first_then_commercial_at_lpr(person, policy):
    rich = with_(person, balance_fen=100_000_000, deposit_base_fen=5_000_000)
    c = split_combined(rich, LoanApplication(house_price_fen=PRICE, months=360), ON, policy)
    assert isinstance(c, CombinedLoan)
    assert c.hpf_fen == 50_000_000 and c.commercial_fen == 110_000_000     # 1.6M need = 2M × 80 %
    assert c.commercial_rate == Decimal("0.0305")                           # LPR 5y 3.5 % − 45 bp
    assert sum(x.principal_fen for x in c.commercial_schedule.installments) == 110_000_000
    assert c.first_month_payment_fen == c.hpf_schedule.first_payment_fen + c.commercial_schedule.first_payment_fen
    small = split_combined(rich, LoanApplication(house_price_fen=PRICE, months=360, requested_fen=30_000_000),
                           ON, policy)
    assert small.hpf_fen == 30_000_000 and small.commercial_fen == 0 and small.commercial_schedule is None
    refused = split_combined(with_(rich, continuous_months=0), LoanApplication(house_price_fen=PRICE, months=360),
                             ON, policy)
    assert not refused.allowed and refused.code == "LOAN_CONTINUOUS"
