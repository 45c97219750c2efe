"""Operator endpoints (Authorization: Bearer <operator token>): service switches per channel/terminal,
announcements, terminal list with health, log-upload requests, terminal enrollment codes."""
from __future__ import annotations

import secrets
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from center import catalog as catalog_mod
from center import security
from center.api.common import cfg, db, idempotent_json
from center.errors import ApiError
from center.models import AnnouncementRow, AuditHeadRow, Heartbeat, ServiceSwitch, Terminal, utcnow
from sync import protocol as P

router = APIRouter(prefix=f"{P.API_PREFIX}/admin", tags=["admin"], dependencies=[Depends(security.require_operator)])


class SwitchIn(BaseModel):
    item_code: str = Field(min_length=1, max_length=32)
    enabled: bool
    channel: Optional[Literal["self_service", "bank_counter"]] = None
    terminal_id: Optional[str] = Field(None, pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")


def set_switch(session, sw: SwitchIn) -> dict:
    if sw.item_code not in catalog_mod.ITEM_CODES:
        raise ApiError(422, "UNKNOWN_ITEM", "没有该服务事项", f"unknown service item {sw.item_code!r}")
    if sw.channel and sw.terminal_id:
        raise ApiError(422, "VALIDATION_FAILED", "渠道与终端只能指定一个", "give channel or terminal_id, not both")
    scope = f"terminal:{sw.terminal_id}" if sw.terminal_id else f"channel:{sw.channel}" if sw.channel else "all"
    row = session.scalar(select(ServiceSwitch).where(ServiceSwitch.item_code == sw.item_code,
                                                     ServiceSwitch.scope == scope))
    if row is None:
        session.add(ServiceSwitch(item_code=sw.item_code, scope=scope, enabled=sw.enabled, changed_at=utcnow()))
    else:
        row.enabled, row.changed_at = sw.enabled, utcnow()
    catalog_mod.bump(session)
    return {"item_code": sw.item_code, "scope": scope, "enabled": sw.enabled}


@router.post("/switches")
async def post_switch(sw: SwitchIn, request: Request):
    """Switch one service item on/off for everyone, one channel or one terminal (most specific wins)."""
    return await idempotent_json(request, "operator", lambda s: (200, set_switch(s, sw)))


class AnnouncementIn(BaseModel):
    title_zh: str = Field(min_length=1, max_length=128)
    body_zh: str = Field(min_length=1, max_length=4000)
    title_en: str = Field("", max_length=128)
    body_en: str = Field("", max_length=4000)
    valid_until: Optional[str] = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


def add_announcement(session, a: AnnouncementIn) -> dict:
    aid = "A" + secrets.token_hex(6).upper()
    session.add(AnnouncementRow(id=aid, created_at=utcnow(), **a.model_dump()))
    catalog_mod.bump(session)
    return {"id": aid}


@router.post("/announcements")
async def post_announcement(a: AnnouncementIn, request: Request):
    return await idempotent_json(request, "operator", lambda s: (200, add_announcement(s, a)))


@router.get("/terminals")
def list_terminals(request: Request) -> list[dict]:
    """Every terminal with its latest heartbeat (health, queue) and audit-head state."""
    out = []
    with db(request)() as s:
        for t in s.scalars(select(Terminal).order_by(Terminal.terminal_id)):
            hb = s.scalar(select(Heartbeat).where(Heartbeat.terminal_id == t.terminal_id)
                          .order_by(Heartbeat.id.desc()).limit(1))
            head = s.get(AuditHeadRow, t.terminal_id)
            out.append({
                "terminal_id": t.terminal_id, "channel": t.channel, "enrolled": t.secret is not None,
                "disabled": t.disabled, "last_seen_at": t.last_seen_at.isoformat() if t.last_seen_at else None,
                "log_upload_requested": t.log_upload_requested,
                "heartbeat": None if hb is None else {
                    "received_at": hb.received_at.isoformat(), "software_version": hb.software_version,
                    "queue_depth": hb.queue_depth, "oldest_queued_age_s": hb.oldest_queued_age_s,
                    "devices": hb.devices, "audit_flag": hb.audit_flag},
                "audit_head": None if head is None else {"seq": head.seq, "flagged": head.flagged},
            })
    return out


def _terminal(session, terminal_id: str) -> Terminal:
    t = session.get(Terminal, terminal_id)
    if t is None:
        raise ApiError(404, "TERMINAL_NOT_FOUND", "没有该终端", f"unknown terminal {terminal_id!r}")
    return t


@router.post("/terminals/{terminal_id}/log-upload")
async def request_log_upload(terminal_id: str, request: Request):
    def work(s):
        _terminal(s, terminal_id).log_upload_requested = True
        catalog_mod.bump(s)
        return 200, {"terminal_id": terminal_id, "log_upload_requested": True}
    return await idempotent_json(request, "operator", work)


@router.post("/terminals/{terminal_id}/disable")
async def disable_terminal(terminal_id: str, request: Request):
    def work(s):
        _terminal(s, terminal_id).disabled = True
        return 200, {"terminal_id": terminal_id, "disabled": True}
    return await idempotent_json(request, "operator", work)


@router.post("/terminals/{terminal_id}/enroll-code")
async def enroll_code(terminal_id: str, request: Request,
                      channel: Literal["self_service", "bank_counter"] = "self_service"):
    """Issues a one-time enrollment code (as `hpf-center terminals enroll`). Not idempotent on purpose:
    each call replaces the previous code."""
    import re
    if not re.match(r"^[A-Z0-9][A-Z0-9-]{2,31}$", terminal_id):
        raise ApiError(422, "VALIDATION_FAILED", "终端编号格式不正确", "terminal id must match ^[A-Z0-9][A-Z0-9-]{2,31}$")
    code = security.issue_enroll_code(db(request), terminal_id, cfg(request).enroll_code_ttl_s, channel)
    return {"terminal_id": terminal_id, "code": code}


# --- cases the other side decides: transfer-in letters (the sending center), loan pre-applications (the loan
# officer). Nothing plays those parts in the reference center, so an operator (or the CLI, or the sandbox's
# auto-advance) does: each step is checked against the case's state and recorded in case_events. ---------------

TRANSFER_ACTIONS = {        # action -> (states it may start from, state it leads to); states: feedback codes
    "funds_received": (("2",), "2"),     # 资金已到账: the sending center's transfer-out amount arrived
    "complete": (("2",), "0"),           # 转入确认办结: the amount is booked to the account
    "fail": (("2",), "1"),               # 失败: needs a reason
}
LOAN_ACTIONS = {
    "approve": (("submitted",), "approved"),
    "refuse": (("submitted",), "refused"),   # needs a reason
}
CASE_ACTIONS = {"transfer_in": TRANSFER_ACTIONS, "loan_preapply": LOAN_ACTIONS}
TRANSFER_STATE_ZH = {"0": "完成", "1": "失败", "2": "处理中"}
LOAN_STATE_ZH = {"submitted": "已受理，待审批", "approved": "审批通过", "refused": "审批未通过"}
ACTION_ZH = {"submitted": "已受理", "funds_received": "转移资金已到账", "complete": "转入确认办结", "fail": "转移失败",
             "approve": "审批通过", "refuse": "审批未通过"}


class CaseAdvanceIn(BaseModel):
    action: Literal["funds_received", "complete", "fail", "approve", "refuse"]
    amount_fen: Optional[int] = Field(None, ge=0, le=10**12)   # transfer amount (本金 + 利息), integer fen
    reason: str = Field("", max_length=256)


def _case(session, serial: str):
    from center.models import LoanApplication, TransferIn
    t = session.get(TransferIn, serial)
    if t is not None:
        return "transfer_in", t
    a = session.scalar(select(LoanApplication).where(LoanApplication.serial == serial))
    if a is not None:
        return "loan_preapply", a
    raise ApiError(404, "CASE_NOT_FOUND", "未查询到该业务编号", f"no transfer-in letter or loan pre-application {serial!r}")


def case_history(session, serial: str) -> list[dict]:
    """The case's steps, oldest first (the application itself first), for /progress and the operator."""
    from center.models import CaseEvent
    kind, case = _case(session, serial)
    out = [{"action": "submitted", "action_zh": ACTION_ZH["submitted"], "state": "2" if kind == "transfer_in"
            else "submitted", "amount_fen": None, "reason": "", "actor": "terminal", "at": case.created_at.isoformat()}]
    for e in session.scalars(select(CaseEvent).where(CaseEvent.serial == serial).order_by(CaseEvent.id)):
        out.append({"action": e.action, "action_zh": ACTION_ZH.get(e.action, e.action), "state": e.to_state,
                    "amount_fen": e.amount_fen, "reason": e.reason, "actor": e.actor, "at": e.at.isoformat()})
    return out


def _state(kind: str, case) -> str:
    return case.feedback if kind == "transfer_in" else case.state


def _credit_transfer(session, case, amount: int) -> None:
    """转入确认办结: book the transferred amount to the person's account (business type 08 外部转入)."""
    from center import business as B
    from center.models import DepositRecord, PersonalAccount
    acct = session.scalar(select(PersonalAccount).where(PersonalAccount.person_id == case.person_id).with_for_update())
    if acct is None:
        raise ApiError(409, "ACCOUNT_NOT_FOUND", "该职工没有公积金个人账户，无法办结转入", "person has no account")
    if amount:
        acct.grzhye_fen += amount
        session.add(DepositRecord(ywlsh=B.new_serial("ZR"), grzh=acct.grzh, jzrq=B.today(), gjhtqywlx="08",
                                  fse_fen=amount, balance_after_fen=acct.grzhye_fen,
                                  summary=f"外部转入 {case.from_center} {case.letter_no}"[:64]))
    if acct.grzhzt == "02":          # 封存 -> 正常: a transfer-in reopens a sealed account
        acct.grzhzt = "01"


def advance_case(session, serial: str, action: str, *, amount_fen: int | None = None, reason: str = "",
                 actor: str = "operator") -> dict:
    """Move one case a step (see TRANSFER_ACTIONS / LOAN_ACTIONS); refuses a step its state does not allow."""
    import logging

    from center.models import CaseEvent, TransferIn
    if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0):
        raise ApiError(422, "VALIDATION_FAILED", "金额不正确", "amount_fen must be a non-negative integer (fen)")
    kind, case = _case(session, serial)
    if kind == "transfer_in":       # lock the row (PostgreSQL) so two operators cannot both complete it
        case = session.scalar(select(TransferIn).where(TransferIn.letter_no == serial).with_for_update())
    actions = CASE_ACTIONS[kind]
    if action not in actions:
        raise ApiError(422, "CASE_ACTION_INVALID", "该业务不能办理此操作",
                       f"{kind} accepts {', '.join(actions)}, not {action!r}")
    allowed_from, to = actions[action]
    frm = _state(kind, case)
    reason = (reason or "").strip()
    if frm not in allowed_from:
        raise ApiError(409, "CASE_STATE_CONFLICT", "该业务当前状态不能办理此操作",
                       f"{kind} {serial} is {frm!r}; {action} needs {' or '.join(allowed_from)}")
    if action in ("fail", "refuse") and not reason:
        raise ApiError(422, "CASE_REASON_REQUIRED", "请填写原因", f"{action} needs a reason")
    if kind == "transfer_in":
        if action == "funds_received":
            if amount_fen is None:
                raise ApiError(422, "VALIDATION_FAILED", "请填写转移金额", "funds_received needs amount_fen")
            if session.scalar(select(func.count()).select_from(CaseEvent).where(
                    CaseEvent.serial == serial, CaseEvent.action == "funds_received")):
                raise ApiError(409, "CASE_STATE_CONFLICT", "转移资金已登记到账", f"{serial}: funds already received")
            case.amount_fen = amount_fen
        elif action == "complete":
            if not session.scalar(select(func.count()).select_from(CaseEvent).where(
                    CaseEvent.serial == serial, CaseEvent.action == "funds_received")):
                raise ApiError(409, "CASE_STATE_CONFLICT", "转移资金尚未到账，不能办结",
                               f"{serial}: complete needs funds_received first")
            _credit_transfer(session, case, case.amount_fen or 0)
            case.feedback = to
        else:
            case.feedback = to
    else:
        case.state = to
    session.add(CaseEvent(serial=serial, kind=kind, action=action, from_state=frm, to_state=to,
                          amount_fen=case.amount_fen if kind == "transfer_in" and action != "fail" else None,
                          reason=reason[:256], actor=actor, at=utcnow()))
    session.flush()
    logging.getLogger(__name__).info("case %s (%s) %s by %s: %s -> %s", serial, kind, action, actor, frm, to)
    state_zh = (TRANSFER_STATE_ZH if kind == "transfer_in" else LOAN_STATE_ZH).get(to, to)
    return {"serial": serial, "kind": kind, "action": action, "from_state": frm, "state": to, "state_zh": state_zh,
            "amount_fen": case.amount_fen, "history": case_history(session, serial)}


@router.post("/cases/{serial}/advance")
async def post_case_advance(serial: str, body: CaseAdvanceIn, request: Request):
    """Play the other side of a case: a transfer-in letter (`funds_received` with amount_fen, `complete`,
    `fail` with reason) or a loan pre-application (`approve`, `refuse` with reason). Recorded in its history."""
    return await idempotent_json(request, "operator", lambda s: (200, advance_case(
        s, serial, body.action, amount_fen=body.amount_fen, reason=body.reason, actor="operator")))


@router.get("/cases/{serial}")
def get_case(serial: str, request: Request) -> dict:
    with db(request)() as s:
        kind, case = _case(s, serial)
        st = _state(kind, case)
        return {"serial": serial, "kind": kind, "state": st,
                "state_zh": (TRANSFER_STATE_ZH if kind == "transfer_in" else LOAN_STATE_ZH).get(st, st),
                "amount_fen": case.amount_fen, "history": case_history(s, serial)}


def sandbox_amount_fen(serial: str) -> int:
    """A stable made-up transfer amount for the sandbox (1,000.00 to 50,000.00 yuan, whole yuan)."""
    import zlib
    return (1000 + zlib.crc32(serial.encode()) % 49001) * 100


def auto_advance(session, after_minutes: int, now=None) -> list[dict]:
    """Sandbox: every case untouched for `after_minutes` takes its next step (transfer-in: funds received,
    then completed; loan pre-application: approved). Returns what was done."""
    from datetime import timedelta

    from center.models import CaseEvent, LoanApplication, TransferIn
    now = now or utcnow()
    cutoff = now - timedelta(minutes=after_minutes)
    done = []

    def last_step_at(serial, created):
        at = session.scalar(select(func.max(CaseEvent.at)).where(CaseEvent.serial == serial))
        if at is not None and at.tzinfo is None:
            from datetime import timezone
            at = at.replace(tzinfo=timezone.utc)
        return at or created
    for t in list(session.scalars(select(TransferIn).where(TransferIn.feedback == "2"))):
        if last_step_at(t.letter_no, t.created_at) > cutoff:
            continue
        received = session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.serial == t.letter_no, CaseEvent.action == "funds_received"))
        if received:
            done.append(advance_case(session, t.letter_no, "complete", actor="sandbox"))
        else:
            done.append(advance_case(session, t.letter_no, "funds_received", actor="sandbox",
                                     amount_fen=t.amount_fen or sandbox_amount_fen(t.letter_no)))
    for a in list(session.scalars(select(LoanApplication).where(LoanApplication.state == "submitted"))):
        if last_step_at(a.serial, a.created_at) <= cutoff:
            done.append(advance_case(session, a.serial, "approve", actor="sandbox", reason="沙箱自动审批"))
    return done
