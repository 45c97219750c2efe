"""Terminal request signing (sync.protocol), enrollment codes, teller passwords and tokens, operator token."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from center.errors import ApiError
from center.models import Teller, TellerToken, Terminal, UsedNonce, utcnow
from sync import protocol as P

log = logging.getLogger(__name__)

_AUTH_MESSAGES = {
    P.AuthError.MISSING: (401, "终端认证信息缺失，请联系管理员"),
    P.AuthError.SKEW: (401, "终端时间不准确，请联系管理员校准时间"),
    P.AuthError.REPLAY: (401, "重复的请求已被拒绝"),
    P.AuthError.SIGNATURE: (401, "终端签名校验失败，请联系管理员"),
    P.AuthError.UNKNOWN_TERMINAL: (401, "终端未登记，请联系管理员"),
    P.AuthError.DISABLED_TERMINAL: (403, "终端已停用，请联系管理员"),
}


def auth_error(code: P.AuthError, detail: str) -> ApiError:
    status, msg = _AUTH_MESSAGES[code]
    return ApiError(status, code.value, msg, detail)


@dataclass(frozen=True)
class TerminalCtx:
    terminal_id: str
    channel: str
    teller_id: Optional[str] = None


def signed_path(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    qs = request.scope.get("query_string") or b""
    path = raw.decode("latin-1")
    return f"{path}?{qs.decode('latin-1')}" if qs else path


def verify_signed(db, method: str, path: str, headers, body: bytes, now: float | None = None) -> TerminalCtx:
    """Checks one terminal request; raises ApiError with the AuthError code of the first failing check."""
    tid = headers.get(P.HEADER_TERMINAL)
    ts = headers.get(P.HEADER_TIMESTAMP)
    nonce = headers.get(P.HEADER_NONCE)
    sig = headers.get(P.HEADER_SIGNATURE)
    if not (tid and ts and nonce and sig):
        raise auth_error(P.AuthError.MISSING, "missing one of the X-HPF-* signing headers")
    try:
        ts_i = int(ts)
    except ValueError:
        raise auth_error(P.AuthError.SKEW, "timestamp is not an integer")
    now = time.time() if now is None else now
    if abs(now - ts_i) > P.MAX_CLOCK_SKEW_S:
        raise auth_error(P.AuthError.SKEW, f"clock skew {int(now - ts_i)} s exceeds {P.MAX_CLOCK_SKEW_S} s")
    if len(nonce) > 64:
        raise auth_error(P.AuthError.SIGNATURE, "nonce too long")
    with db() as s:
        term = s.get(Terminal, tid)
        if term is None or term.secret is None:
            raise auth_error(P.AuthError.UNKNOWN_TERMINAL, f"terminal {tid!r} is not enrolled")
        if not P.signature_matches(term.secret, method, path, ts, nonce, body, sig):
            raise auth_error(P.AuthError.SIGNATURE, f"signature mismatch for terminal {tid}")
        if term.disabled:
            raise auth_error(P.AuthError.DISABLED_TERMINAL, f"terminal {tid} is disabled")
        channel = term.channel
    # The nonce is recorded only for a correctly signed request (an attacker cannot burn nonces).
    try:
        with db() as s, s.begin():
            s.add(UsedNonce(terminal_id=tid, nonce=nonce, seen_at=utcnow()))
            t = s.get(Terminal, tid)
            t.last_seen_at = utcnow()
    except IntegrityError:
        raise auth_error(P.AuthError.REPLAY, f"nonce already used by terminal {tid}")
    return TerminalCtx(terminal_id=tid, channel=channel)


def purge_nonces(db, older_than_s: int = 2 * P.MAX_CLOCK_SKEW_S + 60) -> int:
    """Nonces older than the skew window can never be replayed (the timestamp check refuses them)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db() as s, s.begin():
        return s.execute(delete(UsedNonce).where(UsedNonce.seen_at < cutoff)).rowcount or 0


async def signed_terminal(request: Request) -> TerminalCtx:
    """FastAPI dependency: the verified terminal (and the teller, when a teller token is presented)."""
    body = request.scope.get("hpf.body")
    if body is None:
        body = await request.body()
    db = request.app.state.db
    ctx = await run_in_threadpool(verify_signed, db, request.method, signed_path(request), request.headers, body)
    token = request.headers.get(P.HEADER_TELLER_TOKEN)
    if token:
        teller = await run_in_threadpool(teller_for_token, db, token, ctx.terminal_id)
        ctx = TerminalCtx(ctx.terminal_id, ctx.channel, teller)
    request.state.terminal = ctx
    return ctx


# --- enrollment ----------------------------------------------------------------------------------------

def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_enroll_code() -> str:
    """12 characters from an unambiguous alphabet, grouped for reading aloud: ABCD-EFGH-JKMN."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def issue_enroll_code(db, terminal_id: str, ttl_s: int, channel: str = "self_service",
                      branch_code: str | None = None) -> str:
    code = new_enroll_code()
    with db() as s, s.begin():
        term = s.get(Terminal, terminal_id)
        if term is None:
            term = Terminal(terminal_id=terminal_id, channel=channel, branch_code=branch_code, created_at=utcnow())
            s.add(term)
        term.enroll_code_hash = _sha(normalize_code(code))
        term.enroll_code_expires = utcnow() + timedelta(seconds=ttl_s)
        term.channel = channel or term.channel
    log.info("enrollment code issued for terminal %s", terminal_id)
    return code


def enroll(db, terminal_id: str, code: str) -> bytes:
    """Exchanges a one-time code for the terminal's secret (returned once, never again)."""
    refused = ApiError(401, "ENROLL_CODE_INVALID", "登记码无效或已过期，请向中心重新申请",
                       f"enrollment refused for terminal {terminal_id!r}")
    with db() as s, s.begin():
        term = s.get(Terminal, terminal_id, with_for_update=True)
        if term is None or not term.enroll_code_hash:
            raise refused
        if term.enroll_code_expires is None or term.enroll_code_expires < utcnow():
            term.enroll_code_hash = None
            raise refused
        if not hmac.compare_digest(term.enroll_code_hash, _sha(normalize_code(code))):
            raise refused
        secret = secrets.token_bytes(32)
        term.secret = secret
        term.enroll_code_hash = None          # one-time
        term.enroll_code_expires = None
        term.enrolled_at = utcnow()
        term.disabled = False
    log.info("terminal %s enrolled", terminal_id)
    return secret


# --- tellers -------------------------------------------------------------------------------------------

_SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${dk.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(dk)))
        return hmac.compare_digest(got.hex(), dk)
    except (ValueError, TypeError):
        return False


def teller_login(db, cfg, terminal_id: str, teller_id: str, password: str) -> dict:
    """Checks the password (scrypt); the failure counter and the lock are committed before refusing."""
    bad = ApiError(401, "TELLER_LOGIN_FAILED", "柜员号或密码错误", f"teller login failed for {teller_id!r}")
    refusal: ApiError | None = None
    with db() as s, s.begin():
        t = s.get(Teller, teller_id, with_for_update=True)
        if t is None:
            check_password(password, hash_password("x"))   # same cost as a real check
            raise bad
        now = utcnow()
        if t.locked_until and t.locked_until > now:
            mins = int((t.locked_until - now).total_seconds() // 60) + 1
            raise ApiError(403, "TELLER_LOCKED", f"密码错误次数过多，账户已锁定，请{mins}分钟后再试",
                           f"teller {teller_id} locked until {t.locked_until.isoformat()}")
        if not check_password(password, t.password_hash):
            t.failed_attempts += 1
            refusal = bad
            if t.failed_attempts >= cfg.teller_max_failures:
                t.locked_until = now + timedelta(seconds=cfg.teller_lockout_s)
                t.failed_attempts = 0
                log.warning("teller %s locked after %d failures", teller_id, cfg.teller_max_failures)
        else:
            t.failed_attempts = 0
            t.locked_until = None
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(seconds=cfg.teller_token_ttl_s)
            s.add(TellerToken(token_hash=_sha(token), teller_id=teller_id, terminal_id=terminal_id,
                              expires_at=expires))
            result = {"token": token, "teller_id": teller_id, "name": t.name, "role": t.role,
                      "expires_at": expires.isoformat()}
    if refusal is not None:
        raise refusal
    return result


def teller_for_token(db, token: str, terminal_id: str) -> str:
    with db() as s:
        row = s.get(TellerToken, _sha(token))
        if row is None or row.terminal_id != terminal_id or row.expires_at < utcnow():
            raise ApiError(401, "TELLER_TOKEN_INVALID", "柜员登录已失效，请重新登录",
                           "teller token unknown, expired or from another terminal")
        return row.teller_id


# --- operator ------------------------------------------------------------------------------------------

def require_operator(request: Request) -> str:
    auth = request.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    if not token or not hmac.compare_digest(token, request.app.state.config.operator_token):
        raise ApiError(401, "OPERATOR_TOKEN_INVALID", "操作员认证失败", "missing or wrong operator bearer token")
    return "operator"
