"""A borrower asks for a repayment plan; the plan repays exactly the principal and matches published figures."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from kiosk.domain.errors import InvalidAmount
from kiosk.domain.loan import (PrepayMode, RepaymentMethod, build_schedule, full_payoff_amount,
                               max_principal_for_payment, monthly_payment_fen, prepay)

MILLION = 100_000_000   # 1,000,000 yuan in fen
EI, EP = RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL


def test_equal_installment_check_values():
    s = build_schedule(MILLION, Decimal("0.026"), 360, EI)
    assert s.first_payment_fen == 400340
    assert all(x.payment_fen == 400340 for x in s.installments[:-1])
    # documented in kiosk/domain/loan.py: whole-fen payments land 0.61 yuan under the textbook 441,222.96
    assert s.total_interest_fen == 44122235
    assert s.last_payment_fen == 400175
    assert build_schedule(MILLION, Decimal("0.0285"), 360).first_payment_fen == 413557


def test_equal_principal_check_values():
    s = build_schedule(MILLION, Decimal("0.026"), 360, EP)
    assert s.first_payment_fen == 494444
    assert s.installments[0].payment_fen - s.installments[1].payment_fen in (601, 602)
    assert s.last_payment_fen == 278380
    assert s.total_interest_fen == 39108333


def test_due_dates_follow_the_first_due_date_and_clip_to_month_end():
    s = build_schedule(MILLION, Decimal("0.026"), 3, EI, first_due=date(2026, 1, 31))
    assert [x.due_date for x in s.installments] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


principals = st.integers(1, 300_000_000)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.08"), places=4)
terms = st.integers(1, 360)


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms, st.sampled_from([EI, EP]))
def test_every_schedule_repays_exactly_the_principal(principal, rate, months, method):
    s = build_schedule(principal, rate, months, method)
    assert s.months == months
    assert sum(x.principal_fen for x in s.installments) == principal
    assert s.installments[-1].remaining_fen == 0
    assert all(x.interest_fen >= 0 and x.principal_fen >= 0 for x in s.installments)
    assert all(x.payment_fen == x.principal_fen + x.interest_fen for x in s.installments)
    assert s.total_payment_fen == principal + s.total_interest_fen
    balances = [principal] + [x.remaining_fen for x in s.installments]
    assert all(a >= b for a, b in zip(balances, balances[1:]))


@settings(max_examples=60, deadline=None)
@given(st.integers(10_000_000, 200_000_000), rates.filter(lambda r: r > 0), st.integers(24, 360),
       st.sampled_from([EI, EP]), st.sampled_from(list(PrepayMode)), st.data())
def test_prepayment_still_repays_exactly(principal, rate, months, method, mode, data):
    s = build_schedule(principal, rate, months, method, first_due=date(2026, 1, 20))
    after = data.draw(st.integers(1, months - 2))
    remaining = s.installment(after).remaining_fen
    amount = data.draw(st.integers(1, remaining - 1))
    new = prepay(s, after, amount, mode)
    assert sum(x.principal_fen for x in new.installments) == remaining - amount
    assert new.first_period == after + 1
    assert new.installments[0].due_date == s.installment(after + 1).due_date
    if mode is PrepayMode.REDUCE_PAYMENT:
        assert new.months == months - after
    else:
        assert new.months <= months - after


def test_shorten_term_keeps_the_payment_and_reduce_payment_keeps_the_term():
    s = build_schedule(MILLION, Decimal("0.026"), 360, EI)
    shorter = prepay(s, 12, 10_000_000, PrepayMode.SHORTEN_TERM)
    assert shorter.months < 348 and shorter.first_payment_fen <= 400340
    assert monthly_payment_fen(shorter.principal_fen, Decimal("0.026"), shorter.months - 1) > 400340
    lower = prepay(s, 12, 10_000_000, PrepayMode.REDUCE_PAYMENT)
    assert lower.months == 348 and lower.first_payment_fen < 400340


def test_prepaying_more_than_owed_is_refused_and_all_of_it_empties_the_plan():
    s = build_schedule(1_000_000, Decimal("0.026"), 12, EI)
    rest = s.installment(3).remaining_fen
    with pytest.raises(InvalidAmount) as err:
        prepay(s, 3, rest + 1)
    assert err.value.code == "PREPAY_TOO_LARGE"
    assert prepay(s, 3, rest).months == 0


def test_full_payoff_adds_broken_period_interest_capped_at_thirty_days():
    s = build_schedule(MILLION, Decimal("0.026"), 360, EI, first_due=date(2026, 1, 20))
    rest = s.installment(12).remaining_fen                  # paid 2026-12-20
    assert full_payoff_amount(s, 12) == rest
    ten_days = full_payoff_amount(s, 12, on=date(2026, 12, 30))
    assert ten_days == rest + round(rest * Decimal("0.026") / 360 * 10)
    assert full_payoff_amount(s, 12, on=date(2027, 3, 1)) == rest + round(rest * Decimal("0.026") / 360 * 30)


def test_max_principal_for_payment_inverts_the_payment():
    p = max_principal_for_payment(400340, Decimal("0.026"), 360)
    assert monthly_payment_fen(p, Decimal("0.026"), 360) <= 400340 < monthly_payment_fen(p + 1, Decimal("0.026"), 360)
    assert abs(p - MILLION) < 1000
    assert max_principal_for_payment(1000, Decimal("0"), 10) == 10004   # 1000.4 rounds to 1000
    assert max_principal_for_payment(0, Decimal("0.03"), 10) == 0


@pytest.mark.parametrize("args, code", [
    ((-1, Decimal("0.026"), 12), "LOAN_PRINCIPAL"),
    ((100, 0.026, 12), "LOAN_RATE"),
    ((100, Decimal("2.6"), 12), "LOAN_RATE"),
    ((100, Decimal("0.026"), 0), "LOAN_TERM"),
])
def test_bad_loan_input_is_refused(args, code):
    with pytest.raises(InvalidAmount) as err:
        build_schedule(*args)
    assert err.value.code == code


def test_bullet_method_is_not_calculated():
    with pytest.raises(InvalidAmount) as err:
        build_schedule(100, Decimal("0.026"), 12, RepaymentMethod.BULLET)
    assert err.value.code == "LOAN_METHOD"
