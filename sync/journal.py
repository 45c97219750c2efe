"""The local journal and outbox: every transaction the terminal starts, durable before anyone is told "done".

`Journal.create(...)` mints the client id (UUIDv7) and writes the journal row and its outbox row in ONE
SQLite transaction (WAL, synchronous=FULL: fsynced at commit). That id is the center's Idempotency-Key for
every retry, forever, so a retry after a crash, a timeout or a lost reply can never create a second
transaction at the center.

States:  draft -> queued -> sending -> accepted | rejected | needs_review      (draft -> canceled)
                    ^          |
                    +----------+  (retryable failure: back to queued with a later next attempt)

Every state change is a row in `history` and an entry in the audit log (kiosk.audit, when provided).
Personal data lives only inside `payload_enc` / `result_enc` / `content_enc` (AES-GCM, see sync.crypto);
the per-person ordering key is a keyed hash.

Receipts and print jobs are journaled by printing.jobs.PrintJournal (reprint after paper-out), not here: the
journal's old, never used `documents` table is dropped by migration 0003 (kept if it ever held rows).
"""
from __future__ import annotations

import enum
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from sync.crypto import FieldCipher
from sync.db import create_journal_engine, migrate
from sync.ids import new_client_id
from sync.models import history, outbox, transactions
from sync.protocol import ItemOutcome, ItemResult, TransactionIn

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class State(str, enum.Enum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"
    CANCELED = "canceled"


FINAL_STATES = (State.ACCEPTED, State.REJECTED, State.NEEDS_REVIEW, State.CANCELED)
PENDING_STATES = (State.QUEUED, State.SENDING)

# What a receipt or a status screen says for each state.
STATUS_TEXT_ZH = {
    State.DRAFT: "未提交",
    State.QUEUED: "已受理，待联网确认",
    State.SENDING: "已受理，待联网确认",
    State.ACCEPTED: "已受理",
    State.REJECTED: "中心未受理",
    State.NEEDS_REVIEW: "待工作人员核对",
    State.CANCELED: "已取消",
}


def status_text_zh(state: State | str) -> str:
    return STATUS_TEXT_ZH[State(state)]


class JournalError(Exception):
    """A journal operation a user or technician can meet: code + Chinese message + English detail."""

    def __init__(self, code: str, message_zh: str, detail: str):
        super().__init__(detail)
        self.code, self.message_zh, self.detail = code, message_zh, detail


class AuditSink(Protocol):
    def append(self, action: str, details: dict) -> Any: ...


@dataclass(frozen=True)
class QueueFigures:
    """What the UI, the heartbeat and the floor limits need to know about the outbox."""
    depth: int                    # queued + sending
    queued_amount_fen: int
    oldest_enqueued_at: Optional[float]
    now: float
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def oldest_age_s(self) -> int:
        return 0 if self.oldest_enqueued_at is None else max(0, int(self.now - self.oldest_enqueued_at))

    @property
    def needs_review(self) -> int:
        return self.by_state.get(State.NEEDS_REVIEW.value, 0)

    @property
    def rejected(self) -> int:
        return self.by_state.get(State.REJECTED.value, 0)


@dataclass
class JournalEntry:
    client_id: str
    kind: str
    state: State
    created_at: datetime
    updated_at: datetime
    amount_fen: Optional[int]
    teller_id: Optional[str]
    offline: bool
    attempts: int
    last_code: Optional[str]
    last_message: Optional[str]
    accepted_at: Optional[datetime]
    review_note: Optional[str] = None
    payload: Optional[dict] = None        # decrypted only when asked for
    result: Optional[dict] = None

    @property
    def status_text_zh(self) -> str:
        return status_text_zh(self.state)

    def as_transaction(self) -> TransactionIn:
        """The exact wire item the worker sends for this entry (same created_at, teller, offline flag), so a
        flow's immediate POST and a later retry carry the same fingerprint under the same key."""
        if self.payload is None:
            raise ValueError("entry was read without its payload")
        return TransactionIn(client_id=self.client_id, kind=self.kind, created_at=self.created_at,
                             payload=self.payload, teller_id=self.teller_id, offline=self.offline)


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    from_state: Optional[str]
    to_state: str
    code: Optional[str]
    note: Optional[str]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="microseconds")


def _dt(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text else None


class Journal:
    """Open with Journal.open(settings) or Journal(db_path, key_file). Thread-safe; several processes may
    open the same file (SQLite WAL). Only one sync worker at a time (see sync.worker)."""

    def __init__(self, db_path: Path, key_file: Path, *, audit: AuditSink | None = None,
                 clock: Callable[[], float] = time.time):
        self.db_path = Path(db_path)
        self.cipher = FieldCipher.from_key_file(Path(key_file))
        self.audit = audit
        self.clock = clock
        self.engine = create_journal_engine(self.db_path)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        migrate(self.engine)

    @classmethod
    def open(cls, settings, *, audit: AuditSink | None = None, clock: Callable[[], float] = time.time) -> "Journal":
        return cls(settings.journal_db, journal_key_file(settings), audit=audit, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- creating ------------------------------------------------------------------------------------

    def create(self, kind: str, payload: dict, *, amount_fen: int | None = None, person_key: str | None = None,
               teller_id: str | None = None, offline: bool = False, draft: bool = False,
               guard: Callable[[QueueFigures], None] | None = None) -> JournalEntry:
        """Journal a new transaction and its outbox row atomically; returns once fsynced.

        `guard(figures)` runs inside the write transaction (after the lock is taken) and may raise to refuse,
        so floor limits hold even with two writers. `person_key` (e.g. the ID number) is only stored hashed."""
        if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int)):
            raise TypeError("amount_fen must be an int (fen), not %s" % type(amount_fen).__name__)
        if not isinstance(payload, dict):
            raise TypeError("payload must be a dict")
        client_id = new_client_id()
        now = self.clock()
        stamp = _iso(now)
        try:   # refuse now what could never be sent later (kind too long, payload not JSON ...)
            TransactionIn(client_id=client_id, kind=kind, created_at=_dt(stamp), payload=payload,
                          teller_id=teller_id, offline=bool(offline))
            plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                               allow_nan=False)
        except (ValueError, TypeError) as exc:
            raise JournalError("JOURNAL_INVALID_ITEM", "业务信息不完整，无法受理。",
                               f"transaction cannot be journaled: {exc}") from None
        state = State.DRAFT if draft else State.QUEUED
        tag = self.cipher.person_tag(person_key)
        sealed = self.cipher.seal_bytes(plain.encode("utf-8"), client_id)
        stored_payload = json.loads(plain)      # exactly what a retry will send, immune to later mutation
        with self._writer.begin() as conn:
            if guard is not None:
                guard(self._figures(conn, now))
            conn.execute(transactions.insert().values(
                client_id=client_id, kind=kind, state=state.value, created_at=stamp, updated_at=stamp,
                amount_fen=amount_fen, person_tag=tag, teller_id=teller_id, offline=bool(offline),
                payload_enc=sealed, attempts=0))
            conn.execute(outbox.insert().values(
                client_id=client_id, person_tag=tag, ready=not draft, enqueued_at=now, next_attempt_at=now,
                amount_fen=amount_fen))
            conn.execute(history.insert().values(client_id=client_id, from_state=None, to_state=state.value,
                                                 at=stamp, code=None, note="offline" if offline else None))
        self._audit("journal.create", client_id=client_id, kind=kind, state=state.value, amount_fen=amount_fen,
                    offline=bool(offline), teller_id=teller_id)
        return JournalEntry(client_id=client_id, kind=kind, state=state, created_at=_dt(stamp),
                            updated_at=_dt(stamp), amount_fen=amount_fen, teller_id=teller_id,
                            offline=bool(offline), attempts=0, last_code=None, last_message=None,
                            accepted_at=None, payload=stored_payload)

    def submit_draft(self, client_id: str) -> None:
        """draft -> queued (the customer confirmed)."""
        self._transition_one(client_id, State.DRAFT, State.QUEUED, code=None, note="confirmed",
                             outbox_update={"ready": True, "enqueued_at": self.clock(),
                                            "next_attempt_at": self.clock()})

    def cancel_draft(self, client_id: str) -> None:
        """draft -> canceled (the customer walked away before confirming)."""
        self._transition_one(client_id, State.DRAFT, State.CANCELED, code=None, note="canceled",
                             outbox_delete=True)

    def retry(self, client_id: str, *, by: str = "technician") -> None:
        """Staff: send an item again now (needs_review -> queued, or reset the backoff of a queued item).

        A center refusal (rejected) is final: the same key would get the same answer. Start a new
        transaction instead."""
        entry = self.get(client_id, with_payload=False)
        now = self.clock()
        if entry.state in (State.QUEUED, State.SENDING):
            with self._writer.begin() as conn:
                conn.execute(outbox.update().where(outbox.c.client_id == client_id).values(next_attempt_at=now))
                self._record(conn, [client_id], entry.state.value, entry.state.value, _iso(now), "RETRY_NOW",
                             f"retry requested by {by}")
        elif entry.state == State.NEEDS_REVIEW:
            with self._writer.begin() as conn:
                conn.execute(transactions.update().where(transactions.c.client_id == client_id).values(
                    state=State.QUEUED.value, updated_at=_iso(now)))
                conn.execute(outbox.insert().values(
                    client_id=client_id, person_tag=self._person_tag_of(conn, client_id), ready=True,
                    enqueued_at=now, next_attempt_at=now, amount_fen=entry.amount_fen))
                self._record(conn, [client_id], State.NEEDS_REVIEW.value, State.QUEUED.value, _iso(now),
                             "RETRY_NOW", f"requeued by {by}")
        else:
            raise JournalError("QUEUE_RETRY_NOT_ALLOWED", "该笔业务当前状态不能重发。",
                               f"transaction {client_id} is {entry.state.value}; only queued, sending or "
                               f"needs_review items can be retried")
        self._audit("journal.retry", client_id=client_id, state=entry.state.value, by=by)

    # --- reading -------------------------------------------------------------------------------------

    def get(self, client_id: str, *, with_payload: bool = True) -> JournalEntry:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(transactions).where(transactions.c.client_id == client_id)).first()
        if row is None:
            raise JournalError("QUEUE_ITEM_NOT_FOUND", "未找到该笔业务记录。", f"no transaction {client_id}")
        return self._entry(row, with_payload)

    def find(self, prefix: str) -> JournalEntry:
        """By full client id or a unique prefix (technicians type the first characters)."""
        prefix = (prefix or "").strip().lower()
        if len(prefix) < 4:
            raise JournalError("QUEUE_ID_TOO_SHORT", "请输入至少4位业务编号。", "give at least 4 characters of the id")
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(transactions.c.client_id).where(
                transactions.c.client_id.like(prefix.replace("%", "").replace("_", "\\_") + "%", escape="\\")
            ).limit(2)).all()
        if not rows:
            raise JournalError("QUEUE_ITEM_NOT_FOUND", "未找到该笔业务记录。", f"no transaction {prefix}*")
        if len(rows) > 1:
            raise JournalError("QUEUE_ID_AMBIGUOUS", "业务编号不唯一，请输入更多位。",
                               f"more than one transaction starts with {prefix}")
        return self.get(rows[0][0])

    def list(self, state: State | str | None = None, limit: int = 100, newest_first: bool = True) -> list[JournalEntry]:
        q = sa.select(transactions)
        if state:
            q = q.where(transactions.c.state == State(state).value)
        order = transactions.c.created_at.desc() if newest_first else transactions.c.created_at.asc()
        q = q.order_by(order, transactions.c.client_id).limit(limit)
        with self.engine.connect() as conn:
            return [self._entry(r, False) for r in conn.execute(q)]

    def iter_all(self, with_payload: bool = False, chunk: int = 500) -> Iterable[JournalEntry]:
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(transactions).where(transactions.c.client_id > last)
                                    .order_by(transactions.c.client_id).limit(chunk)).all()
            if not rows:
                return
            for r in rows:
                yield self._entry(r, with_payload)
            last = rows[-1].client_id

    def history(self, client_id: str) -> list[HistoryRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(history).where(history.c.client_id == client_id).order_by(history.c.id))
            return [HistoryRow(_dt(r.at), r.from_state, r.to_state, r.code, r.note) for r in rows]

    def figures(self) -> QueueFigures:
        with self.engine.connect() as conn:
            return self._figures(conn, self.clock())

    def accepted_ids(self, day: date | None = None) -> set[str]:
        """Client ids the center accepted, optionally only those accepted on `day` (Asia/Shanghai), which
        is how the center's reconcile groups them (by the day it received them)."""
        q = sa.select(transactions.c.client_id).where(transactions.c.state == State.ACCEPTED.value)
        if day is not None:
            start = datetime.combine(day, datetime.min.time(), LOCAL_TZ).astimezone(timezone.utc)
            end = start + timedelta(days=1)
            q = q.where(transactions.c.accepted_at >= start.isoformat(timespec="microseconds"),
                        transactions.c.accepted_at < end.isoformat(timespec="microseconds"))
        with self.engine.connect() as conn:
            return {r.client_id for r in conn.execute(q)}

    def states_of(self, client_ids: Iterable[str]) -> dict[str, State]:
        ids = list(client_ids)
        out: dict[str, State] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                for cid, st in conn.execute(sa.select(transactions.c.client_id, transactions.c.state).where(
                        transactions.c.client_id.in_(ids[i:i + 500]))):
                    out[cid] = State(st)
        return out

    # --- the sync worker's side ----------------------------------------------------------------------

    def next_batch(self, limit: int) -> list[TransactionIn]:
        """Up to `limit` items due now, oldest first, at most the head item of each person (so one person's
        transactions reach the center in the order they were made; a person whose head item is waiting for a
        retry waits as a whole)."""
        o, p, t = outbox, outbox.alias("p"), transactions
        earlier = sa.exists().where(p.c.person_tag == o.c.person_tag, p.c.ready.is_(True), p.c.seq < o.c.seq)
        q = (sa.select(t.c.client_id, t.c.kind, t.c.created_at, t.c.payload_enc, t.c.teller_id, t.c.offline)
             .join_from(o, t, o.c.client_id == t.c.client_id)
             .where(o.c.ready.is_(True), o.c.next_attempt_at <= self.clock(),
                    sa.or_(o.c.person_tag.is_(None), ~earlier))
             .order_by(o.c.seq).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out, poisoned = [], []
        for r in rows:
            try:
                out.append(TransactionIn(client_id=r.client_id, kind=r.kind, created_at=_dt(r.created_at),
                                         payload=self.cipher.open(r.payload_enc, r.client_id),
                                         teller_id=r.teller_id, offline=bool(r.offline)))
            except Exception as exc:     # one unreadable row must not block the whole queue
                log.error("journal row %s cannot be sent (%s); moved to needs_review", r.client_id, exc)
                poisoned.append(r.client_id)
        if poisoned:
            self._set_review(poisoned, "JOURNAL_ROW_UNREADABLE")
        return out

    def _set_review(self, client_ids: list[str], code: str) -> None:
        stamp = _iso(self.clock())
        with self._writer.begin() as conn:
            current = self._pending(conn, client_ids)
            ids = [c for c in client_ids if c in current]
            if not ids:
                return
            conn.execute(transactions.update().where(transactions.c.client_id.in_(ids)).values(
                state=State.NEEDS_REVIEW.value, updated_at=stamp, last_code=code,
                last_message="本地记录无法读取，请工作人员核对。"))
            conn.execute(outbox.delete().where(outbox.c.client_id.in_(ids)))
            self._record_many(conn, ids, None, State.NEEDS_REVIEW.value, stamp, code, None, from_states=current)
        self._audit("journal.needs_review", count=len(ids), code=code, client_ids=ids)

    def is_next_for_person(self, client_id: str) -> bool:
        """True if no earlier transaction of the same person is still waiting to be sent. A flow that wants
        to POST a new item at once should check this first; if False, leave it queued (and wake the worker)
        so the person's transactions reach the center in the order they were made."""
        o, p = outbox, outbox.alias("p")
        q = sa.select(sa.exists().where(p.c.person_tag == o.c.person_tag, p.c.ready.is_(True),
                                        p.c.seq < o.c.seq)).where(o.c.client_id == client_id)
        with self.engine.connect() as conn:
            blocked = conn.execute(q).scalar()
        return not blocked

    def mark_sending(self, client_ids: list[str], lease_s: float = 120.0) -> None:
        """queued -> sending. The outbox rows are leased for `lease_s` (longer than any HTTP timeout), so the
        worker does not pick up an item a flow is sending right now, nor the reverse."""
        if not client_ids:
            return
        now = self.clock()
        with self._writer.begin() as conn:
            current = self._pending(conn, client_ids)
            ids = [c for c in client_ids if c in current]
            if not ids:
                return
            conn.execute(transactions.update().where(transactions.c.client_id.in_(ids)).values(
                state=State.SENDING.value, attempts=transactions.c.attempts + 1, updated_at=_iso(now)))
            conn.execute(outbox.update().where(outbox.c.client_id.in_(ids)).values(next_attempt_at=now + lease_s))
            self._record_many(conn, ids, State.QUEUED.value, State.SENDING.value, _iso(now), None, None,
                              from_states=current)
        self._audit("journal.sending", count=len(ids), client_ids=ids)

    def apply_results(self, results: list[ItemResult], retry_delay_s: Callable[[ItemResult], float] | None = None
                      ) -> dict[str, list[ItemResult]]:
        """Record the center's per-item outcomes (one write transaction, bulk statements). Returns them grouped
        by the state each item went to."""
        now = self.clock()
        stamp = _iso(now)
        grouped: dict[str, list[ItemResult]] = {s.value: [] for s in State}
        final_rows: list[dict] = []
        retry_rows: list[dict] = []
        hist_rows: list[dict] = []
        with self._writer.begin() as conn:
            current = self._pending(conn, [r.client_id for r in results])
            for r in results:
                frm = current.pop(r.client_id, None)
                if frm is None:
                    continue        # already final, or a duplicate result: never move a final state
                if r.outcome == ItemOutcome.ACCEPTED:
                    to = State.ACCEPTED
                elif r.outcome == ItemOutcome.REJECTED:
                    # 422 "same key, other payload" means our journal and the center disagree: a person
                    # must look; every other refusal is the center's final business answer.
                    to = State.NEEDS_REVIEW if r.code == "IDEMPOTENCY_KEY_REUSED" else State.REJECTED
                else:               # in flight at the center, or a server error: same key, later
                    to = State.QUEUED
                row = {"cid": r.client_id, "state": to.value, "code": r.code, "msg": r.message or None}
                if to == State.QUEUED:
                    row["next_at"] = now + (retry_delay_s(r) if retry_delay_s else 5.0)
                    retry_rows.append(row)
                else:
                    row["accepted_at"] = stamp if to == State.ACCEPTED else None
                    row["result"] = self.cipher.seal(r.result, r.client_id) if (r.result or to == State.ACCEPTED) \
                        else None
                    final_rows.append(row)
                hist_rows.append({"client_id": r.client_id, "from_state": frm, "to_state": to.value, "at": stamp,
                                  "code": r.code, "note": "replayed" if r.replayed else None})
                grouped[to.value].append(r)
            t, b = transactions, sa.bindparam
            if final_rows:
                conn.execute(t.update().where(t.c.client_id == b("cid")).values(
                    state=b("state"), updated_at=stamp, accepted_at=b("accepted_at"), last_code=b("code"),
                    last_message=b("msg"), result_enc=b("result")), final_rows)
                ids = [r["cid"] for r in final_rows]
                for i in range(0, len(ids), 500):
                    conn.execute(outbox.delete().where(outbox.c.client_id.in_(ids[i:i + 500])))
            if retry_rows:
                conn.execute(t.update().where(t.c.client_id == b("cid")).values(
                    state=b("state"), updated_at=stamp, last_code=b("code"), last_message=b("msg")), retry_rows)
                conn.execute(outbox.update().where(outbox.c.client_id == b("cid")).values(
                    next_attempt_at=b("next_at")), retry_rows)
            if hist_rows:
                conn.execute(history.insert(), hist_rows)
        for state_name, items in grouped.items():
            if items and state_name != State.QUEUED.value:
                self._audit(f"journal.{state_name}", count=len(items),
                            items=[{"client_id": r.client_id, "code": r.code} for r in items])
        return grouped

    def requeue(self, client_ids: list[str], delay_s: float, code: str, message: str = "") -> None:
        """The whole upload failed (network, timeout, 5xx): back to queued with the same key."""
        if not client_ids:
            return
        now = self.clock()
        with self._writer.begin() as conn:
            current = self._pending(conn, client_ids)
            ids = [c for c in client_ids if c in current]
            if not ids:
                return
            conn.execute(transactions.update().where(transactions.c.client_id.in_(ids)).values(
                state=State.QUEUED.value, updated_at=_iso(now), last_code=code, last_message=message or None))
            conn.execute(outbox.update().where(outbox.c.client_id.in_(ids)).values(next_attempt_at=now + delay_s))
            self._record_many(conn, ids, None, State.QUEUED.value, _iso(now), code, None, from_states=current)
        self._audit("journal.requeue", count=len(ids), code=code)

    def recover_interrupted(self) -> int:
        """After a crash: items left in `sending` go back to `queued` (same key; the center replays)."""
        now = self.clock()
        with self._writer.begin() as conn:
            ids = [r[0] for r in conn.execute(sa.select(transactions.c.client_id).where(
                transactions.c.state == State.SENDING.value))]
            if ids:
                conn.execute(transactions.update().where(transactions.c.client_id.in_(ids)).values(
                    state=State.QUEUED.value, updated_at=_iso(now)))
                conn.execute(outbox.update().where(outbox.c.client_id.in_(ids)).values(next_attempt_at=now))
                self._record_many(conn, ids, State.SENDING.value, State.QUEUED.value, _iso(now),
                                  "RESUMED_AFTER_RESTART", None)
        if ids:
            log.info("resumed %d transactions that were being sent when the worker stopped", len(ids))
            self._audit("journal.recover", count=len(ids))
        return len(ids)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking writers (called by the sync worker when idle,
        so the fsync of a checkpoint does not land on a customer's enqueue)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            conn.rollback()

    def set_review_note(self, client_id: str, note: str, *, by: str = "staff") -> None:
        with self._writer.begin() as conn:
            n = conn.execute(transactions.update().where(transactions.c.client_id == client_id).values(
                review_note=note, updated_at=_iso(self.clock()))).rowcount
        if not n:
            raise JournalError("QUEUE_ITEM_NOT_FOUND", "未找到该笔业务记录。", f"no transaction {client_id}")
        self._audit("journal.review_note", client_id=client_id, by=by)

    # --- internals -----------------------------------------------------------------------------------

    def _figures(self, conn, now: float) -> QueueFigures:
        depth, amount, oldest = conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(outbox.c.amount_fen), 0),
            sa.func.min(outbox.c.enqueued_at)).where(outbox.c.ready.is_(True))).one()
        by_state = {s: n for s, n in conn.execute(
            sa.select(transactions.c.state, sa.func.count()).group_by(transactions.c.state))}
        return QueueFigures(depth=int(depth), queued_amount_fen=int(amount), oldest_enqueued_at=oldest,
                            now=now, by_state=by_state)

    def _pending(self, conn, client_ids: list[str]) -> dict[str, str]:
        """client_id -> state for those of `client_ids` still queued or sending."""
        out: dict[str, str] = {}
        for i in range(0, len(client_ids), 500):
            chunk = client_ids[i:i + 500]
            for cid, st in conn.execute(sa.select(transactions.c.client_id, transactions.c.state).where(
                    transactions.c.client_id.in_(chunk),
                    transactions.c.state.in_([s.value for s in PENDING_STATES]))):
                out[cid] = st
        return out

    def _person_tag_of(self, conn, client_id: str) -> Optional[str]:
        return conn.execute(sa.select(transactions.c.person_tag).where(
            transactions.c.client_id == client_id)).scalar()

    def _transition_one(self, client_id: str, frm: State, to: State, *, code: str | None, note: str | None,
                        outbox_update: dict | None = None, outbox_delete: bool = False) -> None:
        stamp = _iso(self.clock())
        with self._writer.begin() as conn:
            n = conn.execute(transactions.update().where(
                transactions.c.client_id == client_id, transactions.c.state == frm.value).values(
                state=to.value, updated_at=stamp)).rowcount
            if not n:
                raise JournalError("QUEUE_STATE_CONFLICT", "该笔业务状态已变化，请刷新后重试。",
                                   f"transaction {client_id} is not {frm.value}")
            if outbox_update:
                conn.execute(outbox.update().where(outbox.c.client_id == client_id).values(**outbox_update))
            if outbox_delete:
                conn.execute(outbox.delete().where(outbox.c.client_id == client_id))
            self._record(conn, [client_id], frm.value, to.value, stamp, code, note)
        self._audit(f"journal.{to.value}", client_id=client_id, from_state=frm.value)

    def _record(self, conn, ids, frm, to, stamp, code, note) -> None:
        conn.execute(history.insert(), [{"client_id": c, "from_state": frm, "to_state": to, "at": stamp,
                                         "code": code, "note": note} for c in ids])

    def _record_many(self, conn, ids, frm, to, stamp, code, note, from_states: dict | None = None) -> None:
        conn.execute(history.insert(), [{"client_id": c, "from_state": (from_states or {}).get(c, frm),
                                         "to_state": to, "at": stamp, "code": code, "note": note} for c in ids])

    def _entry(self, r, with_payload: bool) -> JournalEntry:
        return JournalEntry(
            client_id=r.client_id, kind=r.kind, state=State(r.state), created_at=_dt(r.created_at),
            updated_at=_dt(r.updated_at), amount_fen=r.amount_fen, teller_id=r.teller_id, offline=bool(r.offline),
            attempts=r.attempts, last_code=r.last_code, last_message=r.last_message,
            accepted_at=_dt(r.accepted_at), review_note=r.review_note,
            payload=self.cipher.open(r.payload_enc, r.client_id) if with_payload else None,
            result=self.cipher.open(r.result_enc, r.client_id) if with_payload and r.result_enc else None)

    def audit_event(self, action: str, **details) -> None:
        """Record a staff action on the journal (show, export ...) in the audit log."""
        self._audit(action, **details)

    def _audit(self, action: str, **details) -> None:
        if self.audit is None:
            return
        try:
            self.audit.append(action, details)
        except Exception:   # the journal row is already durable; a failing audit sink must be seen, not fatal
            log.exception("audit append failed for %s", action)


def journal_key_file(settings) -> Path:
    """The AES key of the journal lives next to it (mode 0600)."""
    return Path(settings.paths.data_dir) / "journal.key"
