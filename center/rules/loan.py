"""Loan rules (贷款), reference/hpf-rules.md §3, with the city's values from the policy file.

Eligibility: account 正常; no fraud ban; policy.loan.min_continuous_months consecutive months paid (flexible
depositors: policy.flexible.loan_min_continuous_months); no outstanding HPF loan; fewer than max_loans loans
used; age ≥ min_age and before the statutory retirement date (kiosk.domain.retirement).
Term: ≤ max_term_months and the last installment no later than retirement date + retirement_plus_years.
Rate: the PBOC table on the application date (kiosk.domain.rates); second home = floor + city markup.
Maximum = min(A1 city cap (single / household), A2 (own + co-borrowers' balance) × multiple,
A3 price × (1 − down payment), A4 repayment capacity), rounded DOWN to policy.loan.round_down_fen.
A4: income = household_monthly_income_fen if known, else the deposit base (= monthly deposit ÷ total ratio),
plus co-borrowers' income; allowed payment = income × capacity_ratio − other monthly debt; A4 is the largest
principal whose first installment fits (等额本息: the annuity; 等额本金: P/n + P·i).
The trial schedule (kiosk.domain.loan.build_schedule) is for the requested amount, or the maximum."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from center.rules.facts import LoanApplication, LoanDecision, PersonFacts
from center.rules.policy import Policy
from kiosk.domain.codes import Gender, PersonAccountState, RepaymentMethod
from kiosk.domain.loan import LoanSchedule, build_schedule, max_principal_for_payment
from kiosk.domain.money import format_yuan
from kiosk.domain.rates import rate_for
from kiosk.domain.retirement import age_on, retirement_date


def _floor(x: Decimal) -> int:
    return int(Decimal(x).to_integral_value(rounding=ROUND_FLOOR))


def _months_between(start: date, end: date) -> int:
    """Whole months from start to end (end's day before start's day does not count the last month)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def _refuse(code: str, message_zh: str, **kw) -> LoanDecision:
    return LoanDecision(False, code=code, message_zh=message_zh, **kw)


def loan_rate(application: LoanApplication, on: date, policy: Policy) -> Decimal:
    if application.annual_rate is not None:
        return Decimal(application.annual_rate)
    rate = rate_for(on, application.first_home, application.months)
    if not application.first_home:
        rate += Decimal(policy.loan.second_home_rate_markup_bp) / 10000
    return rate


def max_term_months(facts: PersonFacts, on: date, policy: Policy) -> int:
    """Longest term allowed: the policy maximum, ending by statutory retirement + retirement_plus_years."""
    category = facts.female_original_retirement_age if facts.gender is Gender.FEMALE else None
    retire = retirement_date(facts.birth_date, facts.gender, category)
    latest_end = retire.replace(year=retire.year + policy.loan.retirement_plus_years) \
        if not (retire.month == 2 and retire.day == 29) else date(retire.year + policy.loan.retirement_plus_years, 2, 28)
    return max(0, min(policy.loan.max_term_months, _months_between(on, latest_end)))


def check_loan(facts: PersonFacts, application: LoanApplication, on: date, policy: Policy) -> LoanDecision:
    """Decide a loan application (or a trial: requested_fen None -> the maximum and its schedule)."""
    lp = policy.loan
    app = application
    if facts.account_state is not PersonAccountState.NORMAL:
        return _refuse("LOAN_ACCOUNT_STATE", f"账户状态为“{facts.account_state.label_zh}”，须为正常缴存状态才能申请贷款")
    if facts.fraud_ban_until and on < facts.fraud_ban_until:
        return _refuse("LOAN_FRAUD_BAN", f"因存在违规记录，{facts.fraud_ban_until:%Y年%m月%d日}前不能申请贷款")
    need_months = policy.flexible.loan_min_continuous_months if facts.flexible_depositor else lp.min_continuous_months
    if facts.continuous_months < need_months:
        return _refuse("LOAN_CONTINUOUS", f"须连续足额缴存满{need_months}个月才能申请贷款")
    if facts.has_outstanding_loan:
        return _refuse("LOAN_OUTSTANDING", "您有未还清的公积金贷款，结清后才能再次申请")
    if facts.loans_used >= lp.max_loans:
        return _refuse("LOAN_COUNT", f"家庭使用公积金贷款已达{lp.max_loans}次，不能再申请")
    if age_on(facts.birth_date, on) < lp.min_age:
        return _refuse("LOAN_AGE_MIN", f"年满{lp.min_age}周岁才能申请贷款")
    max_months = max_term_months(facts, on, policy)
    category = facts.female_original_retirement_age if facts.gender is Gender.FEMALE else None
    if on >= retirement_date(facts.birth_date, facts.gender, category) or max_months < 12:
        return _refuse("LOAN_AGE_RETIRED", "已达到或临近法定退休年龄，不能申请公积金贷款")
    if app.house_price_fen <= 0:
        return _refuse("LOAN_PRICE", "请填写房屋总价", max_months=max_months)
    if not 1 <= app.months <= max_months:
        return _refuse("LOAN_TERM_TOO_LONG", f"贷款期限最长为{max_months}个月（{max_months // 12}年"
                       f"{'' if max_months % 12 == 0 else str(max_months % 12) + '个月'}）", max_months=max_months)
    if app.method not in (RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL):
        return _refuse("LOAN_METHOD", "请选择等额本息或等额本金还款方式", max_months=max_months)
    rate = loan_rate(app, on, policy)

    limits = loan_limits(facts, app, rate, policy)
    raw_max = min(limits.values())
    max_fen = max(0, raw_max // lp.round_down_fen * lp.round_down_fen)
    common = dict(max_months=max_months, annual_rate=rate, limits_fen=limits)
    if max_fen <= 0:
        which = min(limits, key=limits.get)
        msg = {"capacity": "按您的收入测算还款能力不足，暂不能贷款",
               "balance_multiple": "公积金账户余额不足，可贷额度为零"}.get(which, "可贷额度为零")
        return _refuse("LOAN_LIMIT_ZERO", msg, **common)
    principal = app.requested_fen if app.requested_fen is not None else max_fen
    if principal <= 0:
        return _refuse("LOAN_AMOUNT", "申请金额必须大于零", max_amount_fen=max_fen, **common)
    schedule = build_schedule(min(principal, max_fen), rate, app.months, app.method, app.first_due)
    trial = dict(monthly_payment_fen=schedule.first_payment_fen, total_interest_fen=schedule.total_interest_fen)
    if principal > max_fen:
        return _refuse("LOAN_OVER_LIMIT", f"申请金额超过可贷额度，最高可贷{format_yuan(max_fen)}",
                       max_amount_fen=max_fen, **common, **trial)
    return LoanDecision(True, max_fen, code="OK",
                        message_zh=f"符合贷款条件，最高可贷{format_yuan(max_fen)}", **common, **trial)


def loan_limits(facts: PersonFacts, app: LoanApplication, rate: Decimal, policy: Policy) -> dict[str, int]:
    """The four limits (fen), before rounding: city_cap, balance_multiple, price_ratio, capacity."""
    lp = policy.loan
    city_cap = lp.cap_household_fen if app.co_borrowers > 0 else lp.cap_single_fen
    balance = facts.balance_fen + app.co_borrower_balance_fen
    by_balance = _floor(Decimal(balance) * lp.balance_multiple) if balance >= lp.min_balance_for_multiple_fen else 0
    down = lp.down_payment_first if app.first_home else lp.down_payment_second
    by_price = _floor(Decimal(app.house_price_fen) * (1 - down))
    income = facts.household_monthly_income_fen
    if income is None:
        income = facts.deposit_base_fen
    income += app.co_borrower_income_fen
    payment = _floor(Decimal(income) * lp.capacity_ratio) - facts.other_monthly_debt_fen
    if payment <= 0:
        capacity = 0
    elif app.method is RepaymentMethod.EQUAL_PRINCIPAL:
        i = rate / 12
        capacity = _floor(Decimal(payment) / (Decimal(1) / app.months + i))
    else:
        capacity = max_principal_for_payment(payment, rate, app.months)
    return {"city_cap": city_cap, "balance_multiple": by_balance, "price_ratio": by_price, "capacity": capacity}


@dataclass(frozen=True)
class CombinedLoan:
    """组合贷款: the HPF part decided under HPF rules first, the rest as a commercial loan at LPR + spread."""
    hpf: LoanDecision
    hpf_fen: int
    commercial_fen: int
    commercial_rate: Decimal
    hpf_schedule: LoanSchedule | None
    commercial_schedule: LoanSchedule | None

    @property
    def first_month_payment_fen(self) -> int:
        return sum(s.first_payment_fen for s in (self.hpf_schedule, self.commercial_schedule) if s)


def commercial_rate(app: LoanApplication, policy: Policy) -> Decimal:
    cp = policy.commercial
    base = cp.lpr_5y if app.months > 60 else cp.lpr_1y
    spread = cp.spread_first_home_bp if app.first_home else cp.spread_second_home_bp
    return base + Decimal(spread) / 10000


def split_combined(facts: PersonFacts, application: LoanApplication, on: date, policy: Policy):
    """Split a financing need into HPF + commercial parts (same term and method).

    need = requested_fen (or the most the down payment allows: price × (1 − down payment)), capped at that.
    Returns CombinedLoan, or the HPF LoanDecision when the applicant cannot take an HPF loan at all."""
    lp = policy.loan
    down = lp.down_payment_first if application.first_home else lp.down_payment_second
    ceiling = _floor(Decimal(application.house_price_fen) * (1 - down))
    need = min(application.requested_fen if application.requested_fen is not None else ceiling, ceiling)
    probe = LoanApplication(**{**application.__dict__, "requested_fen": None})
    hpf = check_loan(facts, probe, on, policy)
    if not hpf.allowed:
        return hpf
    hpf_part = min(need, hpf.max_amount_fen)
    rest = need - hpf_part
    c_rate = commercial_rate(application, policy)
    hpf_sched = build_schedule(hpf_part, hpf.annual_rate, application.months, application.method,
                               application.first_due) if hpf_part else None
    com_sched = build_schedule(rest, c_rate, application.months, application.method,
                               application.first_due) if rest else None
    return CombinedLoan(hpf, hpf_part, rest, c_rate, hpf_sched, com_sched)
