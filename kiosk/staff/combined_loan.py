"""Combined-loan intake (组合贷款, "一窗受理、两家办事"): one application at the bank counter, an HPF part
decided by the fund's rules at the center and the bank's commercial part at LPR + spread, shown as one
repayment schedule.

The split follows center.rules.loan.split_combined (need = requested amount capped at price × (1 − down
payment); HPF part = min(need, HPF maximum); the rest is commercial; same term and method). The kiosk may
not import center/ (ARCHITECTURE.md dependency rule), so the HPF maximum and rate come from the center's
POST /v1/loans/limit (which runs the same check_loan) and both schedules are built here with
kiosk.domain.loan.build_schedule."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Optional

from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.errors import DomainError
from kiosk.domain.loan import LoanSchedule, build_schedule
from kiosk.domain.masking import mask_id_number
from kiosk.domain.money import format_yuan
from kiosk.domain.rates import rate_for
from kiosk.staff.errors import StaffError, from_center
from sync.client import CenterError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CombinedRequest:
    id_number: str
    house_price_fen: int
    need_fen: int                  # total financing asked for (HPF + commercial)
    months: int
    first_home: bool = True
    method: str = "01"             # 01 等额本息, 02 等额本金
    first_due: Optional[date] = None

    def check(self) -> None:
        for name in ("house_price_fen", "need_fen", "months"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise StaffError("LOAN_INPUT_INVALID", "房价、贷款总额和期限须为正数", f"{name} must be a positive int")
        if not 1 <= self.months <= 360:
            raise StaffError("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months must be 1..360")
        if self.need_fen > self.house_price_fen:
            raise StaffError("LOAN_OVER_PRICE", "贷款总额不能超过房屋总价", "need above house price")
        if self.method not in ("01", "02"):
            raise StaffError("LOAN_METHOD", "还款方式应为等额本息或等额本金", f"method {self.method!r}")


@dataclass(frozen=True)
class CombinedQuote:
    request: CombinedRequest
    hpf_fen: int
    commercial_fen: int
    hpf_rate: Decimal
    commercial_rate: Decimal
    hpf_schedule: Optional[LoanSchedule]
    commercial_schedule: Optional[LoanSchedule]
    hpf_decision: dict

    @property
    def total_fen(self) -> int:
        return self.hpf_fen + self.commercial_fen

    def rows(self) -> list[dict]:
        """One row per period: both parts and their sum (fen)."""
        n = self.request.months
        h = self.hpf_schedule.installments if self.hpf_schedule else ()
        c = self.commercial_schedule.installments if self.commercial_schedule else ()
        out = []
        for k in range(n):
            hp = h[k] if h else None
            cp = c[k] if c else None
            row = {"period": k + 1,
                   "due_date": (hp or cp).due_date.isoformat() if (hp or cp).due_date else None,
                   "hpf_payment_fen": hp.payment_fen if hp else 0, "hpf_principal_fen": hp.principal_fen if hp else 0,
                   "hpf_interest_fen": hp.interest_fen if hp else 0,
                   "commercial_payment_fen": cp.payment_fen if cp else 0,
                   "commercial_principal_fen": cp.principal_fen if cp else 0,
                   "commercial_interest_fen": cp.interest_fen if cp else 0,
                   "remaining_fen": (hp.remaining_fen if hp else 0) + (cp.remaining_fen if cp else 0)}
            row["payment_fen"] = row["hpf_payment_fen"] + row["commercial_payment_fen"]
            out.append(row)
        return out

    def totals(self) -> dict:
        def part(s: Optional[LoanSchedule]) -> dict:
            if s is None:
                return {"principal_fen": 0, "interest_fen": 0, "payment_fen": 0, "first_payment_fen": 0}
            return {"principal_fen": sum(i.principal_fen for i in s.installments),
                    "interest_fen": s.total_interest_fen, "payment_fen": s.total_payment_fen,
                    "first_payment_fen": s.first_payment_fen}
        h, c = part(self.hpf_schedule), part(self.commercial_schedule)
        return {"hpf": h, "commercial": c, "combined": {k: h[k] + c[k] for k in h}}

    def view(self) -> dict:
        """Everything a screen or a printout needs; amounts in fen plus display strings."""
        t = self.totals()
        return {"id_number": mask_id_number(self.request.id_number), "months": self.request.months,
                "method": self.request.method, "first_home": self.request.first_home,
                "parts": [{"label": "公积金贷款", "amount_fen": self.hpf_fen, "amount": format_yuan(self.hpf_fen),
                           "annual_rate": percent(self.hpf_rate)},
                          {"label": "商业贷款", "amount_fen": self.commercial_fen,
                           "amount": format_yuan(self.commercial_fen),
                           "annual_rate": percent(self.commercial_rate)}],
                "total_fen": self.total_fen, "total": format_yuan(self.total_fen),
                "first_month_payment_fen": t["combined"]["first_payment_fen"],
                "first_month_payment": format_yuan(t["combined"]["first_payment_fen"]),
                "totals": t, "schedule": self.rows(),
                "hpf_limits_fen": self.hpf_decision.get("limits_fen", {})}

    def payload(self) -> dict:
        """The pre-application the center receives: the HPF part as amount_fen, the bank's part alongside."""
        r = self.request
        return {"id_number": r.id_number, "house_price_fen": r.house_price_fen, "amount_fen": self.hpf_fen,
                "months": r.months, "first_home": r.first_home, "method": r.method,
                "combined": {"commercial_fen": self.commercial_fen, "commercial_rate": str(self.commercial_rate),
                             "total_fen": self.total_fen,
                             "first_month_payment_fen": self.totals()["combined"]["first_payment_fen"]}}


def percent(rate: Decimal) -> str:
    """Decimal("0.026") -> "2.60%", Decimal("0.03075") -> "3.075%" (at least two decimals, no float)."""
    text = format((rate * 100).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}%"


def split_need(need_fen: int, hpf_max_fen: int) -> tuple[int, int]:
    hpf = max(0, min(need_fen, hpf_max_fen))
    return hpf, need_fen - hpf


def quote(port, req: CombinedRequest, limits, on: Optional[date] = None) -> CombinedQuote:
    """Ask the center what the HPF part can be, split, and build both schedules."""
    req.check()
    try:
        d = port.loan_limit({"id_number": req.id_number, "house_price_fen": req.house_price_fen,
                             "months": req.months, "first_home": req.first_home, "method": req.method})
    except CenterError as exc:
        raise from_center(exc) from None
    if not d.get("allowed"):
        raise StaffError(d.get("code") or "LOAN_NOT_ALLOWED", d.get("message") or "不符合公积金贷款条件",
                         f"center refused the HPF part: {d.get('code')}")
    try:
        hpf_rate = Decimal(str(d.get("annual_rate"))) if d.get("annual_rate") else \
            rate_for(on or date.today(), req.first_home, req.months)
    except InvalidOperation:
        hpf_rate = rate_for(on or date.today(), req.first_home, req.months)
    hpf_fen, com_fen = split_need(req.need_fen, int(d.get("max_amount_fen") or 0))
    c_rate = limits.commercial_rate(req.months, req.first_home)
    method = RepaymentMethod.from_code(req.method)
    try:
        hs = build_schedule(hpf_fen, hpf_rate, req.months, method, req.first_due) if hpf_fen else None
        cs = build_schedule(com_fen, c_rate, req.months, method, req.first_due) if com_fen else None
    except DomainError as exc:
        raise StaffError(exc.code, exc.message_zh, str(exc)) from None
    log.info("combined loan quote: HPF %d fen at %s + commercial %d fen at %s over %d months",
             hpf_fen, hpf_rate, com_fen, c_rate, req.months)
    return CombinedQuote(req, hpf_fen, com_fen, hpf_rate, c_rate, hs, cs, d)


def apply(mode, q: CombinedQuote, approval=None):
    """Submit the pre-application through teller mode (stamped with teller, branch, supervisor if any).
    The journal amount is the HPF part (what the fund books); the bank's part travels in the payload."""
    return mode.submit("loan_preapply", q.payload(), amount_fen=q.hpf_fen, person_key=q.request.id_number,
                       approval=approval)
