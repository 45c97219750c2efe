"""Idempotency keys (IETF draft-ietf-httpapi-idempotency-key-header): missing key 400, same key with another
payload 422, a retry while the first is still running 409, otherwise the first response is replayed.

The lock is the insert of the key row: the primary key (principal, key) lets exactly one concurrent insert
win on SQLite and on PostgreSQL. The business effect and the stored response are committed in one
transaction, so a crash cannot leave work done without its answer. A 5xx (unexpected failure) releases the
key so a retry can run again; 4xx answers (refusals) are stored and replayed. Keys are kept ≥ 30 days
(`hpf-center purge`)."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Optional

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from center.errors import ApiError
from center.models import IdempotencyRecord, utcnow
from sync import protocol as P

STALE_IN_FLIGHT_S = 120      # an in-flight row older than this belongs to a crashed worker: it may be taken over


def fingerprint(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, (bytes, bytearray)):
            h.update(bytes(p))
        else:
            h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def missing_key() -> ApiError:
    return ApiError(400, P.IdempotencyError.MISSING_KEY.value, "请求缺少幂等键，请重试",
                    f"{P.HEADER_IDEMPOTENCY} header is required on mutating requests")


def key_reused(key: str) -> ApiError:
    return ApiError(422, P.IdempotencyError.PAYLOAD_MISMATCH.value, "该业务编号已用于其他内容，请重新办理",
                    f"idempotency key {key!r} was used with a different payload")


def in_flight(key: str) -> ApiError:
    return ApiError(409, P.IdempotencyError.IN_FLIGHT.value, "该笔业务正在处理中，请稍候",
                    f"idempotency key {key!r} is being processed", headers={"Retry-After": "1"})


def check_key(key: Optional[str]) -> str:
    if not key or not key.strip():
        raise missing_key()
    if len(key) > 255:
        raise ApiError(400, P.IdempotencyError.MISSING_KEY.value, "幂等键格式不正确",
                       "idempotency key longer than 255 characters")
    return key.strip()


@dataclass
class Claim:
    key: str
    state: str                       # "new" | "replay" | "mismatch" | "in_flight"
    token: str = ""
    status_code: int = 0
    response: Optional[dict] = None


def _insert(dialect_name: str):
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(IdempotencyRecord)


def claim_many(session, principal: str, keyed: Iterable[tuple[str, str]]) -> dict[str, Claim]:
    """Claims (key, fingerprint) pairs in the caller's transaction; commit it before doing the work so other
    requests see the in-flight rows. Duplicate keys in one call: the first occurrence decides."""
    pairs: dict[str, str] = {}
    for k, fp in keyed:
        pairs.setdefault(k, fp)
    if not pairs:
        return {}
    token = secrets.token_hex(16)
    now = utcnow()
    ins = _insert(session.get_bind().dialect.name)
    # sorted: two concurrent batches sharing keys take the row locks in the same order (no deadlock on PostgreSQL)
    rows = [dict(principal=principal, key=k, fingerprint=fp, state="in_flight", lock_token=token, created_at=now)
            for k, fp in sorted(pairs.items())]
    for i in range(0, len(rows), 200):
        session.execute(ins.values(rows[i:i + 200]).on_conflict_do_nothing(index_elements=["principal", "key"]))
    found = {r.key: r for r in session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.principal == principal, IdempotencyRecord.key.in_(list(pairs))))}
    out: dict[str, Claim] = {}
    for k, fp in pairs.items():
        r = found.get(k)
        if r is None:                                  # deleted (released) between insert and select: retry later
            out[k] = Claim(k, "in_flight")
        elif r.fingerprint != fp:
            out[k] = Claim(k, "mismatch")
        elif r.state == "done":
            out[k] = Claim(k, "replay", status_code=r.status_code or 200, response=json.loads(r.response or "{}"))
        elif r.lock_token == token:
            out[k] = Claim(k, "new", token=token)
        elif r.created_at < now - timedelta(seconds=STALE_IN_FLIGHT_S):
            newtok = secrets.token_hex(16)
            n = session.execute(update(IdempotencyRecord).where(
                IdempotencyRecord.principal == principal, IdempotencyRecord.key == k,
                IdempotencyRecord.lock_token == r.lock_token, IdempotencyRecord.state == "in_flight")
                .values(lock_token=newtok, created_at=now).execution_options(synchronize_session=False)).rowcount
            out[k] = Claim(k, "new", token=newtok) if n == 1 else Claim(k, "in_flight")
        else:
            out[k] = Claim(k, "in_flight")
    return out


def complete(session, principal: str, claim: Claim, status_code: int, response: dict) -> None:
    """Stores the first answer (in the same transaction as the business effect)."""
    complete_many(session, principal, [(claim, status_code, response)])


_T = IdempotencyRecord.__table__
_COMPLETE = (update(_T).where(_T.c.principal == bindparam("b_principal"), _T.c.key == bindparam("b_key"),
                              _T.c.lock_token == bindparam("b_token"))
             .values(state="done", status_code=bindparam("b_status"), completed_at=bindparam("b_at"),
                     response=bindparam("b_response")))


def complete_many(session, principal: str, done: list[tuple[Claim, int, dict]]) -> None:
    """Stores many first answers with one executemany (Core: no ORM session synchronisation)."""
    if not done:
        return
    now = utcnow()
    session.connection().execute(_COMPLETE, [
        {"b_principal": principal, "b_key": c.key, "b_token": c.token, "b_status": status, "b_at": now,
         "b_response": json.dumps(body, ensure_ascii=False, default=str)} for c, status, body in done])


def release(session, principal: str, claim: Claim) -> None:
    """Forgets a claim whose work failed unexpectedly, so a retry runs it again."""
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.principal == principal, IdempotencyRecord.key == claim.key,
        IdempotencyRecord.lock_token == claim.token, IdempotencyRecord.state == "in_flight")
        .execution_options(synchronize_session=False))


def purge(db, retention_days: int = 30) -> int:
    if retention_days < 30:
        raise ValueError("idempotency keys are kept at least 30 days")
    cutoff = utcnow() - timedelta(days=retention_days)
    with db() as s, s.begin():
        return s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff,
                                                         IdempotencyRecord.state == "done")).rowcount or 0


def run_idempotent(db, principal: str, key: Optional[str], fp: str, work) -> tuple[int, dict, bool]:
    """Generic wrapper for a mutating JSON endpoint: work(session) -> (status, body) or raises ApiError.
    Returns (status, body, replayed)."""
    key = check_key(key)
    with db() as s, s.begin():
        c = claim_many(s, principal, [(key, fp)])[key]
    if c.state == "mismatch":
        raise key_reused(key)
    if c.state == "in_flight":
        raise in_flight(key)
    if c.state == "replay":
        return c.status_code, c.response, True
    try:
        with db() as s, s.begin():
            try:
                with s.begin_nested():
                    status, body = work(s)
            except ApiError as e:
                if e.status >= 500:
                    raise
                status, body = e.status, e.body()
            complete(s, principal, c, status, body)
        return status, body, False
    except BaseException:
        with db() as s, s.begin():
            release(s, principal, c)
        raise
