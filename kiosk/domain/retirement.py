"""Statutory retirement date (法定退休年龄) under the gradual reform in force from 2025-01-01.

Source: 全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13) and its annexed
comparison tables (recalled; reference/hpf-rules.md §3 marks the reform as "recalled from memory").
- Men, original age 60: born 1965-01 or later retire one month later for every 4 months of birth
  (born Jan-Apr 1965: +1 month …), capped at +36 months (age 63, reached by those born Sep 1976 or later).
- Women in the original 55 category (cadres / 管理技术岗位): born 1970-01 or later, +1 month per 4 months,
  capped at +36 months (age 58, born Sep 1981 or later).
- Women in the original 50 category (workers / 工人岗位): born 1975-01 or later, +1 month per 2 months,
  capped at +60 months (age 55, born Nov 1984 or later).
Assumptions: the retirement date is the birth date plus the new age in years and months (the day of the
month kept, clipped to the month's end); flexible early/late retirement by choice (弹性退休) is not modelled;
special-type work (特殊工种) early retirement is not modelled."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kiosk.domain.codes import Gender
from kiosk.domain.errors import DomainError
from kiosk.domain.loan import add_months


@dataclass(frozen=True)
class _Rule:
    original_age: int
    start: tuple[int, int]        # first birth (year, month) affected
    months_per_step: int          # birth months per one month of delay
    cap_months: int


_RULES = {
    (Gender.MALE, 60): _Rule(60, (1965, 1), 4, 36),
    (Gender.FEMALE, 55): _Rule(55, (1970, 1), 4, 36),
    (Gender.FEMALE, 50): _Rule(50, (1975, 1), 2, 60),
}


@dataclass(frozen=True)
class RetirementAge:
    years: int
    months: int
    delay_months: int
    retirement_date: date

    @property
    def label_zh(self) -> str:
        return f"{self.years}岁" + (f"{self.months}个月" if self.months else "")


def retirement_age(birth_date: date, gender: Gender, original_age: int | None = None) -> RetirementAge:
    """New statutory retirement age and date. Women: original_age 55 (default) or 50."""
    if gender is Gender.MALE:
        original_age = 60 if original_age in (None, 60) else original_age
    else:
        original_age = 55 if original_age is None else original_age
    rule = _RULES.get((gender, original_age))
    if rule is None:
        raise DomainError("RETIREMENT_CATEGORY", "退休年龄类别不正确（男60岁，女50岁或55岁）",
                          f"no retirement rule for {gender.name} original age {original_age}")
    elapsed = (birth_date.year - rule.start[0]) * 12 + (birth_date.month - rule.start[1])
    delay = 0 if elapsed < 0 else min(elapsed // rule.months_per_step + 1, rule.cap_months)
    total = rule.original_age * 12 + delay
    when = add_months(birth_date, total)
    return RetirementAge(total // 12, total % 12, delay, when)


def retirement_date(birth_date: date, gender: Gender, original_age: int | None = None) -> date:
    return retirement_age(birth_date, gender, original_age).retirement_date


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on a date."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
