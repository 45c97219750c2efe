"""Account services: change the registered mobile number (ID card + face, then an SMS code to the NEW number).

Not here yet (the reference center has no endpoint or transaction kind for them): setting or changing the HPF
query password, and changing the loan's repayment bank account."""
from __future__ import annotations

import logging
import secrets

from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_phone
from kiosk.domain.numbers import parse_mobile
from kiosk.flows.services.base import M, ServiceFlow, Svc, fmt
from kiosk.flows.services.desk import TxOutcome

log = logging.getLogger(__name__)

SMS_SENT = M("SMS_SENT", "验证码已发送至新号码 {phone}", "Code sent to the new number {phone}")
SMS_WRONG = M("SMS_WRONG", "验证码错误，还可输入 {left} 次", "wrong code, {left} attempts left")
SMS_FORMAT = M("SMS_FORMAT", "请输入6位数字验证码", "Please enter the 6-digit code")
MAX_ATTEMPTS = 3


class PhoneChangeFlow(ServiceFlow):
    name = "phone_change"
    code = "phone_change"
    title_zh = "手机号码变更"
    title_en = "Change phone number"
    level = 2

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.new_phone = ""
        self.attempts_left = MAX_ATTEMPTS

    def _wipe(self) -> None:
        self.new_phone = ""

    def _begin(self) -> None:
        self.inputs = [{"name": "phone", "label": "新手机号码", "kind": "phone", "value": ""}]
        self._show(Svc.INPUT, "phone", M("PROMPT_PHONE", "请输入新的手机号码", "Please enter the new mobile number"),
                   actions=["submit_phone"])

    def submit_phone(self, phone: str) -> None:
        if self.state is not Svc.INPUT or self.step != "phone":
            return
        try:
            self.new_phone = parse_mobile(str(phone))
        except DomainError as e:
            return self._go(Svc.INPUT, M(e.code, e.message_zh, str(e)))
        self._send()

    def resend(self) -> None:
        if self.state is Svc.INPUT and self.step == "code" and not self.busy:
            self._send()

    def _send(self) -> None:
        idn, phone, key = self.id_number, self.new_phone, secrets.token_hex(16)
        self._show(Svc.LOADING, "send", M("SENDING", "正在发送验证码", "Sending the code"))
        self._run("sms_send", lambda t: self.ctx.center.send_sms(idn, "phone_change", phone, key, t), self._sent)

    def _sent(self, out: dict) -> None:
        self.attempts_left = MAX_ATTEMPTS
        self.fields = [("新手机号码", mask_phone(self.new_phone))]
        self.inputs = [{"name": "code", "label": "短信验证码", "kind": "digits6", "value": ""}]
        self._show(Svc.INPUT, "code", fmt(SMS_SENT, phone=mask_phone(self.new_phone)), actions=["submit_code", "resend"])

    def submit_code(self, code: str) -> None:
        if self.state is not Svc.INPUT or self.step != "code" or self.busy:
            return
        code = str(code).strip()
        if not (code.isdigit() and len(code) == 6):
            return self._go(Svc.INPUT, SMS_FORMAT)
        idn, phone, key = self.id_number, self.new_phone, secrets.token_hex(16)
        self._run("sms_verify", lambda t: self.ctx.center.verify_sms(idn, "phone_change", phone, code, key, t),
                  self._verified)

    def _verified(self, ok: bool) -> None:
        if not ok:
            self.attempts_left -= 1
            if self.attempts_left <= 0:
                return self._go(Svc.FAILED, M("SMS_LOCKED", "验证码错误次数过多，请稍后重新办理", "too many wrong codes"))
            return self._go(Svc.INPUT, fmt(SMS_WRONG, left=self.attempts_left))
        self.inputs = []
        self._submit("phone_change", {"id_number": self.id_number, "new_phone": self.new_phone}, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        masked = outcome.result.get("phone_masked") or mask_phone(self.new_phone)
        receipt = self._receipt("手机号码变更", serial=outcome.client_id.replace("-", "")[:20].upper(),
                                status_line=outcome.status_line, fields=[("新手机号码", masked)],
                                client_id=outcome.client_id)
        self.fields = [("新手机号码", masked), ("办理结果", outcome.status_line)]
        self._print_receipt(receipt)
