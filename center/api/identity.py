"""Identity: live-face verification (sandbox provider), SMS one-time codes, the sandbox SMS outbox."""
from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from center import identity as ident
from center.api.common import cfg, db, idempotent_json
from center.errors import ApiError
from center.models import Person
from center.security import TerminalCtx, signed_terminal
from kiosk.domain.errors import DomainError
from kiosk.domain.ids import ResidentId
from kiosk.domain.masking import mask_phone
from kiosk.domain.numbers import parse_mobile
from sync import protocol as P

router = APIRouter(prefix=P.API_PREFIX, tags=["identity"])
ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"


def face_provider(request: Request) -> ident.FaceProvider:
    prov = getattr(request.app.state, "face_provider", None)
    if prov is None:
        c = cfg(request)
        prov = request.app.state.face_provider = ident.SandboxFaceProvider(c.face_fail_ids, c.face_min_size_px,
                                                                            c.face_threshold)
    return prov


class FaceOut(BaseModel):
    verified: bool
    score: int
    threshold: int
    code: str
    message: str


@router.post("/identity/face-verify", response_model=FaceOut)
async def face_verify(request: Request, id_number: str = Form(..., pattern=ID_PATTERN),
                      image: UploadFile = File(..., description="JPEG of the live face"),
                      ctx: TerminalCtx = Depends(signed_terminal)) -> FaceOut:
    """实人认证: the live photo against the person's authoritative photo. 200 with verified=false when the faces
    do not match; 422 when the image is unusable (no face, several faces, too small, not an image).
    The image is not stored."""
    data = await image.read()
    person = await run_in_threadpool(ident.known_person, db(request), id_number)
    res = await run_in_threadpool(face_provider(request).verify, person.zjhm, data)
    return FaceOut(**res.__dict__)


class SmsSendIn(BaseModel):
    id_number: str = Field(pattern=ID_PATTERN)
    purpose: Literal["identity", "phone_change", "withdrawal", "loan", "flexible"] = "identity"
    phone: Optional[str] = Field(None, description="only for purpose=phone_change: the new number to prove")


def _phone_for(session, body) -> str:
    from sqlalchemy import select
    p = session.scalar(select(Person).where(Person.zjhm == body.id_number.upper()))
    if p is None:
        raise ApiError(404, "PERSON_NOT_FOUND", "未查询到您的公积金账户信息，请到柜台咨询", "no person with that ID")
    if body.purpose == "phone_change" and body.phone:
        try:
            return parse_mobile(body.phone)
        except DomainError as e:
            raise ApiError(422, e.code, e.message_zh, str(e))
    if not p.sjhm:
        raise ApiError(422, "PHONE_NOT_REGISTERED", "您未登记手机号码，请到柜台办理", "person has no registered phone")
    return p.sjhm


@router.post("/identity/sms/send")
async def sms_send(body: SmsSendIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """Sends a 6-digit code (valid 5 minutes) to the person's registered phone (or, for phone_change, to the
    new number). At most one per minute and 10 per day per phone."""
    return await idempotent_json(request, ctx.terminal_id,
                                 lambda s: (200, ident.send_code(s, cfg(request), _phone_for(s, body), body.purpose)))


class SmsVerifyIn(SmsSendIn):
    code: str = Field(pattern=r"^\d{6}$")


def _verify(session, request, body: SmsVerifyIn):
    phone = _phone_for(session, body)
    out = ident.verify_code(session, cfg(request), phone, body.purpose, body.code)
    if not out["verified"]:
        left = out["attempts_left"]
        if left == 0:
            return 422, {"code": "SMS_CODE_LOCKED", "message": "验证码错误次数过多，请重新获取",
                         "detail": f"wrong SMS code for {mask_phone(phone)}; attempts exhausted"}
        return 422, {"code": "SMS_CODE_WRONG", "message": f"验证码不正确，还可以再试{left}次",
                     "detail": f"wrong SMS code for {mask_phone(phone)}, {left} attempts left"}
    return 200, {"verified": True}


@router.post("/identity/sms/verify")
async def sms_verify(body: SmsVerifyIn, request: Request, ctx: TerminalCtx = Depends(signed_terminal)):
    """Checks a code: 5 attempts, then the code is void. Answers {verified: true} or an ErrorBody
    (SMS_CODE_WRONG, SMS_CODE_EXPIRED, SMS_CODE_LOCKED, SMS_CODE_NOT_SENT)."""
    return await idempotent_json(request, ctx.terminal_id, lambda s: _verify(s, request, body))


@router.get("/sandbox/sms", tags=["sandbox"])
def sandbox_sms(request: Request, phone: Optional[str] = Query(None, max_length=16),
                limit: int = Query(50, ge=1, le=500)) -> list[dict]:
    """The sandbox SMS outbox (what a gateway would have sent), newest first. Sandbox centers only."""
    if not cfg(request).sandbox:
        raise ApiError(404, "HTTP_404", "未找到该服务", "sandbox endpoints are off")
    return ident.list_outbox(db(request), phone=phone, limit=limit)
