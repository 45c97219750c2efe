"""Flexible employment (灵活就业): open an account with a monthly-deposit agreement debited from the resident's
own bank card, sign a new agreement, and make a one-off deposit debited from the signed card."""
from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Optional

from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_card
from kiosk.domain.money import format_yuan, parse_yuan
from kiosk.flows.ports import BankCard
from kiosk.flows.services.base import M, ServiceFlow, Svc, amount_view, as_int, fmt
from kiosk.flows.services.desk import TxOutcome
from sync.policy import OfflineRefused

log = logging.getLogger(__name__)


def monthly_fen(base_fen: int, ratio_bp: int) -> int:
    """base × ratio, half-up to the fen (the center's rule, center.rules.flexible)."""
    return int((Decimal(base_fen) * Decimal(ratio_bp) / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


OFFLINE_OVER_LIMIT = M("OFFLINE_AMOUNT_OVER_LIMIT", "网络中断时单笔最多受理{max}，请减少月数或联网后办理",
                       "deposit over the offline per-transaction limit")


def year_month(yyyymm: str) -> str:
    """The center's 缴至年月 (YYYYMM) as a resident reads it: 2027年01月 (anything else unchanged)."""
    v = str(yyyymm)
    return f"{v[:4]}年{v[4:6]}月" if len(v) == 6 and v.isdigit() else v


class FlexibleOpenFlow(ServiceFlow):
    """灵活就业人员开户 (with the deposit agreement and the debit card)."""

    name = "flexible_open"
    code = "flexible_open"
    kind = "flexible_open"
    title_zh = "灵活就业人员开户"
    title_en = "Flexible employment: open account"
    level = 2

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.base_fen = 0
        self.ratio_bp = 0

    def _begin(self) -> None:
        self.inputs = [{"name": "base", "label": "月缴存基数（元）", "kind": "amount", "value": ""},
                       {"name": "ratio", "label": "缴存比例（%）", "kind": "percent", "value": "12"}]
        self.notes = ["缴存比例和缴存基数须在本市规定范围内；单位和个人部分均由本人缴纳"]
        self._show(Svc.INPUT, "terms", M("PROMPT_TERMS", "请填写缴存基数和缴存比例", "Please enter base and ratio"),
                   actions=["submit_terms"])

    def submit_terms(self, base, ratio_percent) -> None:
        if self.state is not Svc.INPUT or self.step != "terms":
            return
        try:
            fen = base if isinstance(base, int) and not isinstance(base, bool) else parse_yuan(str(base))
            bp = int((Decimal(str(ratio_percent).rstrip("%")) * 100).to_integral_value(rounding=ROUND_HALF_UP))
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        except (InvalidOperation, ValueError):
            return self._go(Svc.INPUT, M("RATIO_FORMAT", "缴存比例格式不正确", f"bad ratio {ratio_percent!r}"))
        if fen <= 0 or not 100 <= bp <= 10000:
            return self._go(Svc.INPUT, M("TERMS_INVALID", "缴存基数应大于零，缴存比例应在1%至100%之间", "bad terms"))
        self.base_fen, self.ratio_bp = fen, bp
        self.inputs = []
        known = self._known_card()
        if known is not None:
            self.card = BankCard(known.pan, known.expiry, known.holder_name, known.holder_id)
            return self._to_confirm(self.card)
        self._read_card(self._to_confirm)

    def _to_confirm(self, card: BankCard) -> None:
        m = monthly_fen(self.base_fen, self.ratio_bp)
        self.fields = [("缴存基数", format_yuan(self.base_fen)), ("缴存比例", f"{Decimal(self.ratio_bp) / 100:f}%"),
                       ("扣款银行卡", mask_card(card.pan))]
        self.amounts = [amount_view("每月缴存额", m)]
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对缴存协议内容，确认后签订",
                                             "Please check the agreement, then sign"), actions=["confirm"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        doc = self.identity.document
        payload = {"id_number": doc.id_number, "name": doc.name, "base_fen": self.base_fen,
                   "ratio_bp": self.ratio_bp, "debit_card": self.card.pan}
        self._submit(self.kind, payload, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        r = outcome.result
        monthly = r.get("monthly_amount_fen", monthly_fen(self.base_fen, self.ratio_bp))
        serial = r.get("agreement_no") or outcome.client_id
        fields = [("缴存基数", format_yuan(self.base_fen)), ("缴存比例", f"{Decimal(self.ratio_bp) / 100:f}%"),
                  ("扣款银行卡", mask_card(self.card.pan))]
        receipt = self._receipt(self.title_zh, serial=serial, status_line=outcome.status_line, fields=fields,
                                amounts=[("每月缴存额", monthly)], notes=["每月按协议从扣款银行卡缴存"],
                                client_id=outcome.client_id)
        self.fields = fields + [("协议编号", serial)]
        self.amounts = [amount_view("每月缴存额", monthly)]
        self._print_receipt(receipt)


class FlexibleSignFlow(FlexibleOpenFlow):
    """灵活就业缴存协议签订 for an existing flexible account (new base, ratio or debit card)."""

    name = "flexible_sign"
    code = "flexible_sign"
    kind = "flexible_sign"
    title_zh = "灵活就业缴存协议签订"
    title_en = "Flexible employment: deposit agreement"
    level = 3
    moves_money = True


class FlexibleDepositFlow(ServiceFlow):
    """灵活就业缴存: months × the agreed monthly amount, debited from the signed card."""

    name = "flexible_deposit"
    code = "deposit"
    title_zh = "灵活就业缴存"
    title_en = "Flexible employment: deposit"
    level = 2
    moves_money = True

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.agreement: Optional[dict] = None
        self.months = 0

    def _wipe(self) -> None:
        self.agreement = None

    def _begin(self) -> None:
        idn = self.id_number
        self._show(Svc.LOADING, "agreement", M("LOADING", "正在查询缴存协议，请稍候", "Loading the agreement"))
        self._run("person", lambda t: self.ctx.center.person(idn, t), self._loaded)

    def _loaded(self, person: dict) -> None:
        a = person.get("account")
        if not a or not a.get("flexible"):
            return self._go(Svc.REFUSED, M("FLEX_NOT_FLEXIBLE", "您不是灵活就业缴存人员，单位缴存请由单位办理汇缴",
                                           "not a flexible depositor"))
        if not a.get("flexible_agreement"):
            return self._go(Svc.REFUSED, M("FLEX_NO_AGREEMENT", "请先签订缴存协议", "no agreement"))
        self.agreement = a["flexible_agreement"]
        self.fields = [("缴至年月", year_month(a.get("paid_up_to") or "") or "—"),
                       ("每月缴存额", format_yuan(self.agreement["monthly_fen"])),
                       ("扣款银行卡", self.agreement["debit_card_masked"])]
        self.choices = [{"id": n, "label": f"{n}个月"} for n in (1, 2, 3, 6, 12)]
        self._show(Svc.INPUT, "months", M("PROMPT_MONTHS", "请选择本次缴存月数", "How many months?"),
                   actions=["choose_months"])

    def choose_months(self, months: int) -> None:
        n = as_int(months)
        if self.state is not Svc.INPUT or n is None or not 1 <= n <= 12:
            return
        amount = n * self.agreement["monthly_fen"]
        try:                                  # offline: over the floor limit is refused now, not after confirming
            self.ctx.desk.check_amount(self.code, amount)
        except OfflineRefused as exc:
            log.info("deposit of %d months refused offline: %s", n, exc.detail)
            if exc.code == OFFLINE_OVER_LIMIT.code:
                top = format_yuan(self.ctx.desk.limits.per_transaction_limit_fen)
                return self._go(Svc.INPUT, fmt(OFFLINE_OVER_LIMIT, max=top))
            return self._go(Svc.INPUT, M(exc.code, exc.message_zh, exc.detail))
        self.months = n
        self.choices = []
        self.fields = self.fields[:3] + [("缴存月数", f"{self.months}个月")]
        self.amounts = [amount_view("本次缴存金额", amount)]
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "将从签约银行卡扣款，请确认金额",
                                             "The amount is debited from the signed card; please confirm"),
                   actions=["confirm"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        amount = self.months * self.agreement["monthly_fen"]
        self._submit("deposit", {"id_number": self.id_number, "months": self.months, "amount_fen": amount},
                     self._submitted, amount_fen=amount)

    def _submitted(self, outcome: TxOutcome) -> None:
        amount = self.months * self.agreement["monthly_fen"]
        r = outcome.result
        serial = outcome.client_id.replace("-", "")[:20].upper()
        fields = [("缴存月数", f"{self.months}个月"), ("扣款银行卡", self.agreement["debit_card_masked"])]
        if r.get("paid_up_to"):
            fields.append(("缴至年月", year_month(r["paid_up_to"])))
        if r.get("balance_after_fen") is not None:
            fields.append(("账户余额", format_yuan(r["balance_after_fen"])))
        notes = ["网络中断时受理，联网后由公积金中心确认扣款，结果可凭流水号查询"] if outcome.queued else []
        receipt = self._receipt(self.title_zh, serial=serial, status_line=outcome.status_line, fields=fields,
                                amounts=[("缴存金额", amount)], notes=notes, client_id=outcome.client_id)
        self.fields = fields + [("流水号", serial), ("办理结果", outcome.status_line)]
        self.notes = notes
        self._print_receipt(receipt, M("DONE", f"{outcome.status_line}，请取走凭条", "Done. Please take your receipt"))
