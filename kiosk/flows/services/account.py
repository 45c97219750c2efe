"""Account overview, deposit details (by year, paged), loan overview, and the A4 account statement."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Optional

from kiosk.domain.money import format_yuan
from kiosk.flows.services.base import M, ServiceFlow, Svc, as_int

log = logging.getLogger(__name__)

PAGE_SIZE = 10
NO_ACCOUNT = M("ACCOUNT_NOT_FOUND", "您还没有公积金个人账户", "person has no personal account")


def business_type_zh(code: str) -> str:
    from kiosk.domain.codes import BusinessType
    try:
        return BusinessType.from_code(code).label_zh
    except Exception:       # noqa: BLE001 - an unknown code is shown as it is
        return code or ""


def ratio_text(bp: int) -> str:
    whole, part = divmod(int(bp), 100)
    return f"{whole}%" if not part else f"{whole}.{part:02d}".rstrip("0") + "%"


def month_text(yyyymm: str) -> str:
    return f"{yyyymm[:4]}年{yyyymm[4:]}月" if yyyymm and len(yyyymm) == 6 else "—"


def account_fields(person: dict) -> list[tuple[str, str]]:
    out = [("姓名", person.get("name_masked", "")), ("证件号码", person.get("id_masked", "")),
           ("登记手机", person.get("phone_masked") or "未登记")]
    a = person.get("account")
    if not a:
        return out
    out += [("个人账号", a["grzh"]), ("账户状态", a["state_zh"]), ("账户余额", format_yuan(a["balance_fen"])),
            ("缴存基数", format_yuan(a["base_fen"])), ("月缴存额", format_yuan(a["monthly_deposit_fen"])),
            ("单位缴存比例", ratio_text(a["unit_ratio_bp"])), ("个人缴存比例", ratio_text(a["personal_ratio_bp"])),
            ("缴至年月", month_text(a.get("paid_up_to", ""))), ("连续缴存月数", f"{a.get('continuous_months', 0)}个月"),
            ("缴存单位", a.get("employer") or ("灵活就业" if a.get("flexible") else "—")),
            ("开户日期", a.get("opened_on", ""))]
    if a.get("bank_card_masked"):
        out.append(("绑定银行卡", a["bank_card_masked"]))
    return out


def loans_table(loans: list[dict]) -> dict:
    state_zh = {"repaying": "还款中", "overdue": "逾期", "paid_off": "已结清"}
    return {"columns": ["合同号", "贷款金额", "贷款余额", "期限", "还款方式", "状态", "发放日期"],
            "rows": [[l["contract_no"], format_yuan(l["amount_fen"]), format_yuan(l["balance_fen"]),
                      f"{l['months']}个月", l.get("method_zh", ""), state_zh.get(l["state"], l["state"]),
                      l.get("granted_on", "")] for l in loans],
            "page": 1, "pages": 1, "total": len(loans)}


class AccountOverviewFlow(ServiceFlow):
    """个人缴存贷款信息查询: overview -> deposit details by year (paged) / loans."""

    name = "account_overview"
    code = "query"
    title_zh = "个人缴存贷款信息查询"
    title_en = "Deposit and loan records"
    level = 2

    def __init__(self, ctx, identity=None, start_with: str = "overview"):
        super().__init__(ctx, identity)
        self.start_with = start_with
        self.person: Optional[dict] = None
        self.year = 0
        self.page = 1
        self.pages = 1

    def _wipe(self) -> None:
        self.person = None

    def _begin(self) -> None:
        idn = self.id_number
        self._show(Svc.LOADING, "overview", M("LOADING", "正在查询，请稍候", "Loading"))
        self._run("person", lambda t: self.ctx.center.person(idn, t), self._loaded)

    def _loaded(self, person: dict) -> None:
        self.person = person
        if self.start_with == "deposits" and person.get("account"):
            return self.show_deposits()
        if self.start_with == "loans":
            return self.show_loans()
        self._overview()

    def _overview(self) -> None:
        p = self.person
        self.fields = account_fields(p)
        self.table = None
        self.choices = []
        if not p.get("account"):
            self.notes = [NO_ACCOUNT.zh]
            return self._show(Svc.SHOW, "overview", actions=["loans", "finish"])
        self.notes = []
        self._show(Svc.SHOW, "overview", actions=["deposits", "loans", "finish"])

    def years(self) -> list[int]:
        a = (self.person or {}).get("account") or {}
        this = self.ctx.today().year
        first = int(a.get("opened_on", f"{this}")[:4]) if a else this
        return list(range(this, max(first, this - 9) - 1, -1))

    # --- resident actions ---
    def back(self) -> None:
        if self.state is Svc.SHOW and self.step in ("deposits", "loans") and self.person:
            self._overview()

    def show_loans(self) -> None:
        if self.person is None or self.busy:
            return
        loans = self.person.get("loans", [])
        self.fields = account_fields(self.person)[:2]
        self.table = loans_table(loans)
        self.notes = [] if loans else ["您没有住房公积金贷款记录"]
        self._show(Svc.SHOW, "loans", actions=["back", "finish"])

    def show_deposits(self, year: Optional[int] = None, page: int = 1) -> None:
        if self.person is None or self.busy:
            return
        if not self.person.get("account"):
            return self._go(self.state, NO_ACCOUNT)
        year = as_int(year or self.year or self.ctx.today().year)
        if year not in self.years():
            return self._go(self.state, M("YEAR_OUT_OF_RANGE", "请选择列表中的年份", f"year {year} not offered"))
        page = max(1, as_int(page) or 1)
        idn = self.id_number
        self._show(Svc.LOADING, "deposits", M("LOADING", "正在查询，请稍候", "Loading"))
        self._run("deposits", lambda t: self.ctx.center.deposits(idn, year, page, PAGE_SIZE, t), self._deposits)

    def choose_year(self, year: int) -> None:
        self.show_deposits(year, 1)

    def next_page(self) -> None:
        if self.step == "deposits" and self.page < self.pages:
            self.show_deposits(self.year, self.page + 1)

    def prev_page(self) -> None:
        if self.step == "deposits" and self.page > 1:
            self.show_deposits(self.year, self.page - 1)

    def _deposits(self, d: dict) -> None:
        self.year, self.page = d["year"], d["page"]
        self.pages = max(1, -(-d["total"] // d["page_size"]))
        self.fields = account_fields(self.person)[:2] + [("查询年度", f"{self.year}年")]
        self.choices = [{"id": y, "label": f"{y}年"} for y in self.years()]
        self.table = {"columns": ["记账日期", "业务类型", "所属年月", "发生额", "余额", "摘要"],
                      "rows": [[r["date"], business_type_zh(r["business_type"]), month_text(r.get("month") or ""),
                                format_yuan(r["amount_fen"]), format_yuan(r["balance_after_fen"]), r.get("summary") or ""]
                               for r in d["items"]],
                      "page": self.page, "pages": self.pages, "total": d["total"]}
        self.notes = [] if d["total"] else [f"{self.year}年没有缴存记录"]
        self._show(Svc.SHOW, "deposits", actions=["prev_page", "next_page", "choose_year", "back", "finish"])


STATEMENT_KINDS = [("account", "个人账户明细（交易明细）"), ("annual", "年度对账单"), ("loan", "贷款明细")]
NO_LOAN = M("STATEMENT_NO_LOAN", "您没有住房公积金贷款，无法打印贷款明细", "person has no loan")


class StatementFlow(ServiceFlow):
    """Printed statements the center compiles and signs (Ed25519, verification code + QR, the center's seal):
    个人账户明细 (one year's bookings), 年度对账单 (a finished year: totals and bookings) and 贷款明细 (one
    loan's repayments in a year). Printed as an A4 PDF, then a receipt slip with the same code. Asking again
    for the same statement in this visit replays the center's first answer (one Idempotency-Key each)."""

    name = "statement"
    code = "statement"
    title_zh = "个人账户明细打印"
    title_en = "Account statement"
    level = 2
    YEARS = 5

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.document = None
        self.issued: Optional[dict] = None
        self.kind = ""
        self.loans: list[dict] = []
        self.loan: Optional[dict] = None
        self._keys: dict[tuple, str] = {}        # (kind, contract, year) -> Idempotency-Key

    def _wipe(self) -> None:
        self.document = None
        self.issued = None
        self.loans, self.loan = [], None

    def _begin(self) -> None:
        self.kind, self.loan = "", None
        self.fields, self.table = [], None
        self.choices = [{"id": k, "label": l} for k, l in STATEMENT_KINDS]
        self._show(Svc.INPUT, "kind", M("PROMPT_STATEMENT_KIND", "请选择要打印的内容", "Please choose what to print"),
                   actions=["choose_kind"])

    def choose_kind(self, kind: str) -> None:
        if self.state is not Svc.INPUT or self.step != "kind" or self.busy:
            return
        if kind not in dict(STATEMENT_KINDS):
            return self._go(Svc.INPUT, M("KIND_NOT_OFFERED", "请选择列表中的内容", f"statement kind {kind!r} not offered"))
        self.kind = kind
        if kind != "loan":
            return self._ask_year()
        idn = self.id_number
        self._show(Svc.LOADING, "loans", M("LOADING", "正在查询贷款信息，请稍候", "Loading loans"))
        self._run("loans", lambda t: self.ctx.center.loans(idn, t), lambda loans: self._offer_loans(loans, NO_LOAN))

    def choose_loan(self, contract_no: str) -> None:
        if self.kind != "loan" or self.busy or self._pick_loan(contract_no) is None:
            return
        self._ask_year()

    def _ask_year(self) -> None:
        this = self.ctx.today().year
        last = this - 1 if self.kind == "annual" else this      # the annual statement is for finished years
        first = last - self.YEARS + 1
        if self.loan and self.loan.get("granted_on"):
            first = max(first, int(self.loan["granted_on"][:4]))
        self.choices = [{"id": y, "label": f"{y}年度"} for y in range(last, first - 1, -1)]
        self.fields = [("打印内容", dict(STATEMENT_KINDS)[self.kind])]
        if self.loan:
            self.fields.append(("借款合同号", self.loan["contract_no"]))
        self._show(Svc.INPUT, "year", M("PROMPT_YEAR", "请选择要打印的年度", "Please choose the year"),
                   actions=["choose_year", "back"])

    def back(self) -> None:
        if self.state is Svc.INPUT and self.step in ("year", "loan") and not self.busy:
            self._begin()

    def choose_year(self, year) -> None:
        if self.state is not Svc.INPUT or self.step != "year" or self.busy:
            return
        y = as_int(year)
        if y not in [c["id"] for c in self.choices]:
            return self._go(Svc.INPUT, M("YEAR_OUT_OF_RANGE", "请选择列表中的年度", f"year {year!r} not offered"))
        import secrets
        kind, contract = self.kind, (self.loan or {}).get("contract_no")
        key = self._keys.setdefault((kind, contract, y), secrets.token_hex(16))
        idn = self.id_number
        self._show(Svc.LOADING, "statement", M("LOADING", "公积金中心正在生成，请稍候", "Preparing the statement"))
        self._run("statement", lambda t: self.ctx.center.issue_statement(idn, y, key, t, kind, contract), self._print)

    def _print(self, out: dict) -> None:
        from printing.documents import AccountStatement, StatementLine, Verification
        self.issued = out
        c = out["content"]
        kind = c.get("kind", "account")
        if kind == "loan":
            lines = tuple(StatementLine(on=date.fromisoformat(r["date"]), summary=r["summary"][:20],
                                        credit_fen=r["principal_fen"], debit_fen=r["interest_fen"],
                                        balance_fen=r["balance_fen"]) for r in c["lines"])
        else:
            lines = tuple(StatementLine(on=date.fromisoformat(r["date"]), summary=(r.get("summary") or "")[:20],
                                        credit_fen=max(0, r["amount_fen"]), debit_fen=max(0, -r["amount_fen"]),
                                        balance_fen=r["balance_fen"]) for r in c["lines"])
        summary: tuple = ()
        if kind == "annual":
            t = c["summary"]
            summary = (("上年结转余额", format_yuan(c["opening_fen"])), ("本年缴存", format_yuan(t["deposited_fen"])),
                       ("本年结息", format_yuan(t["interest_fen"])), ("本年提取", format_yuan(t["withdrawn_fen"])),
                       ("本年缴存月数", f"{t['months_paid']}个月"), ("年末余额", format_yuan(c["closing_fen"])))
        elif kind == "loan":
            summary = (("借款合同号", c["contract_no"]), ("贷款金额", format_yuan(c["loan_amount_fen"])))
        url = self.ctx.verify_url.rstrip("/")
        url = url.replace("/certificates/verify", "/statements/verify") if "/certificates/verify" in url \
            else url + "/statement"
        verification = Verification(verification_code=c["verification_code"], verify_url=url,
                                    signature_alg=out.get("algorithm", "Ed25519"),
                                    signature_b64=out.get("signature", ""), signer=c["issuer"]["center_name"])
        self.document = AccountStatement(center_name=c["issuer"]["center_name"], issued_at=datetime.now(timezone.utc),
                                         masked_name=c["name_masked"], masked_id=c["id_number_masked"],
                                         account_no=c["account_no"], period_from=date.fromisoformat(c["period_from"]),
                                         period_to=date.fromisoformat(c["period_to"]), opening_fen=c["opening_fen"],
                                         closing_fen=c["closing_fen"], lines=lines, verification=verification,
                                         title=c.get("title") or "住房公积金个人账户明细",
                                         columns=("还款本金", "利息") if kind == "loan" else ("收入", "支出"),
                                         summary=summary)
        balance = "贷款余额" if kind == "loan" else "余额"
        self.fields = [("打印内容", c.get("title", "")), ("个人账号", c["account_no"]),
                       ("查询期间", f"{c['period_from']} 至 {c['period_to']}"),
                       (f"期初{balance}", format_yuan(c["opening_fen"])), (f"期末{balance}", format_yuan(c["closing_fen"])),
                       ("明细笔数", str(len(lines))), ("验证码", c["verification_code"])]
        self.choices = []
        self._print_a4(self.document, self._slip)

    def _slip(self) -> None:
        c = self.issued["content"]
        receipt = self._receipt(c.get("title") or "个人账户明细打印", serial=c["serial"], status_line="已打印",
                                fields=[("查询期间", f"{c['period_from']}至{c['period_to']}"),
                                        ("明细笔数", str(len(c["lines"]))), ("验证码", c["verification_code"])],
                                notes=["已用A4纸打印并加盖业务专用章；可凭验证码或扫描二维码在公积金中心网站核验真伪"],
                                qr=self.document.verification.qr_payload)
        self._print_receipt(receipt)
