"""Input facts and outcome dataclasses for the center's rules. Plain data: the center fills them from its DB.

Money is integer fen; ratios are Decimal fractions (Decimal("0.12") = 12 %); dates are `date`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kiosk.domain.codes import (Gender, PersonAccountState, RepaymentMethod, WithdrawalBusinessType,
                                WithdrawalReason)


@dataclass(frozen=True)
class PersonFacts:
    """What the center knows about a depositor when a request arrives."""
    birth_date: date
    gender: Gender
    account_state: PersonAccountState
    balance_fen: int
    deposit_base_fen: int = 0                       # 缴存基数 GRJCJS (monthly wage base)
    unit_ratio: Decimal = Decimal("0")             # 单位缴存比例 DWJCBL
    personal_ratio: Decimal = Decimal("0")         # 个人缴存比例 GRJCBL
    opened_on: date | None = None                  # 开户日期 KHRQ
    paid_up_to: date | None = None                 # 缴至年月 JZNY, as the first day of that month
    continuous_months: int = 0                     # consecutive months actually paid up to paid_up_to
    next_eligible: dict[WithdrawalReason, date] = field(default_factory=dict)   # 下次提取日期 per reason
    withdrawal_in_progress: bool = False           # an unfinished (在途) withdrawal exists
    outstanding_loan_fen: int = 0                  # HPF loan principal still owed (borrower or co-borrower)
    loan_in_arrears: bool = False                  # overdue installments on that loan
    loans_used: int = 0                            # HPF loans taken so far (household)
    owns_home_in_city: bool = False                # applicant or spouse owns a dwelling in the city
    female_original_retirement_age: int = 55       # 50 (worker) or 55 (cadre) category, women only
    sealed_since: date | None = None               # when the account was sealed (封存), if it is
    flexible_depositor: bool = False               # 灵活就业 voluntary depositor
    household_monthly_income_fen: int | None = None   # 家庭月收入; None -> derived from the deposit base
    other_monthly_debt_fen: int = 0                # other monthly debt service (commercial loans etc.)
    fraud_ban_until: date | None = None            # 骗提/骗贷 ban

    @property
    def has_outstanding_loan(self) -> bool:
        return self.outstanding_loan_fen > 0

    @property
    def monthly_deposit_fen(self) -> int:
        """Total monthly deposit (both shares), each share rounded half-up to the fen."""
        from center.rules.flexible import share_fen
        return share_fen(self.deposit_base_fen, self.unit_ratio) + share_fen(self.deposit_base_fen,
                                                                          self.personal_ratio)


@dataclass(frozen=True)
class WithdrawalEvidence:
    """Reason-specific facts established from the applicant's materials (or data sharing)."""
    dwelling_id: str = ""                          # 不动产单元号 / contract number of the dwelling
    dwellings_already_withdrawn: frozenset[str] = frozenset()   # dwellings this person already withdrew for
    house_price_fen: int = 0                       # purchase price / build budget / cost share
    house_loans_fen: int = 0                       # loans used for that purchase
    contract_date: date | None = None              # purchase contract / deed / completion date
    already_withdrawn_for_dwelling_fen: int = 0    # by spouse, parents, children for the same dwelling
    monthly_rent_fen: int = 0                      # actual monthly rent (rent withdrawals)
    public_rental_housing: bool = False            # 公租房: actual rent, no city cap
    rent_months: int = 1                           # months of rent this withdrawal covers
    rent_withdrawn_last_12m_fen: int = 0           # rent already withdrawn in the last 12 months
    loan_repaid_periods: int = 0                   # installments repaid on the loan being offset
    loan_due_last_12m_fen: int = 0                 # P+I due in the past 12 months (year offset cap)
    out_of_pocket_fen: int = 0                     # medical out-of-pocket cost / own cost share
    event_date: date | None = None                 # diagnosis / completion / death / emigration date
    incapacity_certified: bool = False             # 劳动能力鉴定结论 + termination of employment
    emigration_proven: bool = False                # hukou cancelled or settled abroad
    death_certified: bool = False                  # death certificate + heir proof
    reemployed: bool = False                       # for the unemployment ground


@dataclass(frozen=True)
class Decision:
    """Outcome of a withdrawal check."""
    allowed: bool
    reason: WithdrawalReason
    max_amount_fen: int = 0
    closes_account: bool = False
    business_type: WithdrawalBusinessType = WithdrawalBusinessType.PARTIAL
    next_eligible_date: date | None = None
    code: str = "OK"
    message_zh: str = "符合提取条件"

    @property
    def refusal_code(self) -> str | None:
        return None if self.allowed else self.code


@dataclass(frozen=True)
class LoanApplication:
    """A loan request (or a trial calculation)."""
    house_price_fen: int
    months: int
    first_home: bool = True
    method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALLMENT
    requested_fen: int | None = None               # None -> just compute the maximum
    co_borrowers: int = 0                          # 0 = single applicant; ≥1 -> household cap
    co_borrower_balance_fen: int = 0
    co_borrower_income_fen: int = 0
    annual_rate: Decimal | None = None             # None -> PBOC table (second home: the floor)
    first_due: date | None = None


@dataclass(frozen=True)
class LoanDecision:
    """Outcome of a loan check: the limit, how it was reached, and a trial schedule."""
    allowed: bool
    max_amount_fen: int = 0
    max_months: int = 0
    annual_rate: Decimal = Decimal("0")
    limits_fen: dict[str, int] = field(default_factory=dict)   # city_cap, balance_multiple, price_ratio, capacity
    monthly_payment_fen: int = 0                   # first installment for the granted/maximum amount
    total_interest_fen: int = 0
    code: str = "OK"
    message_zh: str = "符合贷款条件"
