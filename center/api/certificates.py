"""Certificates: issue (signed terminal, idempotent), public verification by code or by presented content,
the public key."""
from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from center import certs
from center.api.common import cfg, db, idempotent_json
from center.errors import ApiError
from center.security import TerminalCtx, signed_terminal
from center.transactions import Refusal
from sync import protocol as P

router = APIRouter(prefix=P.API_PREFIX, tags=["certificates"])


def signing_key(request: Request):
    key = getattr(request.app.state, "signing_key", None)
    if key is None:
        key = request.app.state.signing_key = certs.load_or_create_key(cfg(request).data_dir)
    return key


class IssueIn(BaseModel):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")
    kind: Literal["deposit_use", "payoff"]
    contract_no: Optional[str] = Field(None, max_length=32, description="payoff: the paid-off loan contract")


@router.post("/certificates")
async def issue_certificate(body: IssueIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """出具证明 (缴存使用证明 / 贷款结清证明): content, serial, verification code, Ed25519 signature."""
    key = signing_key(request)

    def work(s):
        try:
            return 200, certs.issue(s, cfg(request), key, body.id_number, body.kind, body.contract_no)
        except Refusal as r:
            status = 404 if r.code in ("PERSON_NOT_FOUND", "ACCOUNT_NOT_FOUND", "LOAN_NOT_FOUND") else 422
            raise ApiError(status, r.code, r.message, r.detail)
    return await idempotent_json(request, ctx.terminal_id, work)


@router.get("/certificates/verify/{code}")
async def verify_certificate(request: Request, code: str = Path(..., min_length=12, max_length=14,
                                                                pattern=r"^[0-9A-Za-z-]+$")):
    """Public (no terminal signature): anyone holding the printed verification code can check the certificate."""
    key = signing_key(request)

    def run():
        with db(request)() as s:
            return certs.verify_by_code(s, key, code)
    return await run_in_threadpool(run)


class PresentedIn(BaseModel):
    content: dict[str, Any]
    signature: str = Field(min_length=1, max_length=200)


@router.post("/certificates/verify")
async def verify_presented(body: PresentedIn, request: Request):
    """Public: checks a presented certificate (content + signature, e.g. from its QR code)."""
    key = signing_key(request)

    def run():
        with db(request)() as s:
            return certs.verify_presented(s, key, body.content, body.signature)
    return await run_in_threadpool(run)


@router.get("/certificates/public-key")
def public_key(request: Request) -> dict:
    return {"algorithm": "Ed25519", "public_key_hex": certs.public_key_hex(signing_key(request))}
