"""One customer's visit, and the terminal-wide state the screens show (no Qt).

Session rules:
- idle timeout with a warning first (settings.session.warning_s, at least 20 s), a visible countdown, a
  spoken warning and one-tap extend (up to settings.session.max_extensions times);
- it ends on finish, cancel, idle timeout or removal of the bank card it used; then every personal datum
  is wiped from the flows and the session, and screens are told to clear themselves (event session_ended);
- at the end, a card left in a reader or a receipt left in the printer is announced until taken.

The Terminal is what screens talk to. It emits named events (EventBus); the GUI bridge delivers them as
on_event_<name>(**kw) calls on the Qt thread. Time comes from an injectable clock and advances through
tick(), which the GUI calls every second and tests call with a fake clock."""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from config import Settings
from kiosk.flows.base import Flow, FlowMessage
from kiosk.flows.home import LOCAL_CATALOG, Tile, tiles
from kiosk.flows.identification import IdentificationFlow, IdStep
from kiosk.flows.ports import Devices, IdentityCenterPort, Slip
from kiosk.flows.tasks import Tasks
from kiosk.voice import MuteVoice, Voice
from sync.protocol import Catalog

log = logging.getLogger(__name__)

EventListener = Callable[[str, dict], None]


class EventBus:
    """Named events with keyword payloads; listeners are called on the emitting thread."""

    def __init__(self):
        self._listeners: list[EventListener] = []

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, name: str, **payload: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(name, payload)
            except Exception:
                log.exception("event listener failed for %s", name)


MSG_IDLE_WARNING = FlowMessage("IDLE_WARNING", "您长时间未操作，{s} 秒后将退出，如需继续请点击“继续办理”",
                               "No activity: the session ends in {s} seconds. Tap Continue to keep going")
MSG_EXTEND_LIMIT = FlowMessage("EXTEND_LIMIT", "已达最长办理时间，请联系工作人员",
                               "maximum number of extensions reached")
MSG_STAFF = FlowMessage("STAFF_CALLED", "已通知工作人员，请稍候", "Staff have been called, please wait")
MSG_TIMEOUT = FlowMessage("SESSION_TIMEOUT", "长时间未操作，已为您安全退出", "Session ended after inactivity")
MSG_CARD_REMOVED = FlowMessage("SESSION_CARD_REMOVED", "银行卡已取出，本次办理结束", "Bank card removed; session ended")
REMINDERS = {
    "idcard": FlowMessage("REMIND_ID_CARD", "请取走您的身份证", "Please take your ID card"),
    "cardreader": FlowMessage("REMIND_BANK_CARD", "请取走您的银行卡", "Please take your bank card"),
    "printer": FlowMessage("REMIND_RECEIPT", "请取走您的凭条", "Please take your receipt"),
}
REMINDER_REPEAT_S = 10
GUIDANCE_GAP_S = 2.5
STARTING = ("正在启动，请稍候", "Starting, please wait")
PRINT_FAILED = FlowMessage("PRINT_FAILED", "凭条打印失败，请联系工作人员补打", "slip could not be printed")


class IdleTimer:
    def __init__(self, idle_timeout_s: int, warning_s: int, max_extensions: int, clock: Callable[[], float]):
        self.timeout = idle_timeout_s
        self.warning_s = warning_s
        self.max_extensions = max_extensions
        self.clock = clock
        self.last = clock()
        self.extensions = 0
        self.warning = False

    def touch(self) -> None:
        if not self.warning:            # during the warning only the one-tap extend counts
            self.last = self.clock()

    def extend(self) -> bool:
        if self.extensions >= self.max_extensions:
            return False
        self.extensions += 1
        self.last = self.clock()
        self.warning = False
        return True

    def remaining(self) -> int:
        return max(0, int(round(self.timeout - (self.clock() - self.last))))

    @property
    def can_extend(self) -> bool:
        return self.extensions < self.max_extensions


@dataclass
class Session:
    """One customer's visit. Everything personal hangs off `flows` and `data`, both wiped at the end."""
    id: str
    item: Tile
    started: float
    flows: list[Flow] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    ended: Optional[str] = None
    used_bank_card: bool = False

    @property
    def identification(self) -> Optional[IdentificationFlow]:
        return next((f for f in self.flows if isinstance(f, IdentificationFlow)), None)

    @property
    def service(self) -> Optional[Flow]:
        """The resident service flow opened after identification (kiosk.flows.services), if any."""
        return next((f for f in self.flows if not isinstance(f, IdentificationFlow)), None)

    def wipe(self) -> None:
        for flow in self.flows:
            flow.wipe()
        self.flows.clear()
        self.data.clear()


class Terminal:
    """The kiosk core the screens drive: catalog, network state, language/care mode, the current session."""

    def __init__(self, settings: Settings, devices: Devices, center: IdentityCenterPort, tasks: Tasks,
                 voice: Optional[Voice] = None, clock: Callable[[], float] = time.monotonic,
                 audit: Optional[Callable[..., None]] = None, catalog: Optional[Catalog] = None,
                 starting: bool = False):
        self.settings = settings
        self.devices = devices
        self.center = center
        self.tasks = tasks
        self.voice = voice or MuteVoice()
        self.clock = clock
        self.audit = audit or (lambda event, **fields: log.info("audit %s %s", event, fields))
        self.events = EventBus()
        self.catalog: Catalog = catalog or LOCAL_CATALOG
        self.online = False
        self.queued = 0
        self.language = settings.ui.language
        self.care_mode = settings.ui.care_mode
        self.session: Optional[Session] = None
        self.idle: Optional[IdleTimer] = None
        self.pending_reminders: list[str] = []
        self._last_reminder = 0.0
        self.closers: list[Callable[[], None]] = []
        self.starting = starting          # devices and center still being connected (home shows, tiles wait)
        self.services = None              # kiosk.flows.services ServiceContext, set by the composition root
        self._last_guidance = float("-inf")

    def attach(self, devices: Devices, center: IdentityCenterPort, audit: Optional[Callable[..., None]] = None,
               closers: Optional[list] = None) -> None:
        """The composition root finished connecting devices and the center (on a worker): go live."""
        self.devices = devices
        self.center = center
        if audit is not None:
            self.audit = audit
        self.closers.extend(closers or [])
        self.starting = False
        log.info("terminal ready: devices and center attached")
        self.events.emit("ready")

    # --- terminal state ---------------------------------------------------------------------------------
    def tiles(self) -> list[Tile]:
        out = tiles(self.catalog, self.settings.terminal.role.value, self.online)
        if self.starting:
            out = [replace(t, available=False, note_zh=STARTING[0], note_en=STARTING[1]) for t in out]
        return out

    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.events.emit("catalog", catalog=catalog)

    def set_network(self, online: bool, queued: Optional[int] = None) -> None:
        changed = online != self.online or (queued is not None and queued != self.queued)
        self.online = online
        if queued is not None:
            self.queued = queued
        if changed:
            log.info("network: %s, %d queued", "online" if online else "offline", self.queued)
            self.events.emit("network", online=online, queued=self.queued)

    def set_language(self, language: str) -> None:
        if language not in ("zh_CN", "en"):
            raise ValueError(f"unsupported language {language!r}")
        self.language = language
        self.touch()
        self.events.emit("language", language=language)

    def set_care_mode(self, on: bool) -> None:
        self.care_mode = bool(on)
        self.touch()
        self.events.emit("care_mode", on=self.care_mode)

    def say(self, message: FlowMessage) -> None:
        self.voice.say(message.text(self.language), self.language)

    # --- staff help ----------------------------------------------------------------------------------------
    def call_staff(self, where: str) -> FlowMessage:
        """呼叫人工: alert staff (log + audit) and acknowledge on screen and by voice."""
        log.warning("staff help requested at terminal %s (screen %s)", self.settings.terminal.id, where)
        self.audit("staff_called", terminal=self.settings.terminal.id, screen=where,
                   session=self.session.id if self.session else "")
        self.say(MSG_STAFF)
        self.events.emit("staff_called", message=MSG_STAFF)
        return MSG_STAFF

    # --- sessions ----------------------------------------------------------------------------------------------
    def start_session(self, tile: Tile) -> Session:
        if self.session:
            self.end_session("replaced")
        if not tile.available:
            raise ValueError(f"item {tile.code} is not available now")
        if self.pending_reminders:                # a new customer is here: the old reminders are moot
            self.pending_reminders = []
            self.events.emit("reminders", messages=[])
        s = self.settings.session
        self.session = Session(id=str(uuid.uuid4()), item=tile, started=self.clock())
        self.idle = IdleTimer(s.idle_timeout_s, s.warning_s, s.max_extensions, self.clock)
        log.info("session %s started for item %s (level L%d)", self.session.id, tile.code, tile.identity_level)
        self.events.emit("session_started", session=self.session)
        return self.session

    def identify(self) -> IdentificationFlow:
        """The identification flow for the current session's item, created and started."""
        session = self.session
        if session is None:
            raise RuntimeError("no session")
        flow = IdentificationFlow(session.item.identity_level, self.devices, self.center, self.tasks,
                                  moves_money=session.item.moves_money,
                                  on_staff=lambda why: self.call_staff("identification"))
        session.flows.append(flow)
        flow.subscribe(self._flow_changed)
        flow.on_guidance(self._speak_guidance)
        self.events.emit("flow", flow=flow)
        flow.start()
        return flow

    def open_service(self, code: str) -> Flow:
        """The current session's service flow (kiosk.flows.services.registry), created with the identity the
        session's identification verified (none for L0 items), subscribed and started."""
        session = self.session
        if session is None or self.services is None:
            raise RuntimeError("no session or no service context")
        from kiosk.flows.ports import BankCard, IdentityDocument
        from kiosk.flows.services.base import VerifiedIdentity
        from kiosk.flows.services.registry import flow_for
        identity = None
        ident = session.identification
        if ident is not None and ident.state is IdStep.VERIFIED and ident.document is not None:
            doc, card = ident.document, ident.bank_card
            identity = VerifiedIdentity(
                IdentityDocument(**{k: getattr(doc, k) for k in ("name", "id_number", "gender", "birth", "address",
                                                                 "valid_to")}),
                ident.level, frozenset(ident.used),
                BankCard(card.pan, card.expiry, card.holder_name, card.holder_id) if card else None)
        flow = flow_for(code, self.services, identity)
        session.flows.append(flow)
        flow.subscribe(self._flow_changed)
        self.events.emit("flow", flow=flow)
        flow.start()
        return flow

    def _speak_guidance(self, message: FlowMessage) -> None:
        """Face guidance changes with every frame; speak it at most every GUIDANCE_GAP_S (the screen shows
        every change), except "good, checking now", which is always said."""
        now = self.clock()
        if message.code == "FACE_OK" or now - self._last_guidance >= GUIDANCE_GAP_S:
            self._last_guidance = now
            self.say(message)

    def _flow_changed(self, flow: Flow, old, new) -> None:
        if old != new or flow.message:
            self.touch()
            msg = flow.message or (flow.prompt() if hasattr(flow, "prompt") else None)
            if msg and (old != new or flow.message):
                self.say(msg)
        if isinstance(flow, IdentificationFlow) and "bank_card" in flow.used and self.session:
            self.session.used_bank_card = True
        self.events.emit("flow_changed", flow=flow, old=old, new=new)

    def touch(self) -> None:
        if self.idle:
            self.idle.touch()

    def extend(self) -> bool:
        if not self.idle:
            return False
        ok = self.idle.extend()
        if ok:
            log.info("session extended (%d of %d)", self.idle.extensions, self.idle.max_extensions)
            self.events.emit("idle_extended")
        else:
            self.say(MSG_EXTEND_LIMIT)
            self.events.emit("idle_extend_refused", message=MSG_EXTEND_LIMIT)
        return ok

    def finish_session(self) -> None:
        """The customer is done: print the slip (if identified) and end the session."""
        flow = self.session.identification if self.session else None
        if flow is not None and flow.state is IdStep.VERIFIED and flow.summary() and not self.session.service:
            self.print_slip(flow)         # a service flow prints its own receipt
        self.end_session("finished")

    def print_slip(self, flow: IdentificationFlow) -> None:
        printer, session = self.devices.printer, self.session
        summary = flow.summary()
        if printer is None or session is None or not summary:
            return
        slip = Slip(center_name=self.settings.terminal.center_name, terminal_id=self.settings.terminal.id,
                    item_zh=session.item.name_zh, masked_name=summary["name"], masked_id=summary["id_number"],
                    status_line="身份核验通过", serial_no=session.id.replace("-", "")[:16].upper())

        def failed(exc: BaseException) -> None:
            log.warning("slip not printed: %s", exc)
            self.events.emit("print_failed", message=PRINT_FAILED)
        self.tasks.run("print_slip", lambda t: printer.print_slip(slip, t),
                       lambda text: self.events.emit("printed", text=text), failed)

    def cancel_session(self) -> None:
        self.end_session("canceled")

    def end_session(self, reason: str) -> None:
        session, self.session = self.session, None
        self.idle = None
        if session is None:
            return
        for flow in session.flows:
            cancel = getattr(flow, "cancel", None)
            if cancel:
                cancel()
        session.ended = reason
        session.wipe()
        forget = getattr(self.voice, "forget", None)      # a muted voice keeps its prompts (masked phone...)
        if forget:
            forget()
        log.info("session %s ended (%s); personal data wiped", session.id, reason)
        self.audit("session_ended", session=session.id, item=session.item.code, reason=reason)
        if reason == "timeout":
            self.say(MSG_TIMEOUT)
        elif reason == "card_removed":
            self.say(MSG_CARD_REMOVED)
        self.events.emit("session_ended", reason=reason)
        self._check_left_behind(announce=True)

    # --- time ------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Called every second by the GUI timer (or by tests with a fake clock)."""
        if self.session and self.idle:
            self._tick_session()
        if self.session is None:
            self._check_left_behind(announce=bool(self.pending_reminders)
                                    and self.clock() - self._last_reminder >= REMINDER_REPEAT_S)

    def _tick_session(self) -> None:
        idle = self.idle
        left = idle.remaining()
        if left <= 0:
            log.info("session %s: idle timeout", self.session.id)
            self.end_session("timeout")
            return
        if left <= idle.warning_s:
            if not idle.warning:
                idle.warning = True
                self.say(_fmt(MSG_IDLE_WARNING, s=left))
                self.events.emit("idle_warning", remaining=left, can_extend=idle.can_extend)
            self.events.emit("idle_countdown", remaining=left)
        reader = self.devices.cardreader
        flow = self.session.identification if self.session else None
        if (self.session and self.session.used_bank_card and reader and flow
                and flow.state is IdStep.VERIFIED and not reader.card_present()):
            self.end_session("card_removed")

    def _check_left_behind(self, announce: bool) -> None:
        left = []
        for role in ("idcard", "cardreader", "printer"):
            port = getattr(self.devices, role)
            present = getattr(port, "paper_present" if role == "printer" else "card_present", None)
            try:
                if port is not None and present and present():
                    left.append(role)
            except Exception:
                log.exception("presence check failed for %s", role)
        if left != self.pending_reminders:
            self.pending_reminders = left
            self.events.emit("reminders", messages=[REMINDERS[r] for r in left])
            announce = announce or bool(left)
        if left and announce:
            self._last_reminder = self.clock()
            for role in left:
                self.say(REMINDERS[role])

    def close(self) -> None:
        self.end_session("shutdown")
        self.tasks.shutdown()
        self.voice.close()
        for closer in self.closers:
            try:
                closer()
            except Exception:
                log.exception("closing failed")


def _fmt(msg: FlowMessage, **kw: Any) -> FlowMessage:
    return FlowMessage(msg.code, msg.zh.format(**kw), msg.en.format(**kw))
