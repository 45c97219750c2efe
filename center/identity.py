"""Identity checks the center performs for terminals: live-face verification (a provider interface with a
sandbox provider) and SMS one-time codes (sandbox outbox instead of a gateway)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Protocol

from sqlalchemy import func, select

from center.errors import ApiError
from center.models import Person, SmsCode, SmsOutbox, utcnow
from kiosk.domain.masking import mask_id_number, mask_phone

log = logging.getLogger(__name__)


# --- face ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceResult:
    verified: bool
    score: int                    # 0..100, vendor-style similarity score
    threshold: int
    code: str = "OK"
    message: str = "人脸核验通过"


class FaceProvider(Protocol):
    """Compares a live photo with the authoritative photo of `id_number` (a real provider calls the
    national online-ID service). Raises ApiError for unusable input."""

    def verify(self, id_number: str, jpeg: bytes) -> FaceResult: ...


class SandboxFaceProvider:
    """Decodes the JPEG with OpenCV and requires exactly one frontal face (Haar cascade) at least
    `min_size_px` wide. The score is synthetic; ID numbers in `fail_ids` never match."""

    def __init__(self, fail_ids: frozenset[str], min_size_px: int = 80, threshold: int = 80):
        self.fail_ids = frozenset(x.upper() for x in fail_ids)
        self.min_size_px = min_size_px
        self.threshold = threshold
        self._cascade = None

    def _detector(self):
        import cv2
        if self._cascade is None:
            self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        return self._cascade

    def verify(self, id_number: str, jpeg: bytes) -> FaceResult:
        import cv2
        import numpy as np
        if not jpeg or len(jpeg) > 5 * 1024 * 1024:
            raise ApiError(422, "FACE_IMAGE_INVALID", "照片无法识别，请重新拍摄", "image empty or larger than 5 MB")
        img = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ApiError(422, "FACE_IMAGE_INVALID", "照片无法识别，请重新拍摄", "image could not be decoded")
        if max(img.shape) > 1600:
            scale = 1600 / max(img.shape)
            img = cv2.resize(img, None, fx=scale, fy=scale)
        img = cv2.equalizeHist(img)
        faces = self._detector().detectMultiScale(img, scaleFactor=1.1, minNeighbors=5,
                                                  minSize=(self.min_size_px // 2, self.min_size_px // 2))
        big = [f for f in faces if f[2] >= self.min_size_px]
        if len(faces) == 0:
            raise ApiError(422, "FACE_NOT_FOUND", "未检测到人脸，请正对摄像头", "no face found in image")
        if len(faces) > 1:
            raise ApiError(422, "FACE_MULTIPLE", "检测到多张人脸，请确保只有本人在镜头前",
                           f"{len(faces)} faces found in image")
        if not big:
            raise ApiError(422, "FACE_TOO_SMALL", "请靠近摄像头一些", f"face narrower than {self.min_size_px} px")
        if id_number.upper() in self.fail_ids:
            return FaceResult(False, 41, self.threshold, "FACE_MISMATCH", "人脸比对未通过，请到人工窗口办理")
        w = int(big[0][2])
        score = min(99, 85 + (w * 10) // max(img.shape))        # synthetic, stable for one image
        return FaceResult(True, score, self.threshold)


def known_person(db, id_number: str) -> Person:
    with db() as s:
        p = s.scalar(select(Person).where(Person.zjhm == id_number.upper()))
        if p is None:
            raise ApiError(404, "PERSON_NOT_FOUND", "未查询到您的公积金账户信息，请到柜台咨询",
                           f"no person with ID {mask_id_number(id_number)}")
        s.expunge(p)
        return p


# --- SMS one-time codes --------------------------------------------------------------------------------

PURPOSES = {"identity": "身份核验", "phone_change": "手机号码变更", "withdrawal": "提取", "loan": "贷款",
            "flexible": "灵活就业签约"}


def _code_hash(phone: str, purpose: str, code: str) -> str:
    return hashlib.sha256(f"{phone}|{purpose}|{code}".encode()).hexdigest()


def send_code(session, cfg, phone: str, purpose: str) -> dict:
    """Stores a 6-digit code (hashed) valid cfg.sms_ttl_s and puts the message in the sandbox outbox.
    Rate limits: one per phone per cfg.sms_min_interval_s, cfg.sms_max_per_day per phone per day."""
    if purpose not in PURPOSES:
        raise ApiError(422, "SMS_PURPOSE_UNKNOWN", "短信用途不正确", f"unknown SMS purpose {purpose!r}")
    now = utcnow()
    last = session.scalar(select(func.max(SmsCode.created_at)).where(SmsCode.phone == phone))
    if last is not None:
        if last.tzinfo is None:
            from datetime import timezone
            last = last.replace(tzinfo=timezone.utc)
        wait = cfg.sms_min_interval_s - int((now - last).total_seconds())
        if wait > 0:
            raise ApiError(429, "SMS_TOO_FREQUENT", f"验证码发送过于频繁，请{wait}秒后再试",
                           f"SMS to {mask_phone(phone)} refused: {wait} s before the next one",
                           headers={"Retry-After": str(wait)})
    today_count = session.scalar(select(func.count()).select_from(SmsCode).where(
        SmsCode.phone == phone, SmsCode.created_at > now - timedelta(days=1)))
    if today_count >= cfg.sms_max_per_day:
        raise ApiError(429, "SMS_DAILY_LIMIT", "今日验证码发送次数已达上限，请明天再试",
                       f"SMS to {mask_phone(phone)} refused: daily limit {cfg.sms_max_per_day}")
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(SmsCode(phone=phone, purpose=purpose, code_hash=_code_hash(phone, purpose, code),
                        expires_at=now + timedelta(seconds=cfg.sms_ttl_s), created_at=now))
    minutes = max(1, cfg.sms_ttl_s // 60)
    session.add(SmsOutbox(phone=phone, created_at=now,
                          text=f"【住房公积金】您正在办理{PURPOSES[purpose]}，验证码{code}，{minutes}分钟内有效。"
                               f"如非本人操作请忽略。"))
    log.info("SMS code sent to %s for %s", mask_phone(phone), purpose)
    return {"sent": True, "phone_masked": mask_phone(phone), "expires_in_s": cfg.sms_ttl_s}


def verify_code(session, cfg, phone: str, purpose: str, code: str) -> dict:
    row = session.scalar(select(SmsCode).where(SmsCode.phone == phone, SmsCode.purpose == purpose,
                                               SmsCode.used.is_(False))
                         .order_by(SmsCode.id.desc()).limit(1).with_for_update())
    if row is None:
        raise ApiError(422, "SMS_CODE_NOT_SENT", "请先获取验证码", f"no open SMS code for {mask_phone(phone)}")
    if row.expires_at < utcnow():
        raise ApiError(422, "SMS_CODE_EXPIRED", "验证码已过期，请重新获取", "SMS code expired")
    if row.attempts >= cfg.sms_max_attempts:
        raise ApiError(422, "SMS_CODE_LOCKED", "验证码错误次数过多，请重新获取", "SMS code attempts exhausted")
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _code_hash(phone, purpose, (code or "").strip())):
        # returned, not raised: the attempt counter must be committed with this answer (see api.identity)
        return {"verified": False, "attempts_left": max(0, cfg.sms_max_attempts - row.attempts)}
    row.used = True
    return {"verified": True}


def list_outbox(db, phone: Optional[str] = None, limit: int = 50) -> list[dict]:
    with db() as s:
        q = select(SmsOutbox).order_by(SmsOutbox.id.desc()).limit(max(1, min(limit, 500)))
        if phone:
            q = q.where(SmsOutbox.phone == phone)
        return [{"id": m.id, "phone": m.phone, "text": m.text, "created_at": m.created_at.isoformat()}
                for m in s.scalars(q)]
