"""Loans: the trial calculator (works offline, exact to the fen, both methods, rates from the cached catalog),
pre-application, the repayment schedule (paged), partial and full prepayment."""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Optional

from kiosk.domain.codes import RepaymentMethod
from kiosk.domain.errors import DomainError
from kiosk.domain.loan import Installment, LoanSchedule, PrepayMode, build_schedule, full_payoff_amount, prepay
from kiosk.domain.money import format_yuan, parse_yuan
from kiosk.flows.services.base import M, ServiceFlow, Svc, amount_view, fmt
from kiosk.flows.services.desk import TxOutcome

log = logging.getLogger(__name__)

ROWS_PER_PAGE = 12
METHODS = [RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL]
SHORT_TERM_MONTHS = 60
NO_LOAN = M("LOAN_NONE", "您没有正在还款的住房公积金贷款", "no loan being repaid")
ARREARS = M("LOAN_IN_ARREARS", "贷款有逾期未还款项，请先归还逾期款项", "loan in arrears")


def rate_pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.001')).normalize():f}%"


def catalog_rate(catalog, on: date, first_home: bool, months: int) -> tuple[Decimal, str]:
    """Annual rate for a new loan from the cached catalog's rate table (basis points); the built-in PBOC table
    (kiosk.domain.rates) when no catalog has been received yet. Returns (rate, source)."""
    rows = sorted((r for r in (catalog.rates if catalog else []) if r.effective_from <= on.isoformat()),
                  key=lambda r: r.effective_from)
    if rows:
        r = rows[-1]
        short = months <= SHORT_TERM_MONTHS
        bp = (r.first_home_le5_bp if short else r.first_home_gt5_bp) if first_home else \
            (r.second_home_le5_bp if short else r.second_home_gt5_bp)
        return Decimal(bp) / 10000, f"中心利率表（{r.effective_from}起执行）"
    from kiosk.domain.rates import rate_for
    return rate_for(on, first_home, months), "人民银行公积金贷款利率表（本机）"


def schedule_page(installments, page: int, first_unpaid: Optional[int] = None, states: Optional[dict] = None) -> dict:
    pages = max(1, -(-len(installments) // ROWS_PER_PAGE))
    page = min(max(1, page), pages)
    rows = installments[(page - 1) * ROWS_PER_PAGE: page * ROWS_PER_PAGE]
    state_zh = {"paid": "已还", "due": "未还", "overdue": "逾期", "settled": "已结清"}
    cols = ["期次", "还款日", "月供", "本金", "利息", "剩余本金"] + (["状态"] if states else [])
    return {"columns": cols, "page": page, "pages": pages, "total": len(installments),
            "rows": [[str(x.period), x.due_date.isoformat() if x.due_date else "", format_yuan(x.payment_fen),
                      format_yuan(x.principal_fen), format_yuan(x.interest_fen), format_yuan(x.remaining_fen)]
                     + ([state_zh.get(states.get(x.period, ""), "")] if states else []) for x in rows]}


def schedule_from_center(d: dict) -> tuple[LoanSchedule, dict[int, str]]:
    inst = tuple(Installment(r["period"], date.fromisoformat(r["due_date"]) if r.get("due_date") else None,
                             r["payment_fen"], r["principal_fen"], r["interest_fen"], r["balance_after_fen"])
                 for r in d["installments"])
    return (LoanSchedule(d["amount_fen"], Decimal(str(d["annual_rate"])), RepaymentMethod.from_code(d["method"]), inst),
            {r["period"]: r["state"] for r in d["installments"]})


def with_balance(schedule: LoanSchedule, after: int, balance_fen: int) -> LoanSchedule:
    """The schedule with the principal owed after period `after` set to the loan's real balance: the center's rows
    keep the balance of their day, and an earlier partial prepayment has lowered it since (the center computes
    the same way, center/business.py _with_balance)."""
    inst = tuple(replace(x, remaining_fen=balance_fen) if x.period == after else x for x in schedule.installments)
    return LoanSchedule(schedule.principal_fen, schedule.annual_rate, schedule.method, inst)


def _months(raw) -> int:
    v = int(str(raw).strip())
    if not 1 <= v <= 360:
        raise ValueError("months")
    return v


MAX_TRIAL_FEN = 10_000_000_000      # ¥100,000,000.00: far above any HPF cap, keeps totals printable

class LoanCalculatorFlow(ServiceFlow):
    """贷款试算: no identification, no center. Both repayment methods side by side, the schedule paged."""

    name = "loan_calc"
    code = "loan_calc"
    title_zh = "贷款试算"
    title_en = "Loan calculator"
    level = 0

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.schedules: dict[str, LoanSchedule] = {}
        self.method = RepaymentMethod.EQUAL_INSTALLMENT.code
        self.page = 1
        self.inputs_spec: list[dict] = []
        self._last: dict = {}

    def _begin(self) -> None:
        self.inputs = [{"name": "amount", "label": "贷款金额（元）", "kind": "amount", "value": ""},
                       {"name": "months", "label": "贷款期限（月，1-360）", "kind": "int", "value": "360"},
                       {"name": "first_home", "label": "首套住房", "kind": "bool", "value": True}]
        self._show(Svc.INPUT, "terms", M("PROMPT_TERMS", "请输入贷款金额和期限", "Please enter amount and term"),
                   actions=["calculate"])

    def calculate(self, amount, months, first_home: bool = True) -> None:
        if self.state not in (Svc.INPUT, Svc.SHOW):
            return
        try:
            fen = amount if isinstance(amount, int) and not isinstance(amount, bool) else parse_yuan(str(amount))
            n = _months(months)
        except DomainError as e:
            return self._go(self.state, M(e.code, e.message_zh, str(e)))
        except ValueError:
            return self._go(self.state, M("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months must be 1..360"))
        if fen < 100_000:
            return self._go(self.state, M("LOAN_AMOUNT_INVALID", "贷款金额应不少于1,000元", "amount below 1,000 yuan"))
        if fen > MAX_TRIAL_FEN:
            return self._go(self.state, M("LOAN_AMOUNT_TOO_LARGE", "贷款金额超出试算范围（最高1亿元）",
                                          "amount above the calculator's range (100,000,000 yuan)"))
        rate, source = catalog_rate(self.ctx.catalog(), self.ctx.today(), bool(first_home), n)
        try:
            self.schedules = {m.code: build_schedule(fen, rate, n, m) for m in METHODS}
        except DomainError as e:
            return self._go(self.state, M(e.code, e.message_zh, str(e)))
        self.fields = [("贷款金额", format_yuan(fen)), ("贷款期限", f"{n}个月"), ("年利率", rate_pct(rate)),
                       ("利率来源", source), ("住房套数", "首套" if first_home else "二套")]
        self.amounts = []
        for m in METHODS:
            s = self.schedules[m.code]
            self.amounts += [amount_view(f"{m.label_zh}·首月月供", s.first_payment_fen),
                             amount_view(f"{m.label_zh}·支付利息总额", s.total_interest_fen),
                             amount_view(f"{m.label_zh}·还款总额", s.total_payment_fen)]
        self.choices = [{"id": m.code, "label": m.label_zh} for m in METHODS]
        self.notes = ["试算结果仅供参考，以贷款合同为准"]
        self._last = {"amount": f"{fen // 100}" + (f".{fen % 100:02d}" if fen % 100 else ""), "months": str(n),
                      "first_home": bool(first_home)}
        self.inputs_spec, self.inputs = self.inputs or self.inputs_spec, []
        self.show_method(self.method)

    def show_method(self, code: str, page: int = 1) -> None:
        if code not in self.schedules:
            return
        self.method, self.page = code, page
        self.table = schedule_page(self.schedules[code].installments, page)
        self.page = self.table["page"]
        self._show(Svc.SHOW, "result", actions=["show_method", "prev_page", "next_page", "back", "finish"])

    def back(self) -> None:
        """From the result back to the terms, filled in as they were (the result screen has no keypad: the
        schedule gets the room)."""
        if self.state is Svc.SHOW and self.step == "result":
            self.table, self.amounts, self.choices, self.notes = None, [], [], []
            self.inputs = [dict(i, value=self._last.get(i["name"], i["value"])) for i in self.inputs_spec]
            self._show(Svc.INPUT, "terms", M("PROMPT_TERMS", "请输入贷款金额和期限", "Please enter amount and term"),
                       actions=["calculate"])

    def next_page(self) -> None:
        if self.table and self.page < self.table["pages"]:
            self.show_method(self.method, self.page + 1)

    def prev_page(self) -> None:
        if self.table and self.page > 1:
            self.show_method(self.method, self.page - 1)


class _LoanFlow(ServiceFlow):
    """Shared: load the person's loans and pick one (automatically when there is only one)."""

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.loans: list[dict] = []
        self.loan: Optional[dict] = None
        self.schedule: Optional[LoanSchedule] = None
        self.states: dict[int, str] = {}

    def _wipe(self) -> None:
        self.loans, self.loan, self.schedule = [], None, None

    def _wanted(self, loans: list[dict]) -> list[dict]:
        return loans

    def _begin(self) -> None:
        idn = self.id_number
        self._show(Svc.LOADING, "loans", M("LOADING", "正在查询贷款信息，请稍候", "Loading loans"))
        self._run("loans", lambda t: self.ctx.center.loans(idn, t), self._got_loans)

    def _got_loans(self, loans: list[dict]) -> None:
        self._offer_loans(self._wanted(loans), NO_LOAN)

    def choose_loan(self, contract_no: str) -> None:
        if self._pick_loan(contract_no) is None:
            return
        idn = self.id_number
        self._show(Svc.LOADING, "schedule", M("LOADING", "正在查询还款计划，请稍候", "Loading the schedule"))
        self._run("schedule", lambda t: self.ctx.center.schedule(idn, contract_no, t), self._got_schedule)

    def _got_schedule(self, d: dict) -> None:
        self.schedule, self.states = schedule_from_center(d)
        self._loan_ready()

    def _loan_ready(self) -> None:
        raise NotImplementedError

    def _loan_fields(self) -> list[tuple[str, str]]:
        l = self.loan
        return [("借款合同号", l["contract_no"]), ("贷款金额", format_yuan(l["amount_fen"])),
                ("贷款余额", format_yuan(l["balance_fen"])), ("还款方式", l.get("method_zh", "")),
                ("年利率", rate_pct(Decimal(str(l["annual_rate"])))), ("发放日期", l.get("granted_on", ""))]


class LoanScheduleFlow(_LoanFlow):
    """还款计划查询: the loan's schedule with paid/due/overdue per period, 12 periods per page."""

    name = "loan_schedule"
    code = "loan_schedule"
    title_zh = "还款计划查询"
    title_en = "Repayment schedule"
    level = 2

    def _loan_ready(self) -> None:
        first_open = next((p for p, s in sorted(self.states.items()) if s != "paid"), None)
        page = 1
        if first_open is not None:
            idx = first_open - self.schedule.first_period
            page = idx // ROWS_PER_PAGE + 1
        self.fields = self._loan_fields()
        self.show_page(page)

    def show_page(self, page: int) -> None:
        if self.schedule is None:
            return
        self.table = schedule_page(self.schedule.installments, page, states=self.states)
        self._show(Svc.SHOW, "schedule", actions=["prev_page", "next_page", "finish"])

    def next_page(self) -> None:
        if self.table and self.table["page"] < self.table["pages"]:
            self.show_page(self.table["page"] + 1)

    def prev_page(self) -> None:
        if self.table and self.table["page"] > 1:
            self.show_page(self.table["page"] - 1)


MODES = {"shorten": PrepayMode.SHORTEN_TERM, "reduce": PrepayMode.REDUCE_PAYMENT}


class PrepaymentFlow(_LoanFlow):
    """提前还款: partial (shorten the term or reduce the payment) or full; a full one offers the payoff certificate."""

    name = "prepayment"
    code = "loan_prepayment"
    title_zh = "提前还款"
    title_en = "Loan prepayment"
    level = 3
    moves_money = True

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.mode = ""
        self.amount_fen = 0
        self.after_period = 0

    def _wanted(self, loans):
        return [l for l in loans if l["state"] in ("repaying", "overdue")]

    def _loan_ready(self) -> None:
        l = self.loan
        if l["state"] == "overdue" or l.get("overdue_periods"):
            return self._go(Svc.REFUSED, ARREARS)
        paid = [p for p, s in self.states.items() if s == "paid"]
        if not paid:
            return self._go(Svc.REFUSED, M("PREPAY_TOO_EARLY", "至少正常还款一期后才能提前还款", "no installment repaid"))
        self.after_period = max(paid)
        self.schedule = with_balance(self.schedule, self.after_period, l["balance_fen"])
        left = [x for x in self.schedule.installments if x.period > self.after_period]
        self.fields = self._loan_fields() + [("剩余期数", f"{len(left)}期"),
                                             ("当前月供", format_yuan(left[0].payment_fen) if left else "—")]
        self.choices = [{"id": "shorten", "label": "部分提前还款·" + PrepayMode.SHORTEN_TERM.label_zh},
                        {"id": "reduce", "label": "部分提前还款·" + PrepayMode.REDUCE_PAYMENT.label_zh},
                        {"id": "full", "label": "全部提前还款（结清贷款）"}]
        self._show(Svc.INPUT, "mode", M("PROMPT_MODE", "请选择提前还款方式", "Please choose how to prepay"),
                   actions=["choose_mode"])

    def choose_mode(self, mode: str) -> None:
        if self.state is not Svc.INPUT or self.step != "mode" or mode not in ("shorten", "reduce", "full"):
            return
        self.mode = mode
        self.choices = []
        if mode == "full":
            self.amount_fen = full_payoff_amount(self.schedule, self.after_period, self.ctx.today())
            return self._to_confirm([("还款方式", "全部提前还款（结清贷款）")])
        self.inputs = [{"name": "amount", "label": "提前还款金额（元）", "kind": "amount", "value": ""}]
        self._show(Svc.INPUT, "amount", M("PROMPT_AMOUNT", "请输入提前还款金额", "Please enter the amount"),
                   actions=["enter_amount", "back"])

    def back(self) -> None:
        if self.state in (Svc.INPUT, Svc.CONFIRM) and self.step in ("amount", "confirm"):
            self.inputs, self.amounts = [], []
            self._loan_ready()

    def enter_amount(self, amount) -> None:
        if self.state is not Svc.INPUT or self.step != "amount":
            return
        try:
            fen = amount if isinstance(amount, int) and not isinstance(amount, bool) else parse_yuan(str(amount))
            if fen >= self.loan["balance_fen"]:
                return self._go(Svc.INPUT, M("PREPAY_USE_FULL", "还款金额已达贷款余额，请选择全部结清",
                                             "amount covers the balance"))
            after = prepay(self.schedule, self.after_period, fen, MODES[self.mode])
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        self.amount_fen = fen
        self.inputs = []
        self._to_confirm([("还款方式", MODES[self.mode].label_zh), ("还款后剩余期数", f"{after.months}期"),
                          ("还款后月供", format_yuan(after.first_payment_fen))])

    def _to_confirm(self, extra) -> None:
        self.fields = self._loan_fields()[:3] + list(extra)
        self.amounts = [amount_view("本次还款金额", self.amount_fen)]
        self.notes = ["还款金额从您的贷款还款账户扣收"]
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对还款金额，确认无误后点击“确认提交”",
                                             "Please check the amount, then confirm"), actions=["confirm", "back"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        payload = {"id_number": self.id_number, "contract_no": self.loan["contract_no"], "amount_fen": self.amount_fen,
                   "mode": self.mode}
        self._submit("loan_prepayment", payload, self._submitted, amount_fen=self.amount_fen)

    def _submitted(self, outcome: TxOutcome) -> None:
        r = outcome.result
        fields = [("借款合同号", self.loan["contract_no"]),
                  ("还款方式", "全部结清" if self.mode == "full" else MODES[self.mode].label_zh)]
        if "balance_after_fen" in r:
            fields.append(("贷款余额", format_yuan(r["balance_after_fen"])))
        if r.get("remaining_periods"):
            fields.append(("剩余期数", f"{r['remaining_periods']}期"))
        if r.get("next_payment_fen"):
            fields.append(("下期月供", format_yuan(r["next_payment_fen"])))
        notes = []
        if r.get("paid_off"):
            notes.append("贷款已结清，可在本机开具《个人住房贷款全部还清证明》")
            self.actions = ["payoff_certificate"]
        paid = r.get("paid_fen", self.amount_fen)
        receipt = self._receipt("提前还款", serial=outcome.client_id.replace("-", "")[:20].upper(),
                                status_line=outcome.status_line, fields=fields, amounts=[("还款金额", paid)],
                                notes=notes, client_id=outcome.client_id)
        self.fields, self.notes = fields, notes
        self.amounts = [amount_view("还款金额", paid)]
        self._print_receipt(receipt)

    def view(self) -> dict:
        v = super().view()
        if self.state is Svc.DONE and self.paid_off:
            # the next item in the same visit, identity already proved: the screen offers it as a button
            v["follow_up"] = {"code": "payoff_certificate", "label": "开具结清证明"}
        return v

    @property
    def paid_off(self) -> bool:
        return bool(self.outcome and self.outcome.result.get("paid_off"))

    def payoff_certificate(self):
        """After a full prepayment: the payoff certificate flow for the same (already identified) resident."""
        from kiosk.flows.services.base import VerifiedIdentity
        from kiosk.flows.services.registry import flow_for
        if not self.paid_off or self.identity is None:
            return None
        d = self.identity.document
        from kiosk.flows.ports import IdentityDocument
        ident = VerifiedIdentity(IdentityDocument(name=d.name, id_number=d.id_number), self.identity.level,
                                 self.identity.factors)
        return flow_for("payoff_certificate", self.ctx, ident)


class LoanPreapplyFlow(ServiceFlow):
    """贷款预申请: the terms, the center's limit and rate, confirmation, the application (online only)."""

    name = "loan_preapply"
    code = "loan_preapply"
    title_zh = "贷款预申请"
    title_en = "Loan pre-application"
    level = 3

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.request: dict = {}
        self.limit: Optional[dict] = None

    def _begin(self) -> None:
        self.inputs = [{"name": "house_price", "label": "房屋总价（元）", "kind": "amount", "value": ""},
                       {"name": "amount", "label": "申请贷款金额（元）", "kind": "amount", "value": ""},
                       {"name": "months", "label": "贷款期限（月）", "kind": "int", "value": "360"},
                       {"name": "first_home", "label": "首套住房", "kind": "bool", "value": True},
                       {"name": "method", "label": "还款方式", "kind": "choice", "value": "01",
                        "choices": [{"id": m.code, "label": m.label_zh} for m in METHODS]}]
        self._show(Svc.INPUT, "terms", M("PROMPT_TERMS", "请填写购房和贷款信息", "Please enter the purchase and loan"),
                   actions=["submit_terms"])

    def submit_terms(self, house_price, amount, months, first_home: bool = True, method: str = "01") -> None:
        if self.state is not Svc.INPUT or self.step != "terms":
            return
        try:
            price = parse_yuan(str(house_price))
            fen = parse_yuan(str(amount))
            n = _months(months)
            RepaymentMethod.from_code(method)
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        except ValueError:
            return self._go(Svc.INPUT, M("LOAN_TERM_INVALID", "贷款期限应为1至360个月", "months must be 1..360"))
        if fen <= 0 or price <= 0 or fen > price:
            return self._go(Svc.INPUT, M("LOAN_AMOUNT_INVALID", "贷款金额应大于零且不超过房屋总价", "bad amount"))
        self.request = {"house_price_fen": price, "amount_fen": fen, "months": n, "first_home": bool(first_home),
                        "method": method}
        idn, req = self.id_number, dict(self.request)
        self._show(Svc.LOADING, "limit", M("LOADING", "正在测算可贷额度，请稍候", "Checking the limit"))
        self._run("limit", lambda t: self.ctx.center.loan_limit(idn, req, t), self._limited)

    def _limited(self, d: dict) -> None:
        self.limit = d
        if not d.get("allowed"):
            return self._go(Svc.REFUSED, M(d.get("code") or "LOAN_REFUSED", d.get("message") or "不符合贷款条件",
                                           f"loan limit refused: {d.get('code')}"))
        self.inputs = []
        r = self.request
        self.fields = [("房屋总价", format_yuan(r["house_price_fen"])), ("贷款期限", f"{r['months']}个月"),
                       ("还款方式", RepaymentMethod.from_code(r["method"]).label_zh),
                       ("年利率", rate_pct(Decimal(d["annual_rate"]))), ("可贷额度", format_yuan(d["max_amount_fen"]))]
        self.amounts = [amount_view("申请金额", r["amount_fen"])]
        if d.get("monthly_payment_fen"):
            first = "预计首月月供" if r["method"] == RepaymentMethod.EQUAL_PRINCIPAL.code else "预计月供"
            self.amounts.append(amount_view(first, d["monthly_payment_fen"]))
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对申请信息，确认后提交预申请",
                                             "Please check, then submit"), actions=["confirm"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        self._submit("loan_preapply", {"id_number": self.id_number, **self.request}, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        serial = outcome.result.get("serial") or outcome.client_id
        status = "已受理，待审批" if outcome.accepted else outcome.status_line
        receipt = self._receipt("贷款预申请", serial=serial, status_line=status,
                                fields=[("贷款期限", f"{self.request['months']}个月")],
                                amounts=[("申请金额", self.request["amount_fen"])],
                                notes=["请凭业务编号查询审批进度"], client_id=outcome.client_id,
                                qr=f"progress:{serial}")
        self.fields = [("业务编号", serial), ("办理结果", status)]
        self._print_receipt(receipt)
