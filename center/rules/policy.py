"""City policy files (center/policies/<city>.toml), versioned by effective date.

A file has `city`, `name_zh`, `center_code` and `[[versions]]`, each with `effective_from` and sections
deposit / flexible / withdrawal / loan / commercial. A later version lists only what changed; it inherits
the rest from the version before it. `policy_for(city, on)` returns the fully merged version in force."""
from __future__ import annotations

import copy
import functools
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


class PolicyError(ValueError):
    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DepositPolicy(_Frozen):
    base_min_fen: int = Field(ge=0)
    base_max_fen: int = Field(gt=0)
    ratio_min: Decimal = Field(ge=0, le=1)
    ratio_max: Decimal = Field(ge=0, le=1)


class FlexiblePolicy(_Frozen):
    min_age: int = Field(ge=16, le=70)
    ratio_min: Decimal = Field(ge=0, le=1)
    ratio_max: Decimal = Field(ge=0, le=1)
    base_min_fen: int = Field(ge=0)
    base_max_fen: int = Field(gt=0)
    loan_min_continuous_months: int = Field(ge=0)


class WithdrawalPolicy(_Frozen):
    repeat_interval_months: int = Field(ge=0)
    rent_cap_month_fen: int = Field(ge=0)
    rent_cap_12m_fen: int = Field(ge=0)
    rent_min_continuous_months: int = Field(ge=0)
    rent_interval_months: int = Field(ge=0)
    purchase_window_months: int = Field(ge=1)
    build_window_months: int = Field(ge=1)
    illness_window_months: int = Field(ge=1)
    lift_window_months: int = Field(ge=1)
    loan_repayment_min_periods: int = Field(ge=0)
    loan_repayment_interval_months: int = Field(ge=0)
    unemployment_sealed_months: int = Field(ge=0)
    sealed_allowed: tuple[str, ...] = ()
    min_remaining_fen: int = Field(default=1, ge=1)   # a partial withdrawal leaves at least this much


class LoanPolicy(_Frozen):
    cap_single_fen: int = Field(gt=0)
    cap_household_fen: int = Field(gt=0)
    balance_multiple: Decimal = Field(gt=0)
    min_balance_for_multiple_fen: int = Field(ge=0)
    down_payment_first: Decimal = Field(ge=0, lt=1)
    down_payment_second: Decimal = Field(ge=0, lt=1)
    max_term_months: int = Field(ge=12, le=360)
    retirement_plus_years: int = Field(ge=0, le=10)
    min_continuous_months: int = Field(ge=0)
    min_age: int = Field(ge=16)
    max_loans: int = Field(ge=1)
    capacity_ratio: Decimal = Field(gt=0, le=1)
    round_down_fen: int = Field(ge=1)
    second_home_rate_markup_bp: int = Field(ge=0)


class CommercialPolicy(_Frozen):
    lpr_1y: Decimal = Field(ge=0, lt=1)
    lpr_5y: Decimal = Field(ge=0, lt=1)
    spread_first_home_bp: int
    spread_second_home_bp: int


class Policy(_Frozen):
    """One city's rules in force on a date (all versions up to it merged)."""
    city: str
    name_zh: str
    center_code: str = Field(pattern=r"^[A-Z0-9]{6}$")
    effective_from: date
    note: str = ""
    deposit: DepositPolicy
    flexible: FlexiblePolicy
    withdrawal: WithdrawalPolicy
    loan: LoanPolicy
    commercial: CommercialPolicy

    @model_validator(mode="after")
    def _ranges(self):
        for name, lo, hi in (("deposit.ratio", self.deposit.ratio_min, self.deposit.ratio_max),
                             ("flexible.ratio", self.flexible.ratio_min, self.flexible.ratio_max),
                             ("deposit.base", self.deposit.base_min_fen, self.deposit.base_max_fen),
                             ("flexible.base", self.flexible.base_min_fen, self.flexible.base_max_fen)):
            if lo > hi:
                raise ValueError(f"{name}: minimum above maximum")
        if self.loan.cap_single_fen > self.loan.cap_household_fen:
            raise ValueError("loan.cap_single_fen above cap_household_fen")
        return self


class PolicyBook:
    """All versions of one city's policy."""

    def __init__(self, versions: list[Policy]):
        self.versions = sorted(versions, key=lambda p: p.effective_from)

    def on(self, day: date) -> Policy:
        current = None
        for p in self.versions:
            if p.effective_from <= day:
                current = p
        if current is None:
            first = self.versions[0]
            raise PolicyError("POLICY_NOT_IN_FORCE", f"{first.name_zh}政策在该日期尚未生效",
                              f"no {first.city} policy in force on {day.isoformat()} "
                              f"(first version {first.effective_from.isoformat()})")
        return current


def _merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_policy(path: "str | Path") -> PolicyBook:
    """Read and validate a policy file; PolicyError (POLICY_INVALID) names the version and field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError("POLICY_NOT_FOUND", "未找到该城市的政策配置", f"policy file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError("POLICY_INVALID", "政策配置文件格式错误", f"{path}: {exc}") from None
    head = {k: raw.get(k) for k in ("city", "name_zh", "center_code")}
    merged: dict = {}
    versions: list[Policy] = []
    raw_versions = raw.get("versions") or []
    if not raw_versions:
        raise PolicyError("POLICY_INVALID", "政策配置文件没有任何版本", f"{path}: no [[versions]]")
    for idx, v in enumerate(sorted(raw_versions, key=lambda v: str(v.get("effective_from")))):
        merged = _merge(merged, v)
        try:
            versions.append(Policy(**head, **merged))
        except ValidationError as exc:
            lines = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyError("POLICY_INVALID", "政策配置文件内容有误",
                              f"{path}: version {merged.get('effective_from')}: {lines}") from None
    return PolicyBook(versions)


@functools.lru_cache(maxsize=32)
def _book(city: str) -> PolicyBook:
    if not city.replace("-", "").replace("_", "").isalnum():
        raise PolicyError("POLICY_NOT_FOUND", "未找到该城市的政策配置", f"bad city name {city!r}")
    return load_policy(POLICY_DIR / f"{city}.toml")


def policy_for(city: str, on_date: date) -> Policy:
    """The merged policy of `city` in force on `on_date` (files are read once per process)."""
    return _book(city).on(on_date)
