"""Account services: change the registered mobile number (ID card + face, then an SMS code to the NEW number),
set or change the HPF query password (on a scrambled pad; only a PBKDF2 digest leaves the kiosk), and change the
loan's repayment bank account (the new card read and proved as the resident's own).

The last two use the center additions in center/api/services_extra.py (transaction kinds `query_password`,
`loan_repayment_account`)."""
from __future__ import annotations

import hashlib
import logging
import secrets

from kiosk.domain.errors import DomainError
from kiosk.domain.masking import mask_phone
from kiosk.domain.numbers import parse_mobile
from kiosk.flows.ports import CenterOffline, PortError
from kiosk.flows.services.base import M, ServiceFlow, Svc, fmt
from kiosk.flows.services.desk import TxOutcome

log = logging.getLogger(__name__)

SMS_SENT = M("SMS_SENT", "验证码已发送至新号码 {phone}", "Code sent to the new number {phone}")
SMS_WRONG = M("SMS_WRONG", "验证码错误，还可输入 {left} 次", "wrong code, {left} attempts left")
SMS_FORMAT = M("SMS_FORMAT", "请输入6位数字验证码", "Please enter the 6-digit code")
MAX_ATTEMPTS = 3
CODE_DEAD = ("SMS_CODE_EXPIRED", "SMS_CODE_LOCKED", "SMS_CODE_NOT_SENT")


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
        self.sent = False                 # a code went to the new number (a later send is a resend)

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
        resend = self.sent
        self._show(Svc.LOADING, "send", M("SENDING", "正在发送验证码", "Sending the code"))

        def refused(exc: BaseException) -> bool:
            """The center would not send (too soon after the last code, daily limit, bad number): say so and stay
            on the step the resident can act from, instead of ending the item."""
            if not isinstance(exc, PortError) or isinstance(exc, CenterOffline):
                return False
            log.info("phone change: SMS to %s not sent: %s", mask_phone(phone), exc.code)
            msg = M(exc.code, exc.message_zh, str(exc))
            if resend:
                self._show(Svc.INPUT, "code", msg, actions=["submit_code", "resend"])
            else:
                self.inputs = [{"name": "phone", "label": "新手机号码", "kind": "phone", "value": ""}]
                self._show(Svc.INPUT, "phone", msg, actions=["submit_phone"])
            return True
        self._run("sms_send", lambda t: self.ctx.center.send_sms(idn, "phone_change", phone, key, t), self._sent,
                  refused)

    def _sent(self, out: dict) -> None:
        self.sent = True
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

        def refused(exc: BaseException) -> bool:
            """Expired, used-up or never-sent code: the center's words, and 重新发送 stays offered."""
            if isinstance(exc, PortError) and not isinstance(exc, CenterOffline) and exc.code in CODE_DEAD:
                self._go(Svc.INPUT, M(exc.code, exc.message_zh, str(exc)))
                return True
            return False
        self._run("sms_verify", lambda t: self.ctx.center.verify_sms(idn, "phone_change", phone, code, key, t),
                  self._verified, refused)

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


PASSWORD_ROUNDS = 100_000


def password_digest(id_number: str, password: str) -> str:
    """What leaves the kiosk instead of the password (center/api/services_extra.py stores scrypt of it)."""
    salt = ("hpf-query-password:" + id_number.strip().upper()).encode()
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PASSWORD_ROUNDS).hex()


WEAK = {"123456", "654321", "000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777",
        "888888", "999999", "123123", "112233"}


class QueryPasswordFlow(ServiceFlow):
    """设置/修改公积金查询密码: twice on a scrambled pad, never shown, never logged."""

    name = "query_password"
    code = "query_password"
    title_zh = "设置/修改查询密码"
    title_en = "Set the query password"
    level = 2

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.pad_layout: list[str] = []
        self._first = ""

    def _wipe(self) -> None:
        self._first = ""
        self.pad_layout = []

    def _scramble(self) -> None:
        digits = list("0123456789")
        secrets.SystemRandom().shuffle(digits)
        self.pad_layout = digits

    def _begin(self) -> None:
        self._first = ""
        self._scramble()
        self.inputs = [{"name": "password", "label": "新查询密码（6位数字）", "kind": "pin6", "value": ""}]
        self._show(Svc.INPUT, "new", M("PROMPT_NEW_PASSWORD", "请输入6位数字新密码", "Enter a new 6-digit password"),
                   actions=["submit_password"])

    def view(self) -> dict:
        v = super().view()
        v["pad_layout"] = list(self.pad_layout)
        return v

    def submit_password(self, password: str) -> None:
        if self.state is not Svc.INPUT or self.busy:
            return
        password = str(password)
        if not (password.isdigit() and len(password) == 6):
            return self._go(Svc.INPUT, M("PASSWORD_FORMAT", "请输入6位数字密码", "password must be 6 digits"))
        if self.step == "new":
            if password in WEAK or password in self.id_number:
                return self._go(Svc.INPUT, M("PASSWORD_WEAK", "密码过于简单，请勿使用连续、重复数字或证件号码中的数字",
                                             "password too weak"))
            self._first = password
            self._scramble()
            self.inputs = [{"name": "password", "label": "再次输入新密码", "kind": "pin6", "value": ""}]
            return self._show(Svc.INPUT, "repeat", M("PROMPT_REPEAT", "请再次输入新密码", "Enter it again"),
                              actions=["submit_password"])
        if self.step == "repeat":
            if not secrets.compare_digest(password, self._first):
                self._first = ""
                self._scramble()
                self.inputs = [{"name": "password", "label": "新查询密码（6位数字）", "kind": "pin6", "value": ""}]
                return self._show(Svc.INPUT, "new", M("PASSWORD_MISMATCH", "两次输入的密码不一致，请重新设置",
                                                      "the two entries differ"), actions=["submit_password"])
            digest = password_digest(self.id_number, password)
            self._first = ""
            self.inputs, self.pad_layout = [], []
            self._submit("query_password", {"id_number": self.id_number, "digest": digest}, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        what = "查询密码已修改" if outcome.result.get("changed") else "查询密码已设置"
        receipt = self._receipt("设置/修改查询密码", serial=outcome.client_id.replace("-", "")[:20].upper(),
                                status_line=outcome.status_line, fields=[("办理内容", what)],
                                notes=["请牢记新密码，不要告诉他人"], client_id=outcome.client_id)
        self.fields = [("办理内容", what), ("办理结果", outcome.status_line)]
        self._print_receipt(receipt)


class RepaymentAccountFlow(ServiceFlow):
    """变更贷款还款账户: choose the loan, insert the new card (the resident's own), confirm."""

    name = "repayment_account"
    code = "repayment_account"
    title_zh = "变更贷款还款账户"
    title_en = "Change the repayment account"
    level = 3
    moves_money = True

    def __init__(self, ctx, identity=None):
        super().__init__(ctx, identity)
        self.loans: list[dict] = []
        self.loan = None

    def _wipe(self) -> None:
        self.loans, self.loan = [], None

    def _begin(self) -> None:
        idn = self.id_number
        self._show(Svc.LOADING, "loans", M("LOADING", "正在查询贷款信息，请稍候", "Loading loans"))
        self._run("loans", lambda t: self.ctx.center.loans(idn, t), self._loaded)

    def _loaded(self, loans: list[dict]) -> None:
        self._offer_loans([l for l in loans if l["state"] in ("repaying", "overdue")],
                          M("LOAN_NONE", "您没有正在还款的住房公积金贷款", "no loan being repaid"))

    def choose_loan(self, contract_no: str) -> None:
        if self._pick_loan(contract_no) is None:
            return
        self.notes = ["请插入新的还款银行卡（须为本人银行卡）"]
        self._read_card(self._to_confirm)

    def _to_confirm(self, card) -> None:
        from kiosk.domain.masking import mask_card
        self.notes = []
        self.fields = [("借款合同号", self.loan["contract_no"]), ("贷款银行", self.loan.get("bank_name") or "—"),
                       ("新还款银行卡", mask_card(card.pan))]
        self._show(Svc.CONFIRM, "confirm", M("PROMPT_CONFIRM", "请核对新还款账户，确认后提交",
                                             "Please check the new account, then confirm"), actions=["confirm"])

    def confirm(self) -> None:
        if self.state is not Svc.CONFIRM:
            return
        self._submit("loan_repayment_account", {"id_number": self.id_number, "contract_no": self.loan["contract_no"],
                                                "bank_card": self.card.pan}, self._submitted)

    def _submitted(self, outcome: TxOutcome) -> None:
        masked = outcome.result.get("bank_card_masked", "")
        receipt = self._receipt("变更贷款还款账户", serial=outcome.client_id.replace("-", "")[:20].upper(),
                                status_line=outcome.status_line,
                                fields=[("借款合同号", self.loan["contract_no"]), ("新还款银行卡", masked)],
                                notes=["下一还款日起从新账户扣款"], client_id=outcome.client_id)
        self.fields = self.fields[:2] + [("新还款银行卡", masked), ("办理结果", outcome.status_line)]
        self._print_receipt(receipt)
