"""Identification at the level a service item requires (no Qt).

L0 nothing; L1 the ID card read by the reader; L2 L1 + a live face the center accepts (实人认证);
L3 L2 + one more factor: a bank-card check where money moves, else an SMS code to the registered phone.
Face is never the only route: no camera, or two refused faces, leads to a choice of ID card + SMS code,
ID card + HPF query password (on a scrambled pad) or staff help. Every wait can be canceled.

Drive it with start(); then the customer's actions (submit_sms, submit_password, choose_fallback, cancel);
device and center work runs on Tasks workers and lands back here through the Tasks post hook."""
from __future__ import annotations

import logging
import secrets
from enum import Enum
from typing import Any, Callable, Optional

from devices.base import CompletionCode, DeviceError
from kiosk.domain.masking import mask_id_number, mask_name
from kiosk.flows.base import Flow, FlowMessage
from kiosk.flows.ports import (BankCard, CenterOffline, Devices, FaceCapture, IdentityCenterPort,
                               IdentityDocument, PortError, QualityReport, SmsTicket)
from kiosk.flows.tasks import Task, Tasks

log = logging.getLogger(__name__)

MAX_FACE_FAILURES = 2
MAX_CODE_ATTEMPTS = 3
MAX_SMS_SENDS = 3
SMS_CODE_LENGTH = 6
PASSWORD_LENGTH = 6
FACE_CAPTURE_TIMEOUT_S = 60


class IdStep(Enum):
    START = "start"
    READ_ID = "read_id"                # place the ID card
    FACE = "face"                      # face capture, then the center's check
    FALLBACK = "fallback"              # choose another route
    SMS = "sms"                        # SMS code on the numeric pad
    PASSWORD = "password"              # HPF query password on a scrambled pad
    BANK_CARD = "bank_card"            # insert the bank card
    STAFF = "staff"                    # staff called, waiting
    VERIFIED = "verified"
    FAILED = "failed"
    CANCELED = "canceled"


S = IdStep
_WORK = frozenset({S.READ_ID, S.FACE, S.FALLBACK, S.SMS, S.PASSWORD, S.BANK_CARD, S.VERIFIED, S.FAILED, S.CANCELED})


class Fallback(str, Enum):
    ID_SMS = "id_sms"
    ID_PASSWORD = "id_password"
    STAFF = "staff"


def M(code: str, zh: str, en: str, log: str = "") -> FlowMessage:
    return FlowMessage(code, zh, en, log)


def refused(code: str, zh: str, detail: str) -> FlowMessage:
    """A refusal from the center or a device: its Chinese text, a plain English one, the detail for the log."""
    en = _EN_BY_CODE.get(code, f"Request not accepted ({code}). Please call staff")
    return FlowMessage(code, zh or en, en, detail)


_EN_BY_CODE = {
    "PERSON_NOT_FOUND": "No fund account was found for you. Please ask at the counter",
    "METHOD_UNAVAILABLE": "This way of checking is not available. Please choose another",
    "PASSWORD_NOT_SET": "You have not set a query password. Please choose another way",
    "PASSWORD_LOCKED": "Too many wrong passwords. Please choose another way or call staff",
    "SMS_TOO_FREQUENT": "A code was sent a moment ago. Please use that code or wait a minute",
    "SMS_DAILY_LIMIT": "No more codes today. Please call staff",
    "SMS_CODE_EXPIRED": "The code has expired. Please send a new one",
    "SMS_CODE_LOCKED": "Too many wrong codes. Please send a new one",
    "PHONE_NOT_REGISTERED": "No phone number is registered for you. Please ask at the counter",
    "FACE_NOT_FOUND": "No face found. Please face the camera",
    "FACE_MULTIPLE": "More than one face. Please make sure only you are in front of the camera",
    "FACE_TOO_SMALL": "Please come closer to the camera",
    "FACE_IMAGE_INVALID": "The photo could not be used. Please try again",
}


# What each step says (screen headline + voice), and the messages a user can meet.
PROMPTS = {
    S.READ_ID: M("PROMPT_ID", "请将身份证放在读卡区", "Please place your ID card on the reader"),
    S.FACE: M("PROMPT_FACE", "请正对摄像头，保持面部在框内", "Please face the camera and keep your face inside the oval"),
    S.FALLBACK: M("PROMPT_FALLBACK", "请选择其他核验方式", "Please choose another way to verify"),
    S.SMS: M("PROMPT_SMS", "请输入短信验证码", "Please enter the SMS code"),
    S.PASSWORD: M("PROMPT_PASSWORD", "请输入公积金查询密码", "Please enter your HPF query password"),
    S.BANK_CARD: M("PROMPT_BANK_CARD", "请插入本人银行卡", "Please insert your bank card"),
    S.STAFF: M("PROMPT_STAFF", "已通知工作人员，请稍候", "Staff have been called, please wait"),
    S.VERIFIED: M("PROMPT_VERIFIED", "身份核验通过", "Identity verified"),
    S.FAILED: M("PROMPT_FAILED", "身份核验未通过", "Identity not verified"),
    S.CANCELED: M("PROMPT_CANCELED", "已取消", "Canceled"),
}

FACE_HINTS = {
    "no_face": M("FACE_NO_FACE", "未检测到人脸，请正对摄像头", "No face found, please face the camera"),
    "too_far": M("FACE_TOO_FAR", "请靠近一些", "Please come a little closer"),
    "too_close": M("FACE_TOO_CLOSE", "请稍微后退", "Please move back a little"),
    "off_center": M("FACE_OFF_CENTER", "请将面部移到框中央", "Please move your face to the centre of the oval"),
    "blurry": M("FACE_BLURRY", "请保持不动", "Please hold still"),
    "hold_still": M("FACE_HOLD_STILL", "请保持不动", "Please hold still"),
    "too_dark": M("FACE_TOO_DARK", "光线太暗，请正对屏幕", "Too dark, please face the screen"),
    "too_bright": M("FACE_TOO_BRIGHT", "光线太强，请调整位置", "Too bright, please move a little"),
    "multiple_faces": M("FACE_MULTIPLE", "请确保只有本人在框内", "Please make sure only you are in the oval"),
    "ok": M("FACE_OK", "很好，正在核验", "Good, checking now"),
}

ID_READ_RETRY = M("ID_READ_RETRY", "读取身份证失败，请重新放置", "ID card read failed, please place it again")
ID_READER_DOWN = M("ID_READER_UNAVAILABLE", "身份证阅读器暂不可用，请呼叫工作人员",
                   "The ID card reader is not available. Please call staff", "ID card reader unavailable")
CAMERA_DOWN = M("CAMERA_UNAVAILABLE", "摄像头暂不可用，请选择其他核验方式",
                "The camera is not available. Please choose another way to verify",
                "camera unavailable; offering fallback")
FACE_REJECTED = M("FACE_REJECTED", "人脸核验未通过，请正对摄像头再试一次",
                  "Face check not passed. Please face the camera and try again",
                  "face check refused by the center; retrying")
FACE_TWICE = M("FACE_FAILED_TWICE", "人脸核验两次未通过，请选择其他核验方式",
               "Face check failed twice. Please choose another way to verify",
               "face check failed twice; offering fallback")
FACE_NOT_CAPTURED = M("FACE_NOT_CAPTURED", "未能采集到清晰的人脸，请再试一次", "No clear face was captured. Please try again",
                      "no face passed the quality gates in time")
CARD_READER_DOWN = M("CARD_READER_UNAVAILABLE", "银行卡读卡器暂不可用，请呼叫工作人员",
                     "The card reader is not available. Please call staff", "bank card reader unavailable")
CARD_PULLED = M("CARD_PULLED", "银行卡被拔出，请重新插入", "The card was pulled out. Please insert it again",
                "bank card removed during the read")
CARD_READ_RETRY = M("CARD_READ_RETRY", "读取银行卡失败，请重新插入", "The card could not be read. Please insert it again",
                    "bank card read failed")
CARD_MISMATCH = M("CARD_MISMATCH", "银行卡与身份信息不符，请使用本人银行卡", "This card is not yours. Please use your own card",
                  "bank card does not match the person")
SMS_SENT = M("SMS_SENT", "验证码已发送至 {phone}", "Code sent to {phone}")
SMS_WRONG = M("SMS_WRONG", "验证码错误，还可输入 {left} 次", "Wrong code, {left} attempts left")
SMS_LOCKED = M("SMS_LOCKED", "验证码错误次数过多，请呼叫工作人员", "Too many wrong codes. Please call staff",
               "too many wrong SMS codes")
SMS_FORMAT = M("SMS_FORMAT", "请输入6位数字验证码", "Please enter the 6-digit code")
SMS_RESEND_LIMIT = M("SMS_RESEND_LIMIT", "发送次数已达上限，请呼叫工作人员", "No more codes can be sent. Please call staff",
                     "SMS send limit reached")
PASSWORD_WRONG = M("PASSWORD_WRONG", "密码错误，还可输入 {left} 次", "Wrong password, {left} attempts left")
PASSWORD_LOCKED = M("PASSWORD_LOCKED", "密码错误次数过多，请呼叫工作人员", "Too many wrong passwords. Please call staff",
                    "too many wrong passwords")
PASSWORD_FORMAT = M("PASSWORD_FORMAT", "请输入6位数字密码", "Please enter the 6-digit password")
OFFLINE = M("CENTER_OFFLINE", "网络中断，暂时无法核验身份，请稍后再试",
            "The network is down, so your identity cannot be checked now. Please try later",
            "center offline; identity check impossible")


def fmt(msg: FlowMessage, **kw: Any) -> FlowMessage:
    return FlowMessage(msg.code, msg.zh.format(**kw), msg.en.format(**kw), msg.log.format(**kw))


class IdentificationFlow(Flow):
    name = "identification"
    INITIAL = S.START
    TRANSITIONS = {
        S.START: _WORK,
        S.READ_ID: _WORK,
        S.FACE: _WORK,
        S.FALLBACK: frozenset({S.SMS, S.PASSWORD, S.STAFF, S.FAILED, S.CANCELED}),
        S.SMS: _WORK,
        S.PASSWORD: _WORK,
        S.BANK_CARD: _WORK,
        S.STAFF: frozenset({S.FALLBACK, S.CANCELED}),
        S.VERIFIED: frozenset(),
        S.FAILED: frozenset(),
        S.CANCELED: frozenset(),
    }

    def __init__(self, level: int, devices: Devices, center: IdentityCenterPort, tasks: Tasks,
                 moves_money: bool = False, on_staff: Optional[Callable[[str], None]] = None):
        super().__init__()
        if level not in (0, 1, 2, 3):
            raise ValueError(f"identity level must be 0..3, not {level!r}")
        self.level = level
        self.moves_money = moves_money
        self.devices = devices
        self.center = center
        self.tasks = tasks
        self.on_staff = on_staff
        # progress
        self.busy: str = ""                     # what is running now ("read_id", "face_check", ...) for the screen
        self.document: Optional[IdentityDocument] = None
        self.bank_card: Optional[BankCard] = None
        self.sms_ticket: Optional[SmsTicket] = None
        self.used: set[str] = set()             # factors satisfied: id, face, sms, password, bank_card
        self.face_failures = 0
        self.fallback_reached = False
        self.code_attempts_left = MAX_CODE_ATTEMPTS
        self.sms_sends = 0
        self.guidance: Optional[FlowMessage] = None   # last face hint
        self.pad_layout: list[str] = []               # scrambled digits for the password pad
        self._task: Optional[Task] = None
        self._frame_listeners: list[Callable[[Any, QualityReport], None]] = []
        self._guidance_listeners: list[Callable[[FlowMessage], None]] = []

    # --- public: what screens and tests call -----------------------------------------------------------
    def start(self) -> None:
        self._advance()

    @property
    def waiting_for_customer(self) -> bool:
        """True when nothing runs but a wait for the customer (card, face): the step is settled."""
        return self.busy in ("", "read_id", "read_card", "face_capture")

    def prompt(self) -> Optional[FlowMessage]:
        return PROMPTS.get(self.state)

    def on_frame(self, fn: Callable[[Any, QualityReport], None]) -> None:
        self._frame_listeners.append(fn)

    def on_guidance(self, fn: Callable[[FlowMessage], None]) -> None:
        self._guidance_listeners.append(fn)

    @property
    def fallback_options(self) -> list[Fallback]:
        return [Fallback.ID_SMS, Fallback.ID_PASSWORD, Fallback.STAFF]

    def choose_fallback(self, option: Fallback | str) -> None:
        option = Fallback(option)
        if self.state not in (S.FALLBACK, S.STAFF):
            return
        if option is Fallback.STAFF:
            if self.on_staff:
                self.on_staff("identification fallback: customer asked for staff")
            self._go(S.STAFF)
            return
        if self.state is S.STAFF:
            self._go(S.FALLBACK)
        self._enter(S.SMS if option is Fallback.ID_SMS else S.PASSWORD)

    def back(self) -> bool:
        """One step back where that makes sense (a fallback route back to the choice); False otherwise."""
        if self.state is S.STAFF or (self.state in (S.SMS, S.PASSWORD) and self.fallback_reached
                                     and not ({"face", "sms", "password"} & self.used)):
            self._stop_task()
            self._go(S.FALLBACK)
            return True
        return False

    def submit_sms(self, code: str) -> None:
        if self.state is not S.SMS or self.busy or not self.sms_ticket:
            return
        if not (code.isdigit() and len(code) == SMS_CODE_LENGTH):
            self._notice(SMS_FORMAT)
            return
        doc, ticket = self.document, self.sms_ticket
        self._run("sms_check", lambda t: self.center.verify_sms_code(doc, ticket, code, t), self._sms_checked)

    def resend_sms(self) -> None:
        if self.state is S.SMS and not self.busy:
            self._send_sms()

    def submit_password(self, password: str) -> None:
        if self.state is not S.PASSWORD or self.busy:
            return
        if not (password.isdigit() and len(password) == PASSWORD_LENGTH):
            self._notice(PASSWORD_FORMAT)
            return
        doc = self.document
        self._run("password_check", lambda t: self.center.verify_query_password(doc, password, t),
                  self._password_checked)

    def cancel(self) -> None:
        """The customer pressed cancel (or the session ended): stop any wait, end as CANCELED."""
        self._stop_task()
        if not self.finished:
            self._go(S.CANCELED)

    def wipe(self) -> None:
        self._stop_task()
        if self.document:
            self.document.wipe()
        if self.bank_card:
            self.bank_card.wipe()
        self.document = None
        self.bank_card = None
        self.sms_ticket = None
        self.guidance = None
        self.pad_layout = []
        self._frame_listeners.clear()
        self._guidance_listeners.clear()
        super().wipe()

    def summary(self) -> dict[str, str]:
        """Masked facts for the screen and the receipt."""
        if not self.document:
            return {}
        return {"name": mask_name(self.document.name), "id_number": mask_id_number(self.document.id_number),
                "factors": ",".join(sorted(self.used))}

    # --- routing ------------------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Go to the next step the level still needs."""
        if self.level == 0:
            return self._go(S.VERIFIED)
        if "id" not in self.used:
            return self._enter(S.READ_ID)
        if self.level >= 2 and not ({"face", "sms", "password"} & self.used):
            return self._enter(S.FACE)
        if self.level >= 3 and not self._second_factor_done():
            order = ["bank_card", "sms"] if self.moves_money else ["sms", "bank_card"]
            nxt = next(f for f in order if f not in self.used)
            return self._enter(S.BANK_CARD if nxt == "bank_card" else S.SMS)
        self._go(S.VERIFIED)

    def _second_factor_done(self) -> bool:
        # At L3 one factor beyond L2 is needed: if L2 came from face, any of sms/bank_card; if L2 came
        # from a fallback (sms or password), a different one of sms/bank_card.
        extra = self.used & {"sms", "bank_card"}
        l2 = self.used & {"face", "password"}
        return len(extra) >= (1 if l2 else 2)

    def _enter(self, step: IdStep, message: Optional[FlowMessage] = None) -> None:
        self._stop_task()
        if step in (S.SMS, S.PASSWORD):
            self.code_attempts_left = MAX_CODE_ATTEMPTS
        if step is S.PASSWORD:
            self._scramble()                      # before announcing the step, so the pad shows it at once
        self._go(step, message)
        if step is S.READ_ID:
            self._read_id()
        elif step is S.FACE:
            self._capture_face()
        elif step is S.SMS:
            self._send_sms()
        elif step is S.BANK_CARD:
            self._read_bank_card()

    def _fail(self, message: FlowMessage) -> None:
        self._stop_task()
        self._go(S.FAILED, message)

    def _notice(self, message: FlowMessage) -> None:
        """Same step, new message (re-announced to listeners)."""
        if self.state in self.TRANSITIONS[self.state]:
            self._go(self.state, message)

    # --- work on workers ------------------------------------------------------------------------------
    def _run(self, what: str, fn: Callable, on_done: Callable[[Any], None], timeout: float = 0) -> None:
        self.busy = what
        guard = self._current()

        def done(result: Any) -> None:
            self.busy = ""
            self._task = None
            on_done(result)

        def error(exc: BaseException) -> None:
            self.busy = ""
            self._task = None
            self._on_error(what, exc)

        self._task = self.tasks.run(what, fn, guard(done), guard(error), timeout=timeout)
        self._notify_busy()

    def _notify_busy(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self, self.state, self.state)
            except Exception:
                log.exception("listener failed")

    def _stop_task(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
        self.busy = ""

    def _on_error(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, CenterOffline):
            return self._fail(OFFLINE)
        if isinstance(exc, DeviceError):
            c = exc.completion
            log.warning("identification: %s failed: %s %s %s", what, c.code.value, c.error_code, c.description)
            if what == "read_id":
                if c.code in (CompletionCode.USER_ERROR, CompletionCode.INVALID_DATA, CompletionCode.TIMEOUT):
                    return self._enter(S.READ_ID, ID_READ_RETRY)
                return self._fail(ID_READER_DOWN)
            if what == "read_card":
                if c.error_code in ("CARD_REMOVED", "CARD_PULLED"):
                    return self._enter(S.BANK_CARD, CARD_PULLED)
                if c.code in (CompletionCode.USER_ERROR, CompletionCode.INVALID_DATA, CompletionCode.TIMEOUT):
                    return self._enter(S.BANK_CARD, CARD_READ_RETRY)
                return self._fail(CARD_READER_DOWN)
            if what == "face_capture":
                if c.code is CompletionCode.TIMEOUT:
                    return self._face_failed(FACE_NOT_CAPTURED)
                return self._to_fallback(CAMERA_DOWN)
            return self._fail(refused(c.error_code or c.code.value, c.message, c.description))
        if isinstance(exc, PortError):
            log.warning("identification: %s refused: %s %s", what, exc.code, exc)
            msg = refused(exc.code, exc.message_zh, str(exc))
            if what == "face_check" and exc.code.startswith("FACE_"):
                return self._face_failed(msg)          # unusable image (no face, too small): counts as a try
            if what == "password_check" and exc.code in ("METHOD_UNAVAILABLE", "PASSWORD_NOT_SET",
                                                          "PASSWORD_LOCKED"):
                self.fallback_reached = True
                return self._go(S.FALLBACK, msg)
            if what == "card_check" and exc.code == "METHOD_UNAVAILABLE" and "sms" not in self.used:
                return self._enter(S.SMS, msg)
            if what == "sms_send" and self.sms_ticket:
                return self._notice(msg)               # e.g. too frequent: the code already sent still works
            if what == "sms_send" and exc.code == "SMS_LIMIT":
                return self._fail(SMS_RESEND_LIMIT)
            return self._fail(msg)
        log.error("identification: %s failed unexpectedly: %s: %s", what, type(exc).__name__, exc)
        self._fail(M("INTERNAL_ERROR", "系统内部错误，请呼叫工作人员", "Something went wrong. Please call staff",
                     f"{what}: {type(exc).__name__}"))

    # --- ID card ----------------------------------------------------------------------------------------
    def _read_id(self) -> None:
        port = self.devices.idcard
        if port is None or not port.usable().ok:
            why = "not configured" if port is None else port.usable().missing
            log.warning("identification: ID card reader unavailable: %s", why)
            return self._fail(ID_READER_DOWN)
        self._run("read_id", port.read, self._id_read)

    def _id_read(self, doc: IdentityDocument) -> None:
        self.document = doc
        self.used.add("id")
        log.info("identification: ID card read (%s)", mask_id_number(doc.id_number))
        self._advance()

    # --- face -------------------------------------------------------------------------------------------
    def _capture_face(self) -> None:
        cam = self.devices.camera
        if cam is None or not cam.usable().ok:
            log.warning("identification: camera unavailable: %s", "not configured" if cam is None else cam.usable().missing)
            return self._to_fallback(CAMERA_DOWN)
        post = self.tasks.post
        guard = self._current()

        def frame(image: Any, report: QualityReport) -> None:   # on the camera's thread
            post(lambda: guard(self._frame)(image, report))

        self.guidance = None
        self._run("face_capture", lambda t: cam.capture(t, frame), self._face_captured,
                  timeout=FACE_CAPTURE_TIMEOUT_S)

    def _frame(self, image: Any, report: QualityReport) -> None:
        for fn in list(self._frame_listeners):
            fn(image, report)
        hint = FACE_HINTS["ok" if report.passed else report.hint] if (report.passed or report.hint in FACE_HINTS) else None
        if hint and hint != self.guidance:
            self.guidance = hint
            for fn in list(self._guidance_listeners):
                fn(hint)

    def _face_captured(self, capture: FaceCapture) -> None:
        doc = self.document

        def check(token):
            try:
                return self.center.verify_face(doc, capture, token)
            finally:
                capture.jpeg = b""      # the face image is deleted after verification (GB/T 41819)
        self._run("face_check", check, self._face_checked)

    def _face_checked(self, verdict) -> None:
        if verdict.accepted:
            self.used.add("face")
            log.info("identification: face accepted by the center (score %.1f)", verdict.score)
            return self._advance()
        log.info("identification: face refused by the center (%s, score %.1f)", verdict.code, verdict.score)
        self._face_failed(FACE_REJECTED)

    def _face_failed(self, message: FlowMessage) -> None:
        self.face_failures += 1
        if self.face_failures >= MAX_FACE_FAILURES:
            return self._to_fallback(FACE_TWICE)
        self._enter(S.FACE, message)

    def _to_fallback(self, message: FlowMessage) -> None:
        self._stop_task()
        self.fallback_reached = True
        self._go(S.FALLBACK, message)

    # --- SMS ----------------------------------------------------------------------------------------------
    def _send_sms(self) -> None:
        if self.sms_sends >= MAX_SMS_SENDS:
            return self._fail(SMS_RESEND_LIMIT)
        self.sms_sends += 1
        doc = self.document
        self._run("sms_send", lambda t: self.center.send_sms_code(doc, t), self._sms_sent)

    def _sms_sent(self, ticket: SmsTicket) -> None:
        self.sms_ticket = ticket
        self._notice(fmt(SMS_SENT, phone=ticket.masked_phone))

    def _sms_checked(self, ok: bool) -> None:
        if ok:
            self.used.add("sms")
            self.sms_ticket = None
            return self._advance()
        self.code_attempts_left -= 1
        if self.code_attempts_left <= 0:
            return self._fail(SMS_LOCKED)
        self._notice(fmt(SMS_WRONG, left=self.code_attempts_left))

    # --- password -----------------------------------------------------------------------------------------
    def _scramble(self) -> None:
        digits = list("0123456789")
        secrets.SystemRandom().shuffle(digits)
        self.pad_layout = digits

    def _password_checked(self, ok: bool) -> None:
        if ok:
            self.used.add("password")
            return self._advance()
        self.code_attempts_left -= 1
        if self.code_attempts_left <= 0:
            return self._fail(PASSWORD_LOCKED)
        self._scramble()
        self._notice(fmt(PASSWORD_WRONG, left=self.code_attempts_left))

    # --- bank card ----------------------------------------------------------------------------------------
    def _read_bank_card(self) -> None:
        port = self.devices.cardreader
        if port is None or not port.usable().ok:
            return self._fail(CARD_READER_DOWN)
        self._run("read_card", port.read, self._card_read)

    def _card_read(self, card: BankCard) -> None:
        self.bank_card = card
        doc = self.document
        self._run("card_check", lambda t: self.center.verify_bank_card(doc, card, t), self._card_checked)

    def _card_checked(self, ok: bool) -> None:
        if ok:
            self.used.add("bank_card")
            return self._advance()
        if self.bank_card:
            self.bank_card.wipe()
        self.bank_card = None
        self._enter(S.BANK_CARD, CARD_MISMATCH)
