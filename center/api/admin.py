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
