"""Loan arithmetic: repayment schedules, prepayment, payoff, repayment capacity (reference/hpf-rules.md §3).

All amounts are integer fen; the annual rate is a Decimal fraction (Decimal("0.026") for 2.6 %).
Monthly rate i = annual / 12. Arithmetic runs in Decimal at 40 digits; each money figure is rounded to the
fen half-up (ROUND_HALF_UP) at the point it is booked.

Rounding, stated (it decides the last fen):
- 等额本息 (01): M = P·i·(1+i)^n / ((1+i)^n − 1) rounded to the fen. Each period's interest is the booked
  balance × i rounded to the fen; principal = M − interest. The last installment repays whatever is left
  (it "absorbs the residual"), so the principal repaid is exactly P.
  Check: 1,000,000 yuan / 360 / 2.6 % -> M = 4,003.40 (2.85 % -> 4,135.57). The unrounded M is 4,003.3971…;
  paying the rounded 4,003.40 retires principal slightly faster, so the last installment is 4,001.75 and
  total interest is 441,222.35 — 0.61 yuan below the textbook 441,222.96 (= 360 × unrounded M − P), which
  no schedule paying whole fen can reproduce.
- 等额本金 (02): each payment is the exact P/n + (P − (k−1)·P/n)·i rounded to the fen; the booked balance
  follows the straight line P·(1 − k/n) rounded to the fen (principal = difference of two rounded points,
  2,777.77 or 2,777.78), interest = payment − principal (within a fen of balance × i). This reproduces the
  published figures for 1,000,000 / 360 / 2.6 %: first 4,944.44, last 2,783.80, total interest 391,083.33.
Prepayment is assumed to happen on a due date right after that period's installment; a payoff between due
dates adds interest for the broken period at annual/360 per day, 30/360 day count with the day capped at 30.
"""
from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from enum import Enum

from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.errors import InvalidAmount

__all__ = ["RepaymentMethod", "PrepayMode", "Installment", "LoanSchedule", "build_schedule",
           "monthly_payment_fen", "prepay", "full_payoff_amount", "max_principal_for_payment", "add_months"]

MAX_MONTHS = 360 * 2   # sanity bound; policy limits (30 years) are the rules' business


class PrepayMode(Enum):
    SHORTEN_TERM = "缩期"      # keep the monthly payment, fewer periods
    REDUCE_PAYMENT = "减额"    # keep the remaining periods, lower payment

    @property
    def label_zh(self) -> str:
        return {"缩期": "缩短期限，月供基本不变", "减额": "期限不变，减少月供"}[self.value]


@dataclass(frozen=True)
class Installment:
    period: int
    due_date: date | None
    payment_fen: int
    principal_fen: int
    interest_fen: int
    remaining_fen: int      # principal still owed after this installment


@dataclass(frozen=True)
class LoanSchedule:
    principal_fen: int
    annual_rate: Decimal
    method: RepaymentMethod
    installments: tuple[Installment, ...] = field(default_factory=tuple)

    @property
    def months(self) -> int:
        return len(self.installments)

    @property
    def total_interest_fen(self) -> int:
        return sum(x.interest_fen for x in self.installments)

    @property
    def total_payment_fen(self) -> int:
        return sum(x.payment_fen for x in self.installments)

    @property
    def first_payment_fen(self) -> int:
        return self.installments[0].payment_fen if self.installments else 0

    @property
    def last_payment_fen(self) -> int:
        return self.installments[-1].payment_fen if self.installments else 0

    @property
    def first_period(self) -> int:
        return self.installments[0].period if self.installments else 0

    def installment(self, period: int) -> Installment:
        """The installment with this loan period number (periods keep their numbers after a prepayment)."""
        idx = period - self.first_period
        if not 0 <= idx < len(self.installments):
            raise InvalidAmount("LOAN_PERIOD", "期次不在还款计划内", f"period {period} is not in the schedule")
        return self.installments[idx]


def add_months(d: date, months: int) -> date:
    """Same day `months` later, clipped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _fen(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check(principal_fen: int, annual_rate: Decimal, months: int) -> Decimal:
    if isinstance(principal_fen, bool) or not isinstance(principal_fen, int) or principal_fen < 0:
        raise InvalidAmount("LOAN_PRINCIPAL", "贷款金额必须为不小于零的整数分",
                            "principal must be a non-negative int in fen")
    if isinstance(annual_rate, float) or not isinstance(annual_rate, (Decimal, int)):
        raise InvalidAmount("LOAN_RATE", "利率格式不正确", "annual rate must be a Decimal fraction, not float")
    rate = Decimal(annual_rate)
    if not Decimal(0) <= rate < Decimal(1):
        raise InvalidAmount("LOAN_RATE", "利率超出范围", "annual rate must be a fraction in [0, 1), e.g. 0.026")
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidAmount("LOAN_TERM", "贷款期数不正确", f"months must be 1..{MAX_MONTHS}")
    return rate


def monthly_payment_fen(principal_fen: int, annual_rate: Decimal, months: int) -> int:
    """等额本息 monthly payment, rounded to the fen half-up."""
    rate = _check(principal_fen, annual_rate, months)
    with localcontext() as ctx:
        ctx.prec = 40
        return _fen(_annuity(Decimal(principal_fen), rate / 12, months))


def _annuity(p: Decimal, i: Decimal, n: int) -> Decimal:
    if i == 0:
        return p / n
    g = (1 + i) ** n
    return p * i * g / (g - 1)


def build_schedule(principal_fen: int, annual_rate: Decimal, months: int,
                   method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALLMENT,
                   first_due: date | None = None, *, first_period: int = 1) -> LoanSchedule:
    """The full repayment plan. Raises InvalidAmount for bad input and for unsupported methods (03/04)."""
    rate = _check(principal_fen, annual_rate, months)
    if method not in (RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL):
        raise InvalidAmount("LOAN_METHOD", f"暂不支持“{method.label_zh}”还款方式的测算",
                            f"repayment method {method.code} is not supported by the calculator")
    rows: list[Installment] = []
    with localcontext() as ctx:
        ctx.prec = 40
        i = rate / 12
        p = Decimal(principal_fen)
        balance = principal_fen
        m_fixed = _fen(_annuity(p, i, months))
        for k in range(1, months + 1):
            if k == months:
                principal, interest = balance, _fen(balance * i)
            elif method is RepaymentMethod.EQUAL_INSTALLMENT:
                interest = _fen(balance * i)
                principal = min(max(m_fixed - interest, 0), balance)
            else:
                # booked balance follows the exact straight line P·(1 − k/n), rounded to the fen
                principal = min(_fen(p * k / months) - _fen(p * (k - 1) / months), balance)
                exact_payment = p / months + (p - (k - 1) * p / months) * i
                interest = max(_fen(exact_payment) - principal, 0)
            balance -= principal
            due = add_months(first_due, k - 1) if first_due else None
            rows.append(Installment(first_period + k - 1, due, principal + interest, principal, interest, balance))
    return LoanSchedule(principal_fen, rate, method, tuple(rows))


def _remaining_after(schedule: LoanSchedule, after_period: int) -> int:
    if after_period == schedule.first_period - 1:
        return schedule.principal_fen
    return schedule.installment(after_period).remaining_fen


def prepay(schedule: LoanSchedule, after_period: int, amount_fen: int,
           mode: PrepayMode = PrepayMode.SHORTEN_TERM) -> LoanSchedule:
    """Schedule after a partial prepayment of `amount_fen` made right after installment `after_period`.

    SHORTEN_TERM keeps the payment (等额本息: the fewest periods whose payment does not exceed the old one;
    等额本金: the old monthly principal) and shortens the term; REDUCE_PAYMENT keeps the remaining periods.
    Periods keep their loan numbers. Prepaying the whole remaining principal gives an empty schedule."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidAmount("PREPAY_AMOUNT", "提前还款金额必须大于零", "prepayment must be a positive int in fen")
    last = schedule.first_period + schedule.months - 1
    if not schedule.first_period - 1 <= after_period < last:
        raise InvalidAmount("LOAN_PERIOD", "提前还款期次不在还款计划内",
                            f"after_period {after_period} outside {schedule.first_period - 1}..{last - 1}")
    remaining = _remaining_after(schedule, after_period)
    if amount_fen > remaining:
        raise InvalidAmount("PREPAY_TOO_LARGE", "提前还款金额超过剩余本金，请选择全部结清",
                            "prepayment exceeds the remaining principal")
    new_principal = remaining - amount_fen
    periods_left = last - after_period
    next_due = schedule.installment(after_period + 1).due_date
    if new_principal == 0:
        return LoanSchedule(0, schedule.annual_rate, schedule.method, ())
    months = periods_left
    if mode is PrepayMode.SHORTEN_TERM:
        months = _shortened_term(schedule, after_period, new_principal, periods_left)
    return build_schedule(new_principal, schedule.annual_rate, months, schedule.method, next_due,
                          first_period=after_period + 1)


def _shortened_term(schedule: LoanSchedule, after_period: int, new_principal: int, periods_left: int) -> int:
    rate = schedule.annual_rate
    if schedule.method is RepaymentMethod.EQUAL_PRINCIPAL:
        per_month = max(schedule.installment(after_period + 1).principal_fen, 1)
        return max(1, min(periods_left, math.ceil(Decimal(new_principal) / Decimal(per_month))))
    target = schedule.installment(after_period + 1).payment_fen
    lo, hi = 1, periods_left       # payment falls as the term grows: find the smallest term that fits
    while lo < hi:
        mid = (lo + hi) // 2
        if monthly_payment_fen(new_principal, rate, mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _days_30_360(start: date, end: date) -> int:
    d1, d2 = min(start.day, 30), min(end.day, 30)
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (d2 - d1)


def full_payoff_amount(schedule: LoanSchedule, after_period: int, on: date | None = None) -> int:
    """Amount (fen) that settles the loan right after installment `after_period` has been paid.

    With `on`, interest for the broken period since the last due date is added: remaining × annual/360 ×
    days (30/360, capped at 30 days — beyond that the installment is overdue and is collected as such)."""
    last = schedule.first_period + schedule.months - 1
    if not schedule.first_period - 1 <= after_period <= last:
        raise InvalidAmount("LOAN_PERIOD", "期次不在还款计划内", f"after_period {after_period} outside the schedule")
    remaining = _remaining_after(schedule, after_period)
    if on is None or remaining == 0:
        return remaining
    if after_period >= schedule.first_period:
        since = schedule.installment(after_period).due_date
    else:
        first_due = schedule.installments[0].due_date
        since = add_months(first_due, -1) if first_due else None
    if since is None:
        raise InvalidAmount("LOAN_DATES", "还款计划没有还款日，无法按日计息",
                            "schedule has no due dates; cannot accrue broken-period interest")
    days = max(0, min(30, _days_30_360(since, on)))
    with localcontext() as ctx:
        ctx.prec = 40
        return remaining + _fen(Decimal(remaining) * schedule.annual_rate / 360 * days)


def max_principal_for_payment(payment_fen: int, annual_rate: Decimal, months: int) -> int:
    """Largest principal (fen) whose 等额本息 payment, rounded to the fen, does not exceed payment_fen."""
    rate = _check(max(payment_fen, 0), annual_rate, months)
    if payment_fen <= 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 40
        i = rate / 12
        if i == 0:
            guess = payment_fen * months
        else:
            g = (1 + i) ** months
            guess = int((Decimal(payment_fen) * (g - 1) / (i * g)).to_integral_value(rounding=ROUND_FLOOR))
    while monthly_payment_fen(guess + 1, rate, months) <= payment_fen:
        guess += 1
    while guess > 0 and monthly_payment_fen(guess, rate, months) > payment_fen:
        guess -= 1
    return guess
