"""Withdrawal by reason (提取): reason -> materials -> the center's eligibility and maximum -> amount -> the
receiving bank card, read and confirmed as the applicant's -> confirmation in figures and in words -> submit.

Offline (store-and-forward, within the floor limits) the center cannot be asked: the application is journaled
and the receipt says "已受理，待联网确认"; the center checks it when it arrives (a refusal then is recorded for
staff, with the center's reason)."""
from __future__ import annotations

import logging
from typing import Any, Optional

from kiosk.domain.codes import WithdrawalReason as R
from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_card
from kiosk.domain.money import format_yuan, parse_yuan
from kiosk.flows.ports import BankCard
from kiosk.flows.services.base import M, ServiceFlow, Svc, amount_view, fmt
from kiosk.flows.services.desk import TxOutcome
from sync.policy import OfflineRefused

log = logging.getLogger(__name__)

# Reasons offered at the kiosk (death withdrawals are for heirs, at the counter).
REASONS = [R.PURCHASE, R.LOAN_REPAYMENT, R.RENT, R.RETIREMENT, R.EMIGRATION, R.INCAPACITY, R.SERIOUS_ILLNESS,
           R.RENOVATION, R.LIFT_INSTALLATION, R.BUILD_REPAIR, R.UNEMPLOYMENT]

# What the resident states per reason (the center checks it against its data and the materials).
EVIDENCE: dict[R, list[dict]] = {
    R.PURCHASE: [{"name": "dwelling_id", "label": "不动产单元号/购房合同号", "kind": "text"},
                 {"name": "house_price_fen", "label": "房屋总价（元）", "kind": "amount"},
                 {"name": "contract_date", "label": "合同签订日期", "kind": "date"}],
    R.BUILD_REPAIR: [{"name": "dwelling_id", "label": "不动产单元号", "kind": "text"},
                     {"name": "house_price_fen", "label": "工程费用（元）", "kind": "amount"},
                     {"name": "contract_date", "label": "竣工/开工日期", "kind": "date"}],
    R.RENT: [{"name": "monthly_rent_fen", "label": "月租金（元）", "kind": "amount"},
             {"name": "rent_months", "label": "提取月数（1-12）", "kind": "int"},
             {"name": "public_rental_housing", "label": "是否公租房", "kind": "bool"}],
    R.SERIOUS_ILLNESS: [{"name": "out_of_pocket_fen", "label": "个人负担医疗费用（元）", "kind": "amount"},
                        {"name": "event_date", "label": "结算日期", "kind": "date"}],
    R.RENOVATION: [{"name": "out_of_pocket_fen", "label": "个人负担费用（元）", "kind": "amount"},
                   {"name": "event_date", "label": "竣工日期", "kind": "date"}],
    R.LIFT_INSTALLATION: [{"name": "out_of_pocket_fen", "label": "个人分摊费用（元）", "kind": "amount"},
                          {"name": "event_date", "label": "竣工日期", "kind": "date"}],
    R.INCAPACITY: [{"name": "incapacity_certified", "label": "已取得劳动能力鉴定结论并终止劳动关系", "kind": "bool"}],
    R.EMIGRATION: [{"name": "emigration_proven", "label": "已注销户籍或已出境定居", "kind": "bool"}],
    R.UNEMPLOYMENT: [{"name": "reemployed", "label": "目前已重新就业", "kind": "bool"}],
}

AMOUNT_OVER = M("WD_AMOUNT_OVER_MAX", "提取金额不能超过可提取金额{max}", "amount above the center's maximum")
OFFLINE_OVER_LIMIT = M("OFFLINE_AMOUNT_OVER_LIMIT", "网络中断时单笔最多受理{max}，请减少金额或联网后办理",
                       "amount over the offline per-transaction limit")
EVIDENCE_BAD = M("WD_EVIDENCE_FORMAT", "“{label}”填写不正确", "evidence field {name} invalid")
OFFLINE_NOTE = "网络中断：本次申请离线受理，联网后由公积金中心审核，结果可凭流水号查询"


def _evidence_value(spec: dict, raw: Any):
    kind = spec["kind"]
    if kind == "amount":
        return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else parse_yuan(str(raw))
    if kind == "int":
        v = int(str(raw))
        if v < 0:
            raise ValueError("negative")
        return v
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "yes", "是")
    if kind == "date":
        from datetime import date
        return date.fromisoformat(str(raw)).isoformat()
    v = str(raw).strip()
    if not v or len(v) > 64:
        raise ValueError("empty or too long")
    return v


class WithdrawalFlow(ServiceFlow):
    name = "withdrawal"
    code = "withdrawal"
    title_zh = "住房公积金提取"
    title_en = "Withdrawal"
    level = 3
    moves_money = True

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.reason: Optional[R] = None
        self.evidence: dict = {}
        self.decision: Optional[dict] = None
        self.amount_fen = 0

    def _wipe(self) -> None:
        self.evidence = {}
        self.decision = None

    def _begin(self) -> None:
        self.choices = [{"id": r.code, "label": r.label_zh} for r in REASONS]
        self.fields = []
        self.notes = [OFFLINE_NOTE] if not self.ctx.online else []
        self._show(Svc.INPUT, "reason", M("PROMPT_REASON", "请选择提取原因", "Please choose the reason"))

    # --- resident actions ---
    def choose_reason(self, code: str) -> None:
        if self.state is not Svc.INPUT or self.step != "reason":
            return
        try:
            reason = R.from_code(str(code))
        except DomainError:
            return self._go(Svc.INPUT, M("WD_REASON_UNKNOWN", "请选择列表中的提取原因", f"unknown reason {code!r}"))
        if reason not in REASONS:
            return self._go(Svc.INPUT, M("WD_REASON_COUNTER", "该提取原因请到柜台办理", f"reason {reason.code} not offered"))
        self.reason = reason
        self.choices = []
        specs = EVIDENCE.get(reason, [])
        self.fields = [("提取原因", reason.label_zh)]
        if specs:
            self.inputs = [dict(s, value="") for s in specs]
            return self._show(Svc.INPUT, "evidence", M("PROMPT_EVIDENCE", "请填写提取材料信息", "Please fill in the details"),
                              actions=["submit_evidence", "back"])
        self._check_eligibility()

    def submit_evidence(self, values: dict) -> None:
        if self.state is not Svc.INPUT or self.step != "evidence":
            return
        ev = {}
        for spec in EVIDENCE.get(self.reason, []):
            raw = values.get(spec["name"])
            if raw is None or raw == "":
                if spec["kind"] == "bool":
                    ev[spec["name"]] = False
                    continue
                return self._go(Svc.INPUT, fmt(EVIDENCE_BAD, label=spec["label"], name=spec["name"]))
            try:
                ev[spec["name"]] = _evidence_value(spec, raw)
            except (ValueError, DomainError):
                return self._go(Svc.INPUT, fmt(EVIDENCE_BAD, label=spec["label"], name=spec["name"]))
        self.evidence = ev
        self.inputs = []
        self._check_eligibility()

    def back(self) -> None:
        if self.state in (Svc.INPUT, Svc.CONFIRM) and self.step in ("evidence", "amount", "confirm"):
            self._stop_task()
            self.reason, self.evidence, self.decision = None, {}, None
            self.inputs, self.amounts = [], []
            self._begin()

    def enter_amount(self, amount) -> None:
        """Amount in fen (int) or yuan text ('5,000.00')."""
        if self.state is not Svc.INPUT or self.step != "amount":
            return
        try:
            fen = amount if isinstance(amount, int) and not isinstance(amount, bool) else parse_yuan(str(amount))
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        if fen <= 0:
            return self._go(Svc.INPUT, M("AMOUNT_INVALID", "提取金额应大于零", "amount must be positive"))
        top = self.decision.get("max_amount_fen") if self.decision else None
        if top is not None and fen > top:
            return self._go(Svc.INPUT, fmt(AMOUNT_OVER, max=format_yuan(top)))
        try:                                  # offline: over the floor limit is refused now, not after confirming
            self.ctx.desk.check_amount(self.code, fen)
        except OfflineRefused as exc:
            log.info("withdrawal amount %d fen refused offline: %s", fen, exc.detail)
            if exc.code == "OFFLINE_AMOUNT_OVER_LIMIT":      # short enough for one line in care mode
                top = self.ctx.desk.limits.per_transaction_limit_fen
                return self._go(Svc.INPUT, fmt(OFFLINE_OVER_LIMIT, max=format_yuan(top)))
            return self._go(Svc.INPUT, M(exc.code, exc.message_zh, exc.detail))
        self.amount_fen = fen
        self._to_card()

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        payload = {"id_number": self.id_number, "reason": self.reason.code, "amount_fen": self.amount_fen,
                   "bank_card": self.card.pan}
        if self.evidence:
            payload["evidence"] = dict(self.evidence)
        self._submit("withdrawal", payload, self._submitted, amount_fen=self.amount_fen)

    # --- steps ---
    def _check_eligibility(self) -> None:
        if not self.ctx.online:
            self.decision = None
            return self._ask_amount()
        reason, ev, idn = self.reason, dict(self.evidence), self.id_number
        self._show(Svc.LOADING, "eligibility", M("CHECKING", "正在查询提取条件，请稍候", "Checking eligibility"))
        self._run("eligibility", lambda t: self.ctx.center.eligibility(idn, reason.code, None, t, ev or None),
                  self._eligibility)

    def _eligibility(self, d: dict) -> None:
        self.decision = d
        if not d.get("allowed"):
            return self._go(Svc.REFUSED, M(d.get("code") or "WD_REFUSED", d.get("message") or "不符合提取条件",
                                           f"withdrawal {self.reason.code} not allowed: {d.get('code')}"))
        self._ask_amount()

    def _ask_amount(self) -> None:
        d = self.decision
        self.fields = [("提取原因", self.reason.label_zh)]
        if d is not None:
            self.amounts = [amount_view("可提取金额", d["max_amount_fen"])]
            if d.get("closes_account"):
                self.fields.append(("办理方式", "销户提取（账户余额全部提取）"))
                self.amount_fen = d["max_amount_fen"]
                return self._to_card()
        else:
            self.amounts = []
            self.notes = [OFFLINE_NOTE]
        self.inputs = [{"name": "amount", "label": "提取金额（元）", "kind": "amount", "value": ""}]
        self._show(Svc.INPUT, "amount", M("PROMPT_AMOUNT", "请输入提取金额", "Please enter the amount"),
                   actions=["enter_amount", "back"])

    def _to_card(self) -> None:
        self.inputs = []
        known = self._known_card()
        if known is not None:
            self.card = BankCard(known.pan, known.expiry, known.holder_name, known.holder_id)
            return self._to_confirm(self.card)
        self._read_card(self._to_confirm)

    def _to_confirm(self, card: BankCard) -> None:
        self.fields = [("提取原因", self.reason.label_zh), ("收款银行卡", mask_card(card.pan))]
        self.amounts = [amount_view("提取金额", self.amount_fen)]
        if self.decision and self.decision.get("closes_account"):
            self.fields.append(("办理方式", "销户提取"))
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对提取金额和收款银行卡，确认无误后点击“确认提交”",
                                             "Please check the amount and the card, then confirm"),
                   actions=["confirm", "back"])

    def _submitted(self, outcome: TxOutcome) -> None:
        r = outcome.result
        serial = r.get("serial") or outcome.client_id
        amount = r.get("amount_fen", self.amount_fen)
        fields = [("提取原因", self.reason.label_zh), ("收款银行卡", mask_card(self.card.pan))]
        notes = []
        if outcome.queued:
            notes.append("网络中断时受理，联网后由公积金中心确认，结果可凭流水号查询")
        elif r.get("balance_after_fen") is not None:
            fields.append(("账户余额", format_yuan(r["balance_after_fen"])))
        receipt = self._receipt("提取（" + self.reason.label_zh + "）", serial=serial, status_line=outcome.status_line,
                                fields=fields, amounts=[("提取金额", amount)], notes=notes,
                                client_id=outcome.client_id, qr=f"progress:{serial}")
        self.fields = fields + [("流水号", serial), ("办理结果", outcome.status_line)]
        self.amounts = [amount_view("提取金额", amount)]
        self._print_receipt(receipt, M("DONE", f"{outcome.status_line}，请取走凭条", "Done. Please take your receipt"))
