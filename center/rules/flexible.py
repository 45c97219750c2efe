"""Flexible-employment voluntary deposit (灵活就业人员自愿缴存), reference/hpf-rules.md §1.

Monthly amount = base × ratio, rounded half-up to the fen; the person pays both shares (all of it).
Opening: age ≥ policy.flexible.min_age (16) and before the statutory retirement date; base and ratio within
the city's ranges; not already depositing through an employer (a normal employee account)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from center.rules.policy import Policy
from kiosk.domain.codes import Gender, PersonAccountState
from kiosk.domain.money import format_yuan
from kiosk.domain.retirement import age_on, retirement_date


def share_fen(base_fen: int, ratio: Decimal) -> int:
    """base × ratio, rounded half-up to the fen."""
    return int((Decimal(base_fen) * Decimal(ratio)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_amount_fen(base_fen: int, ratio: Decimal) -> int:
    """A flexible depositor's monthly amount (fen): base × ratio, half-up to the fen."""
    return share_fen(base_fen, ratio)


@dataclass(frozen=True)
class FlexibleDecision:
    allowed: bool
    monthly_amount_fen: int = 0
    code: str = "OK"
    message_zh: str = "可以开户"


def _pct(x: Decimal) -> str:
    return f"{(Decimal(x) * 100).normalize():f}%"


def check_flexible_opening(birth_date: date, gender: Gender, base_fen: int, ratio: Decimal, on: date,
                           policy: Policy, *, female_original_retirement_age: int = 55,
                           existing_account: PersonAccountState | None = None) -> FlexibleDecision:
    fp = policy.flexible
    if existing_account in (PersonAccountState.NORMAL, PersonAccountState.FROZEN):
        return FlexibleDecision(False, code="FLEX_ACCOUNT_EXISTS",
                                message_zh="您已有正常缴存的公积金账户，不能重复开立灵活就业账户")
    if age_on(birth_date, on) < fp.min_age:
        return FlexibleDecision(False, code="FLEX_TOO_YOUNG", message_zh=f"年满{fp.min_age}周岁才可以自愿缴存")
    retire = retirement_date(birth_date, gender,
                             female_original_retirement_age if gender is Gender.FEMALE else None)
    if on >= retire:
        return FlexibleDecision(False, code="FLEX_RETIRED",
                                message_zh="已达到法定退休年龄，不能开立灵活就业缴存账户")
    if not fp.base_min_fen <= base_fen <= fp.base_max_fen:
        return FlexibleDecision(False, code="FLEX_BASE_RANGE",
                                message_zh=f"缴存基数应在{format_yuan(fp.base_min_fen)}至"
                                           f"{format_yuan(fp.base_max_fen)}之间")
    ratio = Decimal(ratio)
    if not fp.ratio_min <= ratio <= fp.ratio_max:
        return FlexibleDecision(False, code="FLEX_RATIO_RANGE",
                                message_zh=f"缴存比例应在{_pct(fp.ratio_min)}至{_pct(fp.ratio_max)}之间")
    return FlexibleDecision(True, monthly_amount_fen(base_fen, ratio))
