"""The common shape of every resident service flow (no Qt).

One state set for all items, so screens need one renderer:

    START -> IDENTIFY (an IdentificationFlow at the item's level, unless a verified identity was handed in)
          -> LOADING (the center is asked) -> SHOW (data) / INPUT (choices, figures) / READ_CARD (bank card)
          -> CONFIRM (amount in figures and in words) -> SUBMITTING (journal + center)
          -> PRINTING (A4 document and/or receipt) [-> PRINT_FAILED -> reprint / skip]
          -> DONE | REFUSED (the center's reason) | FAILED (device, network, offline policy) | CANCELED

`step` names the screen inside a state (e.g. INPUT/"reason", SHOW/"deposits"); `view()` is everything a screen
needs, as plain data with personal fields already masked. After DONE or REFUSED the resident may rate the
service (好差评): `evaluate(score)` sends it to the center, queued when offline.

Device, network and disk work runs on Tasks workers; results land back on the driving thread through the
Tasks post hook; a result for a state the flow has left is dropped (epoch guard)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

from devices.base import CompletionCode, DeviceError
from kiosk.domain.masking import mask_card, mask_id_number, mask_name
from kiosk.domain.money import chinese_uppercase, format_yuan
from kiosk.flows.base import Flow, FlowMessage
from kiosk.flows.identification import IdentificationFlow, IdStep
from kiosk.flows.ports import BankCard, CenterOffline, Devices, IdentityCenterPort, IdentityDocument, PortError
from kiosk.flows.services.desk import TransactionDesk, TxOutcome
from kiosk.flows.services.ports import A4PrinterPort, PrintFailed, ReceiptPrinterPort, ServicesPort
from kiosk.flows.tasks import Task, Tasks
from sync.policy import OfflineRefused
from sync.protocol import Catalog

log = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Svc(Enum):
    START = "start"
    IDENTIFY = "identify"
    LOADING = "loading"
    SHOW = "show"
    INPUT = "input"
    READ_CARD = "read_card"
    CONFIRM = "confirm"
    SUBMITTING = "submitting"
    PRINTING = "printing"
    PRINT_FAILED = "print_failed"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    CANCELED = "canceled"


FINAL = frozenset({Svc.DONE, Svc.REFUSED, Svc.FAILED, Svc.CANCELED})
_ANY = frozenset(set(Svc) - {Svc.START})


def M(code: str, zh: str, en: str) -> FlowMessage:
    return FlowMessage(code, zh, en)


OFFLINE = M("CENTER_OFFLINE", "网络中断，暂时无法连接公积金中心，请稍后再试", "center unreachable")
CARD_PROMPT = M("PROMPT_BANK_CARD", "请插入本人银行卡", "Please insert your own bank card")
CARD_PULLED = M("CARD_PULLED", "银行卡被拔出，请重新插入", "bank card removed during the read")
CARD_READ_RETRY = M("CARD_READ_RETRY", "读取银行卡失败，请重新插入", "bank card read failed")
CARD_TIMEOUT = M("CARD_TIMEOUT", "等待插卡超时，本次办理已结束", "no bank card inserted in time")
CARD_READER_DOWN = M("CARD_READER_UNAVAILABLE", "银行卡读卡器暂不可用，请到柜台办理", "bank card reader unavailable")
CARD_MISMATCH = M("CARD_MISMATCH", "该银行卡不是您本人的，请插入本人银行卡", "bank card holder differs from the applicant")
CARD_UNVERIFIABLE = M("CARD_UNVERIFIABLE", "无法确认该银行卡为本人所有，请插入本人芯片银行卡",
                      "bank card carries no holder data and no other check is available")
PRINTING_MSG = M("PRINTING", "正在打印，请稍候", "Printing")
PRINT_FAILED_MSG = M("PRINT_FAILED", "打印失败：{why}。处理后可点击“补打”", "print failed: {why}")
PRINTER_DOWN = M("PRINTER_UNAVAILABLE", "凭条打印机暂不可用，业务已办理，可凭流水号查询",
                 "receipt printer unavailable; item done without a receipt")
A4_DOWN = M("A4_PRINTER_UNAVAILABLE", "A4打印机暂不可用，请到柜台打印", "A4 printer unavailable")
DONE_MSG = M("DONE", "办理完成，请取走凭条", "Done. Please take your receipt")
INTERNAL = M("INTERNAL_ERROR", "系统内部错误，请呼叫工作人员", "unexpected error")
EVAL_THANKS = M("EVAL_THANKS", "感谢您的评价", "Thank you for your feedback")
AMOUNT_FORMAT = M("AMOUNT_FORMAT", "请输入正确的金额", "invalid amount")

CARD_TIMEOUT_S = 60.0
EVALUATION_CHOICES = [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]


def fmt(msg: FlowMessage, **kw: Any) -> FlowMessage:
    return FlowMessage(msg.code, msg.zh.format(**kw), msg.en.format(**kw))


def as_int(value: Any) -> Optional[int]:
    """A choice or figure from the screen as an int, or None when it is not one (never raises)."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def amount_view(label: str, fen: int) -> dict:
    """An amount for the screen: figures and Chinese capital numerals (confirmation, receipts)."""
    return {"label": label, "fen": fen, "figures": format_yuan(fen), "words": chinese_uppercase(fen)}


@dataclass
class VerifiedIdentity:
    """Who the resident proved to be, and how. Personal: wiped with the flow."""
    document: IdentityDocument
    level: int
    factors: frozenset = frozenset()
    bank_card: Optional[BankCard] = None          # the card verified as the person's during identification

    def wipe(self) -> None:
        self.document.wipe()
        if self.bank_card:
            self.bank_card.wipe()


@dataclass
class ServiceContext:
    """Everything a service flow talks to (built once by the composition root or a test)."""
    center: ServicesPort
    desk: TransactionDesk
    tasks: Tasks
    devices: Devices
    identity_center: Optional[IdentityCenterPort] = None
    receipt_printer: Optional[ReceiptPrinterPort] = None
    a4_printer: Optional[A4PrinterPort] = None
    center_name: str = "住房公积金管理中心"
    terminal_id: str = ""
    catalog: Callable[[], Optional[Catalog]] = lambda: None
    verify_url: str = "https://gjj.example.gov.cn/verify"
    today: Callable[[], date] = lambda: datetime.now(LOCAL_TZ).date()
    card_timeout_s: float = CARD_TIMEOUT_S
    on_staff: Optional[Callable[[str], None]] = None

    @property
    def online(self) -> bool:
        return self.desk.online()


class ServiceFlow(Flow):
    """Base of every service flow. Subclasses set `code`, `title_zh/en`, `level`, and implement `_begin()`."""

    name = "service"
    code = "service"
    title_zh = "业务办理"
    title_en = "Service"
    level = 2
    moves_money = False
    INITIAL = Svc.START
    TRANSITIONS = {s: (frozenset() if s in FINAL else _ANY) for s in Svc}
    TRANSITIONS[Svc.START] = _ANY

    def __init__(self, ctx: ServiceContext, identity: Optional[VerifiedIdentity] = None):
        super().__init__()
        self.ctx = ctx
        self.identity = identity
        self.identification: Optional[IdentificationFlow] = None
        self.step = ""
        self.busy = ""
        self.fields: list[tuple[str, str]] = []
        self.table: Optional[dict] = None
        self.choices: list[dict] = []
        self.inputs: list[dict] = []
        self.amounts: list[dict] = []
        self.actions: list[str] = []
        self.notes: list[str] = []
        self.outcome: Optional[TxOutcome] = None
        self.receipt_text: list[str] = []
        self.print_job_id = ""
        self._print_target = ""
        self._after_print: Optional[Callable[[], None]] = None
        self.printed: list[str] = []                  # job ids printed (A4 and receipt)
        self.evaluation: str = ""                     # "" | sending | sent | queued | failed
        self.card: Optional[BankCard] = None
        self._on_card: Optional[Callable[[BankCard], None]] = None
        self._task: Optional[Task] = None
        self.mode = ""                                # online | queue | local, decided at start()

    # --- what screens and tests call -------------------------------------------------------------------
    def start(self) -> None:
        try:
            mode = self.ctx.desk.check(self.code)
        except OfflineRefused as exc:
            return self._go(Svc.FAILED, M(exc.code, exc.message_zh, exc.detail))
        self.mode = mode
        if self.level == 0 or (self.identity is not None and self.identity.level >= self.level):
            return self._begin()
        if self.ctx.identity_center is None:
            return self._go(Svc.FAILED, M("IDENTITY_UNAVAILABLE", "暂时无法核验身份，请到柜台办理",
                                          "no identity center configured"))
        flow = IdentificationFlow(self.level, self.ctx.devices, self.ctx.identity_center, self.ctx.tasks,
                                  moves_money=self.moves_money, on_staff=self.ctx.on_staff)
        self.identification = flow
        flow.subscribe(self._identification_changed)
        self._go(Svc.IDENTIFY)
        flow.start()

    def cancel(self) -> None:
        self._stop_task()
        if self.identification is not None and not self.identification.finished:
            self.identification.cancel()
        if not self.finished:
            self._go(Svc.CANCELED)

    def finish(self) -> None:
        """The resident is done looking (SHOW/INPUT items with nothing to submit)."""
        if self.state in (Svc.SHOW, Svc.INPUT, Svc.PRINT_FAILED):
            self._stop_task()
            self._go(Svc.DONE)

    def reprint(self) -> None:
        """After a failed print (paper out, cover open): print the same document again, marked as a copy."""
        if self.state is not Svc.PRINT_FAILED or not self.print_job_id:
            return
        printer = self.ctx.a4_printer if self._print_target == "a4" else self.ctx.receipt_printer
        job = self.print_job_id
        self.step = self._print_target
        self._go(Svc.PRINTING, PRINTING_MSG)
        self._run("reprint", lambda t: printer.reprint(job, t), self._printed)

    def skip_receipt(self) -> None:
        """Leave without the paper (it stays in the print journal for staff to reprint)."""
        if self.state is Svc.PRINT_FAILED:
            self._go(Svc.DONE, PRINTER_DOWN)

    def evaluate(self, score: int, comment: str = "") -> None:
        """好差评 after the item: sent to the center, queued when offline. Never blocks the resident."""
        score = as_int(score)
        if self.state not in (Svc.DONE, Svc.REFUSED) or self.evaluation or score is None or not 1 <= score <= 5:
            return
        self.evaluation = "sending"
        payload = {"item_code": self.code, "score": score, "comment": str(comment)[:200],
                   "outcome": self.state.value}

        def send(token):
            return self.ctx.desk.submit("evaluation", "evaluation", payload, token)

        def done(outcome: TxOutcome) -> None:
            self.evaluation = "queued" if outcome.queued else ("sent" if outcome.accepted else "failed")
            self._changed()

        def failed(exc: BaseException) -> None:
            log.warning("evaluation for %s not recorded: %s", self.code, exc)
            self.evaluation = "failed"
            self._changed()
        self.ctx.tasks.run("evaluation", send, done, failed)
        self._changed()

    def prompt(self) -> Optional[FlowMessage]:
        return None

    def view(self) -> dict:
        msg = self.message
        ident = None
        if self.identity is not None:
            d = self.identity.document
            ident = {"name": mask_name(d.name), "id_number": mask_id_number(d.id_number)}
        return {
            "item": self.code, "title": self.title_zh, "title_en": self.title_en, "level": self.level,
            "state": self.state.value, "step": self.step, "busy": self.busy,
            "message": None if msg is None else {"code": msg.code, "zh": msg.zh, "en": msg.en},
            "identity": ident,
            "identification": self._identification_view(),
            "fields": [{"label": k, "value": v} for k, v in self.fields],
            "table": self.table, "choices": list(self.choices), "inputs": list(self.inputs),
            "amounts": list(self.amounts), "actions": self._actions(), "notes": list(self.notes),
            "receipt": list(self.receipt_text),
            "outcome": None if self.outcome is None else {
                "client_id": self.outcome.client_id, "state": self.outcome.state, "status_line": self.outcome.status_line,
                "code": self.outcome.code, "message": self.outcome.message_zh},
            "evaluation": {"offered": self.state in (Svc.DONE, Svc.REFUSED) and not self.evaluation,
                           "status": self.evaluation,
                           "choices": [{"id": s, "label": l} for s, l in EVALUATION_CHOICES]},
        }

    def _identification_view(self) -> Optional[dict]:
        f = self.identification
        if f is None:
            return None
        prompt, msg = f.prompt(), f.message
        return {"step": f.state.value, "busy": f.busy, "prompt": prompt.zh if prompt else "",
                "message": None if msg is None else {"code": msg.code, "zh": msg.zh, "en": msg.en},
                "fallback_options": [o.value for o in f.fallback_options] if f.state is IdStep.FALLBACK else [],
                "pad_layout": list(f.pad_layout)}

    def _actions(self) -> list[str]:
        if self.state is Svc.PRINT_FAILED:
            return ["reprint", "skip_receipt"]
        if self.state in FINAL:
            return ["evaluate"] if self.state in (Svc.DONE, Svc.REFUSED) and not self.evaluation else []
        return list(self.actions) + ["cancel"]

    def wipe(self) -> None:
        self._stop_task()
        if self.identification is not None:
            self.identification.wipe()
        if self.identity is not None:
            self.identity.wipe()
        if self.card is not None:
            self.card.wipe()
        self.identity = None
        self.card = None
        self.fields, self.table, self.choices, self.inputs, self.amounts = [], None, [], [], []
        self.receipt_text = []
        self._wipe()
        super().wipe()

    def _wipe(self) -> None:
        """Subclasses forget their own personal data here."""

    # --- subclass hooks -------------------------------------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    @property
    def id_number(self) -> str:
        return self.identity.document.id_number if self.identity else ""

    # --- identification --------------------------------------------------------------------------------
    def _identification_changed(self, flow: IdentificationFlow, old, new) -> None:
        if self.state is not Svc.IDENTIFY:
            return
        if new is IdStep.VERIFIED and old is not IdStep.VERIFIED:
            doc = flow.document
            self.identity = VerifiedIdentity(IdentityDocument(**{k: getattr(doc, k) for k in (
                "name", "id_number", "gender", "birth", "address", "valid_to")}), self.level,
                frozenset(flow.used), BankCard(flow.bank_card.pan, flow.bank_card.expiry, flow.bank_card.holder_name,
                                               flow.bank_card.holder_id) if flow.bank_card else None)
            log.info("%s: identified at L%d (%s)", self.code, self.level, ",".join(sorted(flow.used)))
            self._begin()
        elif new is IdStep.FAILED:
            self._go(Svc.FAILED, flow.message)
        elif new is IdStep.CANCELED:
            self._go(Svc.CANCELED)
        else:
            self._changed()

    # --- plumbing ---------------------------------------------------------------------------------------
    def _changed(self) -> None:
        """Same state, new data: tell the listeners (screens re-render)."""
        for listener in list(self._listeners):
            try:
                listener(self, self.state, self.state)
            except Exception:
                log.exception("%s: listener failed", self.name)

    # --- choosing one of the resident's loans (shared by the loan items) -----------------------------
    def _offer_loans(self, loans: list[dict], none: FlowMessage) -> None:
        """Refuse with `none` when there is no loan, go straight on with a single one (choose_loan), else
        show them as choices."""
        from kiosk.flows.services.account import loans_table
        self.loans = loans
        if not loans:
            return self._go(Svc.REFUSED, none)
        if len(loans) == 1:
            return self.choose_loan(loans[0]["contract_no"])
        self.table = loans_table(loans)
        self.choices = [{"id": l["contract_no"], "label": l["contract_no"]} for l in loans]
        self._show(Svc.INPUT, "loan", M("PROMPT_LOAN", "请选择贷款", "Please choose the loan"), actions=["choose_loan"])

    def _pick_loan(self, contract_no: str) -> Optional[dict]:
        """The offered loan with that contract number (and clear the choice), or None after saying so."""
        loan = next((l for l in self.loans if l["contract_no"] == contract_no), None)
        if loan is None:
            self._go(self.state, M("LOAN_NOT_OFFERED", "请选择列表中的贷款", f"contract {contract_no} not offered"))
            return None
        self.loan = loan
        self.choices, self.table = [], None
        return loan

    def _show(self, state: Svc, step: str, message: Optional[FlowMessage] = None, *, actions=()) -> None:
        self.step = step
        self.actions = list(actions)
        self._go(state, message)

    def _run(self, what: str, fn: Callable, on_done: Callable[[Any], None],
             on_error: Optional[Callable[[BaseException], bool]] = None, timeout: float = 0) -> None:
        """fn(token) on a worker; on_done(result) back here. on_error may handle an error (return True)."""
        self.busy = what
        guard = self._current()

        def done(result: Any) -> None:
            self.busy = ""
            self._task = None
            on_done(result)

        def error(exc: BaseException) -> None:
            self.busy = ""
            self._task = None
            if on_error is not None and on_error(exc):
                return
            self._on_error(what, exc)

        self._task = self.ctx.tasks.run(f"{self.code}:{what}", fn, guard(done), guard(error), timeout=timeout)
        self._changed()

    def _stop_task(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
        self.busy = ""

    def _on_error(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, OfflineRefused):
            return self._go(Svc.FAILED, M(exc.code, exc.message_zh, exc.detail))
        if isinstance(exc, PrintFailed):
            self.print_job_id = exc.job_id
            log.warning("%s: %s print failed: %s %s", self.code, self._print_target, exc.code, exc)
            why = exc.message_zh.rstrip("。")
            msg = fmt(PRINT_FAILED_MSG, why=why)
            if "补打" in why:                   # the printer's words already say what to do next
                msg = M(msg.code, f"打印失败：{why}", msg.en)
            return self._go(Svc.PRINT_FAILED, msg)
        if isinstance(exc, CenterOffline):
            log.warning("%s: %s: center unreachable: %s", self.code, what, exc)
            return self._go(Svc.FAILED, OFFLINE)
        if isinstance(exc, PortError):
            log.info("%s: %s refused: %s %s", self.code, what, exc.code, exc)
            return self._go(Svc.REFUSED, M(exc.code, exc.message_zh, str(exc)))
        if isinstance(exc, DeviceError):
            c = exc.completion
            if c.code is CompletionCode.CANCELED:
                return
            log.warning("%s: %s failed: %s %s %s", self.code, what, c.code.value, c.error_code, c.description)
            if what == "read_card":
                if c.error_code in ("CARD_REMOVED", "CARD_PULLED"):
                    return self._read_card(self._on_card, CARD_PULLED)
                if c.code is CompletionCode.TIMEOUT:
                    return self._go(Svc.FAILED, CARD_TIMEOUT)
                if c.code in (CompletionCode.USER_ERROR, CompletionCode.INVALID_DATA):
                    return self._read_card(self._on_card, CARD_READ_RETRY)
                return self._go(Svc.FAILED, CARD_READER_DOWN)
            return self._go(Svc.FAILED, M(c.error_code or c.code.value, c.message, c.description))
        log.error("%s: %s failed unexpectedly: %s: %s", self.code, what, type(exc).__name__, exc)
        self._go(Svc.FAILED, M("INTERNAL_ERROR", INTERNAL.zh, f"{what}: {type(exc).__name__}: {exc}"))

    # --- bank card ------------------------------------------------------------------------------------
    def _read_card(self, on_card: Callable[[BankCard], None], message: Optional[FlowMessage] = None) -> None:
        """Ask for the resident's own bank card; on_card(card) once it is read and checked as theirs."""
        self._on_card = on_card
        port = self.ctx.devices.cardreader
        if port is None or not port.usable().ok:
            return self._go(Svc.FAILED, CARD_READER_DOWN)
        self._show(Svc.READ_CARD, "bank_card", message or CARD_PROMPT)
        self._run("read_card", port.read, self._card_read, timeout=self.ctx.card_timeout_s)

    def _card_read(self, card: BankCard) -> None:
        doc = self.identity.document
        if card.holder_id:
            if card.holder_id.upper() == doc.id_number.upper():
                return self._card_ok(card)
            log.info("%s: card holder %s is not the applicant", self.code, mask_id_number(card.holder_id))
            card.wipe()
            return self._read_card(self._on_card, CARD_MISMATCH)
        center = self.ctx.identity_center
        if center is None:
            card.wipe()
            return self._read_card(self._on_card, CARD_UNVERIFIABLE)

        def checked(ok: bool) -> None:
            if ok:
                return self._card_ok(card)
            card.wipe()
            self._read_card(self._on_card, CARD_MISMATCH)

        def refused(exc: BaseException) -> bool:
            if isinstance(exc, PortError) and not isinstance(exc, CenterOffline):
                card.wipe()
                self._read_card(self._on_card, CARD_UNVERIFIABLE)
                return True
            return False
        self._run("card_check", lambda t: center.verify_bank_card(doc, card, t), checked, refused)

    def _card_ok(self, card: BankCard) -> None:
        self.card = card
        log.info("%s: bank card %s confirmed as the applicant's", self.code, mask_card(card.pan))
        self._on_card(card)

    def _known_card(self) -> Optional[BankCard]:
        """The card the resident already proved as theirs during identification (L3, money items)."""
        if self.identity is not None and self.identity.bank_card is not None and self.identity.bank_card.pan:
            return self.identity.bank_card
        return None

    # --- transactions ---------------------------------------------------------------------------------
    def _submit(self, kind: str, payload: dict, on_outcome: Callable[[TxOutcome], None], *,
                amount_fen: Optional[int] = None, item_code: Optional[str] = None) -> None:
        self._show(Svc.SUBMITTING, "submit", M("SUBMITTING", "正在提交，请稍候", "Submitting"))
        code = item_code or self.code
        person = self.id_number or None

        def run(token):
            return self.ctx.desk.submit(code, kind, payload, token, amount_fen=amount_fen, person_key=person)

        def got(outcome: TxOutcome) -> None:
            self.outcome = outcome
            if outcome.state == "rejected":
                return self._go(Svc.REFUSED, M(outcome.code, outcome.message_zh or "公积金中心未受理该业务",
                                               f"center refused {kind}: {outcome.code}"))
            if outcome.state == "needs_review":
                return self._go(Svc.FAILED, M(outcome.code, "业务需工作人员核对，请联系工作人员",
                                              f"{kind} needs review: {outcome.code}"))
            on_outcome(outcome)
        self._run("submit", run, got)

    # --- printing ---------------------------------------------------------------------------------------
    def _receipt(self, item_zh: str, *, serial: str, status_line: str, fields=(), amounts=(), notes=(),
                 client_id: str = "", qr: str = ""):
        from kiosk.domain.masking import mask_text
        from printing.documents import AmountLine, Receipt
        doc = self.identity.document if self.identity else None
        fields = [(k, mask_text(str(v))) for k, v in fields]
        notes = [mask_text(n) for n in notes]
        return Receipt.create(name=doc.name if doc else "", id_number=doc.id_number if doc else "",
                              center_name=self.ctx.center_name, terminal_id=self.ctx.terminal_id,
                              issued_at=datetime.now(timezone.utc), serial_no=serial,
                              client_id=client_id or serial, item=item_zh, fields=tuple(fields),
                              amounts=tuple(AmountLine(l, f) for l, f in amounts), status_line=status_line,
                              qr_payload=qr, notes=tuple(notes))

    def _print_receipt(self, receipt, done_message: FlowMessage = DONE_MSG) -> None:
        self.receipt_text = [f"{k}：{v}" for k, v in (("业务", receipt.item), ("姓名", receipt.masked_name),
                                                       ("证件号码", receipt.masked_id), ("流水号", receipt.serial_no),
                                                       ("结果", receipt.status_line))]
        self.receipt_text += [f"{k}：{v}" for k, v in receipt.fields]
        self.receipt_text += [f"{a.label}：{format_yuan(a.fen)}（{chinese_uppercase(a.fen)}）" for a in receipt.amounts]
        printer = self.ctx.receipt_printer
        if printer is None or not printer.usable().ok:
            log.warning("%s: receipt printer unavailable; done without paper", self.code)
            return self._go(Svc.DONE, PRINTER_DOWN)
        self._print_target = "receipt"
        self._after_print = lambda: self._go(Svc.DONE, done_message)
        self._show(Svc.PRINTING, "receipt", PRINTING_MSG)
        self._run("print_receipt", lambda t: printer.print_receipt(receipt, t), self._printed)

    def _print_a4(self, document, then: Callable[[], None]) -> None:
        printer = self.ctx.a4_printer
        if printer is None or not printer.usable().ok:
            log.warning("%s: A4 printer unavailable", self.code)
            return self._go(Svc.FAILED, A4_DOWN)
        self._print_target = "a4"
        self._after_print = then
        self._show(Svc.PRINTING, "a4", PRINTING_MSG)
        self._run("print_a4", lambda t: printer.print_document(document, t), self._printed)

    def _printed(self, job_id: str) -> None:
        self.printed.append(job_id)
        self.print_job_id = ""
        after, self._after_print = self._after_print, None
        if after:
            after()
