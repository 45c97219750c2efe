"""可贷额度测算 (loan limit): the resident's own limit by the center's rules (POST /v1/loans/limit) for a house
price, a term and a repayment method; shown as figures and Chinese capital numerals, with the four limits the
center compared (city cap, balance multiple, price ratio, repayment capacity) so the resident sees which one
binds. A query: nothing is submitted or printed; a refusal (account not normal, loan outstanding ...) is shown
in the center's words. Online only (the rules and the person's data are at the center)."""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Optional

from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.errors import DomainError
from kiosk.domain.money import format_yuan, parse_yuan
from kiosk.flows.services.base import M, ServiceFlow, Svc, amount_view
from kiosk.flows.services.loan import METHODS, _months, rate_pct

log = logging.getLogger(__name__)

LIMIT_NAMES = {"city_cap": "最高贷款额度", "balance_multiple": "账户余额倍数", "price_ratio": "房价首付比例",
               "capacity": "还款能力"}


class LoanLimitFlow(ServiceFlow):
    """Terms -> the center's decision -> SHOW (max amount, rate, estimated payment, the binding limit)."""

    name = "loan_limit"
    code = "loan_limit"
    title_zh = "可贷额度测算"
    title_en = "Loan limit"
    level = 2

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.request: dict = {}
        self.decision: Optional[dict] = None

    def _wipe(self) -> None:
        self.request, self.decision = {}, None

    def _begin(self) -> None:
        self.fields, self.amounts, self.notes = [], [], []
        self.inputs = [{"name": "house_price", "label": "房屋总价（元）", "kind": "amount", "value": ""},
                       {"name": "months", "label": "贷款期限（月）", "kind": "int", "value": "360"},
                       {"name": "first_home", "label": "首套住房", "kind": "bool", "value": True},
                       {"name": "method", "label": "还款方式", "kind": "choice", "value": "01",
                        "choices": [{"id": m.code, "label": m.label_zh} for m in METHODS]}]
        self._show(Svc.INPUT, "terms", M("PROMPT_TERMS", "请填写房屋总价和贷款期限", "Please enter the price and the term"),
                   actions=["submit_terms"])

    def submit_terms(self, house_price, months, first_home: bool = True, method: str = "01") -> None:
        if self.state is not Svc.INPUT or self.step != "terms" or self.busy:
            return
        try:
            price = house_price if isinstance(house_price, int) and not isinstance(house_price, bool) \
                else parse_yuan(str(house_price))
            n = _months(months)
            method = RepaymentMethod.from_code(str(method or "01")).code
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        except ValueError:
            return self._go(Svc.INPUT, M("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months must be 1..360"))
        if price <= 0:
            return self._go(Svc.INPUT, M("LOAN_PRICE", "请填写房屋总价", "house price missing"))
        first = first_home is True or str(first_home).lower() in ("1", "true", "yes", "是")
        self.request = {"house_price_fen": price, "months": n, "first_home": first, "method": method}
        idn, req = self.id_number, dict(self.request)
        self._show(Svc.LOADING, "limit", M("LOADING", "正在测算可贷额度，请稍候", "Checking the limit"))
        self._run("limit", lambda t: self.ctx.center.loan_limit(idn, req, t), self._decided)

    def back(self) -> None:
        """From the result back to the terms (another price or term)."""
        if self.state is Svc.SHOW and self.step == "result":
            self._begin()

    def _decided(self, d: dict) -> None:
        self.decision = d
        if not d.get("allowed"):
            log.info("loan_limit: center refused: %s", d.get("code"))
            return self._go(Svc.REFUSED, M(d.get("code") or "LOAN_REFUSED", d.get("message") or "暂不符合贷款条件",
                                           f"loan limit refused: {d.get('code')}"))
        r = self.request
        self.inputs = []
        self.fields = [("房屋总价", format_yuan(r["house_price_fen"])), ("贷款期限", f"{r['months']}个月"),
                       ("住房套数", "首套" if r["first_home"] else "二套"),
                       ("还款方式", RepaymentMethod.from_code(r["method"]).label_zh),
                       ("年利率", rate_pct(Decimal(str(d["annual_rate"]))))]
        if d.get("max_months"):
            self.fields.append(("最长可贷期限", f"{d['max_months']}个月"))
        self.amounts = [amount_view("可贷额度", int(d["max_amount_fen"]))]
        if d.get("monthly_payment_fen"):
            self.amounts.append(amount_view("按可贷额度预计首月月供", int(d["monthly_payment_fen"])))
        limits = d.get("limits_fen") or {}
        if limits:
            binding = min(limits, key=limits.get)
            self.notes = [f"可贷额度取以下几项中的最低者：" + "；".join(
                f"{LIMIT_NAMES.get(k, k)} {format_yuan(int(v))}" for k, v in limits.items()),
                f"本次受“{LIMIT_NAMES.get(binding, binding)}”限制"]
        self.notes.append("测算结果仅供参考，以贷款审批结果为准；如需贷款，请办理“贷款预申请”")
        self._show(Svc.SHOW, "result", actions=["back", "finish"])
