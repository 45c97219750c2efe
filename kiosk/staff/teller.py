"""Teller mode (委托代办): a bank teller signs in against the center, every transaction is stamped with the
teller and the branch, and operations above the limits (or marked sensitive) need a supervisor who signs in
for that one action.

    mode = TellerMode(settings, StaffCenterClient.from_settings(settings), journal, audit)
    mode.sign_in("T0001", password)                    # center login, the center's lockout applies
    need = mode.authorization_needed("withdrawal", amount_fen)
    ok = mode.authorize("S0001", password, kind="withdrawal", amount_fen=amount_fen) if need else None
    outcome = mode.submit("withdrawal", payload, amount_fen=amount_fen, approval=ok, person_key=id_number)
    mode.check_idle()                                  # local sign-out after settings.teller.idle_signout_s

The resident service flows run for a customer at the counter through the same TransactionDesk: the desk calls
`mode.stamp(item, kind, amount_fen)` (teller, branch, terminal; the supervisor when one authorized it, see
`mode.approve_next`) before it journals, so every transaction carries the teller and the branch.

No Qt: screens render `mode.view()` and call these methods on a worker thread (they do network and disk I/O)."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Optional

from config.schema import Role
from kiosk.staff.errors import StaffError, from_center
from sync.client import CenterAuthError, CenterError, CenterUnavailable
from sync.journal import Journal, State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TellerLimits:
    """Counter limits. Above `supervisor_over_fen`, or for a kind in `sensitive_kinds`, a supervisor signs in
    for that one action. The commercial part of a combined loan is the bank's: its LPR and spread live here."""
    supervisor_over_fen: int = 5_000_000                      # ¥50,000.00
    sensitive_kinds: frozenset[str] = frozenset({"phone_change", "loan_prepayment", "transfer_in"})
    money_kinds: frozenset[str] = frozenset({"withdrawal", "deposit", "loan_prepayment"})   # amount limit applies
    approval_ttl_s: int = 300                                 # a supervisor's approval is for now, not for later
    lpr_1y: Decimal = Decimal("0.030")
    lpr_5y: Decimal = Decimal("0.035")
    spread_first_home_bp: int = -45
    spread_second_home_bp: int = -25

    @classmethod
    def from_settings(cls, settings) -> "TellerLimits":
        """The branch's limits from settings.teller (config/profiles/bank-teller.toml); the bank's rates stay."""
        t = getattr(settings, "teller", None)
        if t is None:
            return cls()
        return cls(supervisor_over_fen=int(t.supervisor_over_fen), sensitive_kinds=frozenset(t.sensitive_items))

    def commercial_rate(self, months: int, first_home: bool) -> Decimal:
        base = self.lpr_5y if months > 60 else self.lpr_1y
        spread = self.spread_first_home_bp if first_home else self.spread_second_home_bp
        return base + Decimal(spread) / 10000


@dataclass
class TellerSession:
    teller_id: str
    name: str
    role: str
    branch: str
    terminal_id: str
    token: str = field(repr=False)
    expires_at: str
    signed_in_at: float
    last_activity: float

    def view(self) -> dict:
        return {"teller_id": self.teller_id, "name": self.name, "role": self.role, "branch": self.branch,
                "terminal_id": self.terminal_id, "expires_at": self.expires_at}

    # persisted between CLI invocations (mode 0600); the token is the center's, valid for its TTL
    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(asdict(self)).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Optional["TellerSession"]:
        try:
            return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("teller session file %s unreadable (%s); treating as signed out", path, exc)
            return None


def session_file(settings) -> Path:
    return Path(settings.paths.data_dir) / "teller-session.json"


@dataclass
class SupervisorApproval:
    """One supervisor sign-in for one action (kind + amount). Used once."""
    supervisor_id: str
    name: str
    teller_id: str
    kind: str
    amount_fen: Optional[int]
    reason: str
    approved_at: str
    granted_at: float = 0.0          # the mode's clock, for the approval's time limit
    used: bool = False

    def view(self) -> dict:
        return {"supervisor_id": self.supervisor_id, "name": self.name, "kind": self.kind,
                "amount_fen": self.amount_fen, "reason": self.reason, "approved_at": self.approved_at}


@dataclass
class TellerOutcome:
    client_id: str
    state: str                 # accepted | rejected | queued | needs_review
    code: str
    message_zh: str
    teller_id: str
    branch: str
    supervisor_id: Optional[str] = None
    result: dict = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.state == "accepted"

    def view(self) -> dict:
        return asdict(self)


NOT_SIGNED_IN = ("TELLER_NOT_SIGNED_IN", "请先登录柜员号")


def _expired(expires_at: str) -> bool:
    """The center's token lifetime (real time, not the idle clock)."""
    try:
        end = datetime.fromisoformat(expires_at)
    except (TypeError, ValueError):
        return False
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc) >= end


class TellerMode:
    def __init__(self, settings, port, journal: Journal, audit, *, limits: TellerLimits | None = None,
                 clock: Callable[[], float] = time.time, catalog: Callable[[], object] | None = None):
        self.settings = settings
        self.port = port
        self.journal = journal
        self.audit = audit
        self.limits = limits or TellerLimits.from_settings(settings)
        self.clock = clock
        self.catalog = catalog or (lambda: None)     # the cached catalog (item switches) when there is one
        self.session: Optional[TellerSession] = None
        self.message: Optional[StaffError] = None
        self.pending: Optional[SupervisorApproval] = None     # for the next service-flow transaction (stamp)
        self._lock = threading.RLock()

    # --- sign-in / sign-out ------------------------------------------------------------------------

    @property
    def branch(self) -> str:
        return self.settings.terminal.branch

    def _check_terminal(self) -> None:
        role = Role(self.settings.terminal.role)
        if role is not Role.TELLER:
            raise StaffError("TELLER_MODE_OFF", "本终端不是银行柜面终端，不能进入柜员模式",
                             f"terminal.role is {role.value}, not teller")
        if not self.branch:
            raise StaffError("TELLER_NO_BRANCH", "本终端未设置所属网点，请联系技术人员",
                             "terminal.branch is empty; set it in the configuration")

    def _center_login(self, user_id: str, password: str, actor: str, action: str) -> dict:
        if not user_id or not password:
            raise StaffError("TELLER_INPUT_MISSING", "请输入柜员号和密码", "teller id or password empty")
        try:
            return self.port.teller_login(user_id, password)
        except CenterError as exc:
            err = from_center(exc)
            self.audit.append(actor, action, target=f"branch:{self.branch}", result=f"refused:{err.code}",
                              details={"terminal_id": self.settings.terminal.id})
            log.warning("%s for %s refused: %s %s", action, user_id, err.code, err.detail)
            raise err from None

    def sign_in(self, teller_id: str, password: str) -> TellerSession:
        with self._lock:
            self._check_terminal()
            if self.session is not None:
                self.sign_out("switch")
            data = self._center_login(teller_id.strip(), password, f"teller:{teller_id.strip()}", "teller.sign_in")
            now = self.clock()
            self.session = TellerSession(teller_id=data["teller_id"], name=data.get("name", ""),
                                         role=data.get("role", "teller"), branch=self.branch,
                                         terminal_id=self.settings.terminal.id, token=data["token"],
                                         expires_at=data.get("expires_at", ""), signed_in_at=now, last_activity=now)
            self.message = None
            self.audit.append(f"teller:{self.session.teller_id}", "teller.sign_in", target=f"branch:{self.branch}",
                              details={"terminal_id": self.settings.terminal.id})
            log.info("teller %s signed in at branch %s", self.session.teller_id, self.branch)
            return self.session

    def resume(self, session: TellerSession) -> None:
        """Take over a session saved by an earlier process (CLI); the idle rule still applies."""
        with self._lock:
            self.session = session
            self.check_idle()

    @property
    def idle_s(self) -> int:
        t = getattr(self.settings, "teller", None)
        return int(t.idle_signout_s) if t is not None else int(self.settings.session.idle_timeout_s)

    def sign_out(self, reason: str = "logout") -> None:
        with self._lock:
            s, self.session = self.session, None
            self.pending = None
            if s is None:
                return
            self.audit.append(f"teller:{s.teller_id}", "teller.sign_out", target=f"branch:{s.branch}",
                              details={"reason": reason})
            log.info("teller %s signed out (%s)", s.teller_id, reason)

    def touch(self) -> None:
        if self.session is not None:
            self.session.last_activity = self.clock()

    def check_idle(self) -> bool:
        """Signs the teller out locally after settings.teller.idle_signout_s without activity. True if so."""
        with self._lock:
            s = self.session
            if s is None:
                return False
            if self.clock() - s.last_activity >= self.idle_s:
                self.sign_out("idle")
                self.message = StaffError("TELLER_IDLE_SIGNED_OUT", "长时间未操作，已自动退出，请重新登录",
                                          "teller signed out after idle timeout")
                return True
            return False

    def current(self) -> TellerSession:
        if self.check_idle():
            raise self.message
        if self.session is None:
            raise StaffError(*NOT_SIGNED_IN, "no teller signed in")
        if _expired(self.session.expires_at):
            self.sign_out("expired")
            self.message = StaffError("TELLER_SESSION_EXPIRED", "柜员登录已到期，请重新登录",
                                      "the center's teller token has expired")
            raise self.message
        return self.session

    # --- supervisor authorization ------------------------------------------------------------------

    def authorization_needed(self, kind: str, amount_fen: Optional[int] = None, sensitive: bool = False) -> str:
        """'' when the teller may do it alone, else why a supervisor must authorize (shown on screen)."""
        if sensitive or kind in self.limits.sensitive_kinds:
            return "敏感业务须主管授权"
        if kind in self.limits.money_kinds and amount_fen is not None and amount_fen > self.limits.supervisor_over_fen:
            from kiosk.domain.money import format_yuan
            return f"金额超过{format_yuan(self.limits.supervisor_over_fen)}，须主管授权"
        return ""

    def authorize(self, supervisor_id: str, password: str, *, kind: str, amount_fen: Optional[int] = None,
                  sensitive: bool = False) -> SupervisorApproval:
        """The supervisor signs in at this counter for one action; the token is not kept."""
        with self._lock:
            s = self.current()
            supervisor_id = supervisor_id.strip()
            if supervisor_id == s.teller_id:
                self.audit.append(f"supervisor:{supervisor_id}", "supervisor.authorize", target=f"teller:{s.teller_id}",
                                  result="refused:SUPERVISOR_SAME_PERSON", details={"kind": kind})
                raise StaffError("SUPERVISOR_SAME_PERSON", "授权主管不能是经办柜员本人",
                                 "supervisor id equals the signed-in teller")
            data = self._center_login(supervisor_id, password, f"supervisor:{supervisor_id}", "supervisor.authorize")
            if data.get("role") != "supervisor":
                self.audit.append(f"supervisor:{supervisor_id}", "supervisor.authorize",
                                  target=f"teller:{s.teller_id}", result="refused:SUPERVISOR_ROLE",
                                  details={"kind": kind, "role": data.get("role")})
                raise StaffError("SUPERVISOR_ROLE", "该柜员没有主管授权权限",
                                 f"{supervisor_id} has role {data.get('role')!r}, not supervisor")
            reason = self.authorization_needed(kind, amount_fen, sensitive) or "柜员申请主管授权"
            ok = SupervisorApproval(supervisor_id=data["teller_id"], name=data.get("name", ""), teller_id=s.teller_id,
                                    kind=kind, amount_fen=amount_fen, reason=reason,
                                    approved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                    granted_at=self.clock())
            self.audit.append(f"supervisor:{ok.supervisor_id}", "supervisor.authorize", target=f"teller:{s.teller_id}",
                              details={"kind": kind, "amount_fen": amount_fen, "reason": reason,
                                       "branch": s.branch})
            self.touch()
            return ok

    # --- transactions ------------------------------------------------------------------------------

    def submit(self, kind: str, payload: dict, *, amount_fen: Optional[int] = None, person_key: Optional[str] = None,
               approval: Optional[SupervisorApproval] = None, sensitive: bool = False) -> TellerOutcome:
        """Journal (teller id on the row), send at once, record the center's answer. A lost link leaves the
        item queued under its key for the sync worker."""
        with self._lock:
            s = self.current()
            self._check_item(kind)
            need = self.authorization_needed(kind, amount_fen, sensitive)
            if need:
                self._check_approval(approval, s, kind, amount_fen, need)
            staff = {"teller_id": s.teller_id, "branch": s.branch, "terminal_id": s.terminal_id}
            if approval is not None:
                staff |= {"supervisor_id": approval.supervisor_id, "authorization": approval.reason}
                approval.used = True
            body = {**payload, "staff": staff}
            entry = self.journal.create(kind, body, amount_fen=amount_fen, person_key=person_key,
                                        teller_id=s.teller_id)
            cid = entry.client_id
            self.journal.mark_sending([cid])
            try:
                result = self.port.submit(entry.as_transaction())
            except CenterUnavailable as exc:
                self.journal.requeue([cid], 0.0, exc.code, exc.message_zh)
                out = TellerOutcome(cid, "queued", exc.code, "已受理，待联网确认", s.teller_id, s.branch,
                                    staff.get("supervisor_id"))
                log.warning("teller transaction %s %s left queued: %s", kind, cid, exc.detail)
            except CenterError as exc:
                self.journal.requeue([cid], 5.0, exc.code, exc.message_zh)
                self._audit_tx(s, cid, kind, amount_fen, staff, "queued", exc.code)
                raise from_center(exc) from None
            else:
                grouped = self.journal.apply_results([result])
                state = next((st for st, rs in grouped.items() if rs), None) or self.journal.get(cid).state.value
                if state in (State.SENDING.value, State.QUEUED.value):
                    state = "queued"
                out = TellerOutcome(cid, state, result.code, result.message, s.teller_id, s.branch,
                                    staff.get("supervisor_id"), dict(result.result or {}))
            self._audit_tx(s, cid, kind, amount_fen, staff, out.state, out.code)
            self.touch()
            return out

    def _check_item(self, kind: str) -> None:
        """The center's catalog may switch an item off for this channel/terminal, or not allow it at the counter."""
        try:
            cat = self.catalog()
        except Exception as exc:       # no catalog yet: the center re-validates every transaction anyway
            log.warning("catalog unavailable for the item check: %s", exc)
            cat = None
        item = next((i for i in cat.items if i.code == kind), None) if cat is not None else None
        if item is None:
            return
        if not item.enabled:
            raise StaffError("ITEM_SWITCHED_OFF", f"“{item.name_zh}”业务暂停办理", f"item {kind} is switched off")
        if "teller" not in item.roles:
            raise StaffError("ITEM_NOT_FOR_TELLER", f"“{item.name_zh}”不能在银行柜面办理", f"item {kind} not for tellers")

    def _check_approval(self, approval, s: TellerSession, kind: str, amount_fen, need: str) -> None:
        if approval is None:
            raise StaffError("SUPERVISOR_REQUIRED", f"{need}，请主管登录授权", f"{kind} {amount_fen} needs a supervisor")
        if approval.used:
            raise StaffError("SUPERVISOR_APPROVAL_USED", "该授权已使用，请主管重新授权", "approval already used")
        if self.clock() - approval.granted_at > self.limits.approval_ttl_s:
            raise StaffError("SUPERVISOR_APPROVAL_EXPIRED", "授权已超时，请主管重新授权",
                             f"approval older than {self.limits.approval_ttl_s} s")
        if approval.teller_id != s.teller_id or approval.kind != kind or approval.amount_fen != amount_fen:
            raise StaffError("SUPERVISOR_APPROVAL_MISMATCH", "授权与本笔业务不符，请主管重新授权",
                             f"approval for {approval.kind} {approval.amount_fen} used for {kind} {amount_fen}")

    def _audit_tx(self, s: TellerSession, cid: str, kind: str, amount_fen, staff: dict, state: str, code: str) -> None:
        self.audit.append(f"teller:{s.teller_id}", "teller.transaction", target=f"client:{cid}",
                          result="ok" if state in ("accepted", "queued") else f"{state}:{code}",
                          details={"kind": kind, "amount_fen": amount_fen, "state": state, "code": code, **staff})

    # --- the resident service flows at the counter (TransactionDesk.staff) ------------------------------

    def approve_next(self, approval: Optional[SupervisorApproval]) -> None:
        """Hold a supervisor's approval for the next service-flow transaction (the screen asked before 确认)."""
        with self._lock:
            self.pending = approval

    def stamp(self, item_code: str, kind: str, amount_fen: Optional[int] = None) -> dict:
        """Called by the TransactionDesk (on its worker) before it journals a transaction: the teller, branch
        and terminal (and the supervisor who authorized it) that travel in the payload's "staff" and on the
        journal row. Raises kiosk.flows.ports.PortError (code + Chinese) when nobody is signed in or a needed
        supervisor approval is missing, used, stale or for another action: the desk then does nothing."""
        from kiosk.flows.ports import PortError
        with self._lock:
            approval = None
            try:
                s = self.current()
                need = self.authorization_needed(kind, amount_fen)
                if need:
                    approval, self.pending = self.pending, None
                    self._check_approval(approval, s, kind, amount_fen, need)
            except StaffError as exc:
                log.warning("teller stamp for %s refused: %s %s", kind, exc.code, exc.detail)
                self.audit.append(f"teller:{self.session.teller_id}" if self.session else "teller:-",
                                  "teller.transaction", target=f"item:{item_code}", result=f"refused:{exc.code}",
                                  details={"kind": kind, "amount_fen": amount_fen, "branch": self.branch})
                raise PortError(exc.code, exc.message_zh, exc.detail or exc.code) from None
            staff = {"teller_id": s.teller_id, "branch": s.branch, "terminal_id": s.terminal_id}
            if approval is not None:
                staff |= {"supervisor_id": approval.supervisor_id, "authorization": approval.reason}
                approval.used = True
            if kind != "evaluation":
                self.audit.append(f"teller:{s.teller_id}", "teller.transaction", target=f"item:{item_code}",
                                  result="submitted", details={"kind": kind, "amount_fen": amount_fen, **staff})
            self.touch()
            return staff

    # --- for screens -------------------------------------------------------------------------------

    def view(self) -> dict:
        s = self.session
        return {"signed_in": s is not None, "teller": s.view() if s else None, "branch": self.branch,
                "terminal_id": self.settings.terminal.id, "idle_timeout_s": self.idle_s,
                "supervisor_over_fen": self.limits.supervisor_over_fen,
                "message": self.message.as_dict() if self.message else None}
