"""Certificates the center issues and signs: 缴存使用证明 and 贷款全部还清证明. Printed as A4 PDF on the A4
printer, then a receipt slip with the verification code (anyone can check it at the center)."""
from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Optional

from kiosk.domain.masking import mask_name
from kiosk.domain.money import format_yuan
from kiosk.flows.services.account import loans_table
from kiosk.flows.services.base import M, ServiceFlow, Svc

log = logging.getLogger(__name__)

NO_PAID_OFF = M("CERT_NO_PAID_OFF_LOAN", "您没有已结清的住房公积金贷款，不能开具结清证明", "no paid-off loan")


def _bp(pct: str) -> int:
    return int((Decimal(str(pct).rstrip("%")) * 100).to_integral_value())


class CertificateFlow(ServiceFlow):
    name = "certificate"
    code = "deposit_use_certificate"
    title_zh = "出具证明"
    title_en = "Certificate"
    level = 2

    def __init__(self, ctx, identity=None, kind: str = "deposit_use"):
        super().__init__(ctx, identity)
        if kind not in ("deposit_use", "payoff"):
            raise ValueError(f"unknown certificate kind {kind!r}")
        self.kind = kind
        self.contract_no: Optional[str] = None
        self.issued: Optional[dict] = None
        self.document = None
        self._months: dict[str, int] = {}
        self._key = ""                 # Idempotency-Key: a retry of the same request gets the same certificate

    def _wipe(self) -> None:
        self.issued = None
        self.document = None

    def _begin(self) -> None:
        if self.kind == "deposit_use":
            return self._issue()
        idn = self.id_number
        self._show(Svc.LOADING, "loans", M("LOADING", "正在查询贷款信息，请稍候", "Loading loans"))
        self._run("loans", lambda t: self.ctx.center.loans(idn, t), self._loans)

    def _loans(self, loans: list[dict]) -> None:
        done = [l for l in loans if l["state"] == "paid_off"]
        self._months = {l["contract_no"]: l["months"] for l in done}
        if not done:
            return self._go(Svc.REFUSED, NO_PAID_OFF)
        if len(done) == 1:
            return self.choose_loan(done[0]["contract_no"], _from_list=done)
        self.table = loans_table(done)
        self.choices = [{"id": l["contract_no"], "label": f"{l['contract_no']}（{format_yuan(l['amount_fen'])}）"}
                        for l in done]
        self._show(Svc.INPUT, "loan", M("PROMPT_LOAN", "请选择已结清的贷款", "Please choose the paid-off loan"),
                   actions=["choose_loan"])

    def choose_loan(self, contract_no: str, _from_list=None) -> None:
        if _from_list is None and not any(c["id"] == contract_no for c in self.choices):
            return self._go(self.state, M("LOAN_NOT_OFFERED", "请选择列表中的贷款", f"contract {contract_no} not offered"))
        self.contract_no = contract_no
        self._issue()

    def _issue(self) -> None:
        self._key = self._key or secrets.token_hex(16)
        idn, kind, contract, key = self.id_number, self.kind, self.contract_no, self._key
        self.choices, self.table = [], None
        self._show(Svc.LOADING, "issue", M("ISSUING", "公积金中心正在出具证明，请稍候", "The center is issuing"))
        self._run("issue", lambda t: self.ctx.center.issue_certificate(idn, kind, contract, key, t), self._issued)

    def _verification(self, out: dict):
        from printing.documents import Verification
        return Verification(verification_code=out["verification_code"], verify_url=self.ctx.verify_url,
                            signature_alg=out.get("algorithm", "Ed25519"), signature_b64=out.get("signature", ""),
                            signer=self.ctx.center_name)

    def _issued(self, out: dict) -> None:
        from printing.documents import DepositUseCertificate, LoanPayoffCertificate
        self.issued = out
        c = out["content"]
        now = datetime.now(timezone.utc)
        if self.kind == "deposit_use":
            self.document = DepositUseCertificate(
                center_name=c["issuer"]["center_name"], serial_no=c["serial"], issued_at=now,
                masked_name=mask_name(c["name"]), masked_id=c["id_number_masked"], employer=c["employer"],
                account_no=c["account_no"], account_state=c["account_state"],
                opened_on=date.fromisoformat(c["opened_on"]), unit_ratio_bp=_bp(c["unit_ratio"]),
                personal_ratio_bp=_bp(c["personal_ratio"]), base_fen=c["base_fen"], monthly_fen=c["monthly_fen"],
                continuous_from=c["continuous_from"], continuous_to=c["continuous_to"], balance_fen=c["balance_fen"],
                loan_record=c["loan_record"], verification=self._verification(out),
                contact=c["issuer"].get("contact", ""), contact_phone=c["issuer"].get("contact_phone", ""))
            self.fields = [("证明编号", c["serial"]), ("账户状态", c["account_state"]),
                           ("连续缴存", f"{c['continuous_from']} 至 {c['continuous_to']}"),
                           ("账户余额", format_yuan(c["balance_fen"])), ("贷款记录", c["loan_record"]),
                           ("验证码", c["verification_code"])]
        else:
            self.document = LoanPayoffCertificate(
                center_name=c["issuer"]["center_name"], serial_no=c["serial"], issued_at=now,
                masked_name=mask_name(c["name"]), masked_id=c["id_number_masked"], contract_no=c["contract_no"],
                lending_bank=c.get("bank") or "", loan_fen=c["amount_fen"], term_months=self._months.get(c["contract_no"], 0),
                loan_start=date.fromisoformat(c["disbursed_on"]), paid_off_on=date.fromisoformat(c["paid_off_on"]),
                verification=self._verification(out), property_address=c.get("property_address") or "")
            self.fields = [("证明编号", c["serial"]), ("借款合同号", c["contract_no"]),
                           ("贷款金额", format_yuan(c["amount_fen"])), ("结清日期", c["paid_off_on"]),
                           ("验证码", c["verification_code"])]
        log.info("%s: certificate %s issued", self.code, c["serial"])
        self._print_a4(self.document, self._slip)

    def _slip(self) -> None:
        c = self.issued["content"]
        receipt = self._receipt(self.title_zh, serial=c["serial"], status_line="已出具",
                                fields=[("验证码", c["verification_code"]), ("有效期至", c.get("valid_until") or "长期")],
                                notes=["证明已用A4纸打印；可凭验证码在公积金中心网站核验真伪"],
                                qr=self.document.verification.qr_payload)
        self._print_receipt(receipt)
