"""Terminal lifecycle and traffic: enrollment, teller login, transactions (single, batch, lookup, reconcile),
catalog, heartbeat, log upload."""
from __future__ import annotations

import logging
import re
import time
from datetime import date, datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from center import catalog as catalog_mod
from center import idempotency as idem
from center import security, transactions
from center.api.common import cfg, db, idempotent_json
from center.errors import ApiError
from center.models import AuditHeadRow, Heartbeat as HeartbeatRow, Terminal, utcnow
from center.security import TerminalCtx, signed_terminal
from sync import protocol as P

log = logging.getLogger(__name__)
router = APIRouter(prefix=P.API_PREFIX)


class EnrollIn(BaseModel):
    terminal_id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")
    code: str = Field(min_length=4, max_length=32)


class EnrollOut(BaseModel):
    terminal_id: str
    secret_hex: str
    center_code: str
    center_name: str


@router.post("/terminals/enroll", response_model=EnrollOut, tags=["terminals"])
def enroll(body: EnrollIn, request: Request) -> EnrollOut:
    """Exchanges the one-time code from `hpf-center terminals enroll TERMINAL_ID` for the terminal's secret.
    The secret is returned once and never again."""
    secret = security.enroll(db(request), body.terminal_id, body.code)
    c = cfg(request)
    return EnrollOut(terminal_id=body.terminal_id, secret_hex=secret.hex(), center_code=c.center_code,
                     center_name=c.center_name)


class TellerLoginIn(BaseModel):
    teller_id: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=128)


class TellerLoginOut(BaseModel):
    token: str
    teller_id: str
    name: str
    role: str
    expires_at: str


@router.post("/tellers/login", response_model=TellerLoginOut, tags=["tellers"])
def teller_login(body: TellerLoginIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """Teller login at a signed terminal; the token goes in X-HPF-Teller-Token. Locked for 15 minutes after
    5 wrong passwords."""
    return security.teller_login(db(request), cfg(request), ctx.terminal_id, body.teller_id, body.password)


# --- transactions ----------------------------------------------------------------------------------------

def _item_response(res: P.ItemResult) -> JSONResponse:
    return JSONResponse(res.model_dump(mode="json"), status_code=res.http_status)


@router.post("/transactions", response_model=P.ItemResult, tags=["transactions"],
             responses={422: {"model": P.ItemResult}})
def post_transaction(item: P.TransactionIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal),
                     idempotency_key: str | None = Header(None, alias=P.HEADER_IDEMPOTENCY)):
    """One transaction; Idempotency-Key must equal its client_id. Answers the ItemResult with its HTTP status
    (200 accepted, 422 rejected — final); protocol errors (400/409/422 key reuse) answer ErrorBody."""
    key = idem.check_key(idempotency_key)
    if key != item.client_id:
        raise ApiError(400, "IDEMPOTENCY_KEY_MISMATCH", "幂等键与业务编号不一致",
                       "Idempotency-Key must equal the transaction's client_id")
    res = transactions.process(db(request), ctx, [item])[0]
    if res.outcome == P.ItemOutcome.IN_FLIGHT:
        raise idem.in_flight(item.client_id)
    if res.code == P.IdempotencyError.PAYLOAD_MISMATCH.value:
        raise idem.key_reused(item.client_id)
    return _item_response(res)


@router.post("/transactions/batch", response_model=P.BatchResponse, tags=["transactions"])
def post_batch(batch: P.BatchRequest, request: Request, ctx: TerminalCtx = Depends(signed_terminal),
               idempotency_key: str | None = Header(None, alias=P.HEADER_IDEMPOTENCY)) -> P.BatchResponse:
    """Up to 500 transactions. Idempotency-Key is required (any unique value per batch); each item is
    idempotent by its own client_id exactly as POST /v1/transactions, and answered in order."""
    idem.check_key(idempotency_key)
    return P.BatchResponse(results=transactions.process(db(request), ctx, batch.items))


@router.get("/transactions/reconcile", tags=["transactions"])
def reconcile(request: Request, date_: str = Query(..., alias="date", pattern=r"^\d{4}-\d{2}-\d{2}$"),
              ctx: TerminalCtx = Depends(signed_terminal)) -> dict:
    """The client_ids this terminal got accepted (and rejected) on one Asia/Shanghai day."""
    try:
        date.fromisoformat(date_)
    except ValueError:
        raise ApiError(422, "VALIDATION_FAILED", "日期格式不正确", f"not a date: {date_!r}")
    return transactions.reconcile(db(request), ctx, date_)


@router.get("/transactions/{client_id}", response_model=P.ItemResult, tags=["transactions"])
def get_transaction(client_id: str, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    res = transactions.get_result(db(request), ctx, client_id)
    return _item_response(res)


# --- catalog and heartbeat -------------------------------------------------------------------------------

@router.get("/catalog", response_model=P.Catalog, tags=["catalog"], responses={304: {"description": "unchanged"}})
def get_catalog(request: Request, ctx: TerminalCtx = Depends(signed_terminal),
                if_none_match: str | None = Header(None)):
    with db(request)() as s:
        cat = catalog_mod.build_catalog(s, ctx.terminal_id, ctx.channel)
    etag = f'"{cat.version}"'
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(cat.model_dump(mode="json"), headers={"ETag": etag, "Cache-Control": "no-cache"})


class HeartbeatOut(BaseModel):
    ok: bool
    audit_flag: str = ""
    commands: list[dict] = Field(default_factory=list)


def _store_heartbeat(session, ctx: TerminalCtx, hb: P.Heartbeat) -> tuple[int, dict]:
    if hb.terminal_id != ctx.terminal_id:
        raise ApiError(422, "TERMINAL_MISMATCH", "终端编号不一致", "heartbeat terminal_id differs from signer")
    flag = ""
    if hb.audit_head is not None:
        head = session.get(AuditHeadRow, ctx.terminal_id, with_for_update=True)
        if head is None:
            session.add(AuditHeadRow(terminal_id=ctx.terminal_id, seq=hb.audit_head.seq, hash=hb.audit_head.hash,
                                     updated_at=utcnow()))
        else:
            if hb.audit_head.seq < head.seq:
                flag = "seq_backwards"
            elif hb.audit_head.seq == head.seq and hb.audit_head.hash != head.hash:
                flag = "hash_changed"
            if flag:
                head.flagged = True
                log.warning("audit head of terminal %s flagged: %s (was %d, now %d)", ctx.terminal_id, flag,
                            head.seq, hb.audit_head.seq)
            else:
                head.seq, head.hash, head.updated_at = hb.audit_head.seq, hb.audit_head.hash, utcnow()
    sent = hb.sent_at if hb.sent_at.tzinfo else hb.sent_at.replace(tzinfo=timezone.utc)
    session.add(HeartbeatRow(terminal_id=ctx.terminal_id, received_at=utcnow(), sent_at=sent,
                             software_version=hb.software_version[:32], queue_depth=hb.queue_depth,
                             oldest_queued_age_s=hb.oldest_queued_age_s, devices=hb.devices,
                             audit_seq=hb.audit_head.seq if hb.audit_head else None,
                             audit_hash=hb.audit_head.hash[:128] if hb.audit_head else None, audit_flag=flag))
    term = session.get(Terminal, ctx.terminal_id)
    commands = [{"kind": "upload_logs"}] if term is not None and term.log_upload_requested else []
    return 200, HeartbeatOut(ok=True, audit_flag=flag, commands=commands).model_dump()


@router.post("/heartbeat", response_model=HeartbeatOut, tags=["catalog"])
async def heartbeat(hb: P.Heartbeat, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """Health, queue figures and the audit head. A head whose seq goes backwards (or whose hash changes at the
    same seq) is flagged: truncation or rewrite of the terminal's audit log."""
    return await idempotent_json(request, ctx.terminal_id, lambda s: _store_heartbeat(s, ctx, hb))


@router.post("/terminals/logs", tags=["terminals"])
async def upload_logs(request: Request, ctx: TerminalCtx = Depends(signed_terminal)) -> dict:
    """Log upload requested by an operator (raw body, ≤ 20 MB). Clears the upload request."""
    body = await request.body()
    if len(body) > 20 * 1024 * 1024:
        raise ApiError(413, "LOG_TOO_LARGE", "日志文件过大", "log upload larger than 20 MB")

    def _save():
        d = Path(cfg(request).data_dir) / "uploaded-logs" / re.sub(r"[^A-Z0-9-]", "_", ctx.terminal_id)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{time.strftime('%Y%m%dT%H%M%S')}-{len(body)}.log"
        path.write_bytes(body)
        with db(request)() as s, s.begin():
            t = s.get(Terminal, ctx.terminal_id)
            t.log_upload_requested = False
        return str(path.name)

    name = await run_in_threadpool(_save)
    return {"stored": name, "bytes": len(body)}
