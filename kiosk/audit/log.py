"""Append-only, HMAC-chained, masked audit log (ARCHITECTURE.md "Audit log"; ux-sync-security.md audit rules).

Record n: seq, ts (UTC ISO-8601), actor (user), action (event type), target, result, details (JSON),
prev_hash, hash — time, user, event type and result as GB/T 22239 Level 3 asks — where
    hash_n = HMAC-SHA256(key, prev_hash_n || canonical JSON {seq, ts, actor, action, target, result, details})
and prev_hash_n = hash_(n-1) (64 zeros for the first). Actor, target and every string inside details pass
through kiosk.domain.masking.mask_text (UUIDs such as client ids kept whole) before they are hashed and stored, so the log never holds personal
data in clear.

Storage: SQLite, WAL, synchronous=FULL; triggers refuse UPDATE and DELETE through SQLite. The schema carries a
version (PRAGMA user_version, SCHEMA_VERSION): an older log is upgraded in place on open (its records keep the
form they were signed in); a newer or unknown one is refused with AuditError (AUDIT_SCHEMA_NEWER /
AUDIT_SCHEMA_UNKNOWN), an English log line and what to do, and left untouched. A sidecar head file
(<db>.head, JSON {seq, hash, mac}) is rewritten atomically (write + rename) after each append, MACed with the
same key; the head is also what the terminal reports to the center on sync. verify() compares the table with
it, so dropping the last records (truncation) shows even though the remaining chain is intact.

Durability: the records are fsynced at commit (synchronous=FULL) before append returns. The head file is a
lower bound for verify (a head behind the table is fine; only a head ahead of it means truncation), so it is
NOT fsynced on the append path: a kill -9 leaves either the old or the new head (rename is atomic and the page
cache survives), both behind or at the fsynced table. A background thread fsyncs it (and its directory) at most
HEAD_SYNC_INTERVAL_S after an append, and close()/sync_head() do so at once; the head therefore never becomes
durable before the records it names.

Several threads may share one AuditLog; several processes may append to the same file (BEGIN IMMEDIATE)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
import weakref
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from kiosk.domain.masking import mask_text

log = logging.getLogger(__name__)

GENESIS = "0" * 64
KEY_BYTES = 32
HEAD_SYNC_INTERVAL_S = 1.0       # the head file is fsynced by a background thread at most this late
# Schema versions (PRAGMA user_version):
#   1  the first release: no `result` column (records signed without it); user_version was left at 0
#   2  `result` added (records signed with it); an upgraded v1 table keeps NULL there for its old records, which
#      are verified exactly as they were signed
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL DEFAULT 'ok',
    details   TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
"""
_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""
_V1_COLUMNS = {"seq", "ts", "actor", "action", "target", "details", "prev_hash", "hash"}
_V2_COLUMNS = _V1_COLUMNS | {"result"}


class AuditError(Exception):
    """Audit storage or key problem. `code` and `message_zh` for the technician's screen."""

    def __init__(self, code: str, message_en: str, message_zh: str = "审计日志异常，请联系技术人员"):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


def audit_key_file(settings) -> Path:
    """The audit HMAC key lives next to the audit database (mode 0600).

    It is deliberately not settings.key_file (terminal.key): that file is written by enrollment, and
    replacing it would make every earlier audit record fail verification."""
    return Path(settings.paths.data_dir) / "audit.key"


def load_or_create_key(path: "str | Path") -> bytes:
    """Read the 32-byte key; create it (0600, O_EXCL, fsynced) if missing. Refuse group/other access."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise AuditError("AUDIT_KEY_UNREADABLE", f"cannot create audit key {path}: {exc.strerror}") from None
    else:
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("created audit key file %s (mode 0600)", path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError("AUDIT_KEY_UNREADABLE", f"cannot read audit key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditError("AUDIT_KEY_PERMISSIONS",
                         f"audit key {path} is accessible by group/others (mode {oct(mode & 0o777)}); chmod 600 it",
                         "审计密钥文件权限不安全，请联系技术人员")
    if len(data) < KEY_BYTES:
        raise AuditError("AUDIT_KEY_INVALID", f"audit key {path} has {len(data)} bytes, need {KEY_BYTES}")
    return data


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


# A UUID (the journal's client ids are UUIDv7) is an identifier, not personal data; mask_text would take its
# last group for a phone or card number when it is mostly digits, and the record could no longer be matched
# with its transaction. UUIDs are kept; every other part of the text is masked.
_UUID = re.compile(r"(?<![0-9A-Za-z])([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
                   r"(?![0-9A-Za-z])")


def _mask(text: str) -> str:
    if "-" not in text:
        return mask_text(text)
    parts = _UUID.split(text)       # odd indexes are the UUIDs
    return "".join(part if i % 2 else mask_text(part) for i, part in enumerate(parts))


def _mask_value(value: Any) -> Any:
    """Mask personal data anywhere inside details (strings, and numbers that are really ID/phone/card)."""
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    if isinstance(value, dict):
        return {_mask(str(k)): _mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_mask_value(v) for v in value]
    return _mask(str(value))


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    result: Optional[str]       # None only for records written by schema 1, which were signed without it
    details: dict
    prev_hash: str
    hash: str

    def body(self) -> dict:
        body = {"seq": self.seq, "ts": self.ts, "actor": self.actor, "action": self.action,
                "target": self.target, "result": self.result, "details": self.details}
        if self.result is None:
            del body["result"]
        return body


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str        # edited | inserted | deleted | reordered | truncated | head
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyReport:
    records: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for p in self.problems:
            out.setdefault(p.seq, set()).add(p.kind)
        return out

    def summary(self) -> str:
        if self.ok:
            return f"audit log OK: {self.records} records, head seq {self.head_seq} {self.head_hash[:16]}…"
        lines = [f"audit log TAMPERED: {len(self.problems)} problem(s) in {self.records} records"]
        lines += ["  " + str(p) for p in self.problems]
        return "\n".join(lines)


class AuditLog:
    def __init__(self, path: "str | Path", key: bytes):
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise AuditError("AUDIT_KEY_INVALID", "audit key must be at least 16 bytes")
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._key = bytes(key)
        self._lock = threading.RLock()
        self._head_dirty = threading.Event()      # a head was written but not fsynced yet
        self._head_stop = threading.Event()
        self._head_thread: threading.Thread | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._ensure_schema()
        except AuditError as exc:
            self._db.close()
            log.error("%s [%s]", exc, exc.code)
            raise
        except (sqlite3.DatabaseError, OSError) as exc:
            raise AuditError("AUDIT_DB", f"cannot open audit database {self.path}: {exc}") from None

    def _ensure_schema(self) -> None:
        """Create the schema, or bring an older one to SCHEMA_VERSION in one IMMEDIATE transaction. A database
        from newer software, or one that is not an audit log, is refused with a code and what to do."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            columns = {r[1] for r in db.execute("PRAGMA table_info(audit)")}
            others = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'audit' "
                                               "AND name NOT LIKE 'sqlite_%'")]
            if version > SCHEMA_VERSION:
                raise AuditError("AUDIT_SCHEMA_NEWER",
                                 f"audit database {self.path} has schema version {version}, this software knows up to "
                                 f"{SCHEMA_VERSION}: it was written by a newer kiosk version. Install that version "
                                 f"again (or newer); do not delete the file, it is the terminal's audit trail",
                                 "审计日志由较新版本的软件写入，请升级终端软件后再试，请联系技术人员")
            if not columns:
                if others:
                    raise AuditError("AUDIT_SCHEMA_UNKNOWN",
                                     f"{self.path} is an SQLite database but not an audit log (tables: "
                                     f"{', '.join(sorted(others))[:200]}); check paths.audit_db in the settings",
                                     "审计日志文件不正确，请联系技术人员检查配置")
                db.execute(_SCHEMA)
                before = None
            elif columns == _V2_COLUMNS:
                before = version or 2          # v2 tables made before the version was recorded carry 0
            elif columns == _V1_COLUMNS and version in (0, 1):
                db.execute("ALTER TABLE audit ADD COLUMN result TEXT")     # NULL for the v1 records
                before = 1
            else:
                raise AuditError("AUDIT_SCHEMA_UNKNOWN",
                                 f"audit table in {self.path} has unexpected columns {sorted(columns)} (schema version "
                                 f"{version}); keep the file for inspection, move it aside and start a new log "
                                 f"(hpf-kiosk audit backup first), and report it",
                                 "审计日志格式无法识别，请联系技术人员")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            for stmt in _TRIGGERS.strip().split("END;"):
                if stmt.strip():
                    db.execute(stmt + "END;")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if before is not None and before != SCHEMA_VERSION:
            log.info("audit database %s upgraded from schema %s to %s", self.path, before, SCHEMA_VERSION)

    @classmethod
    def open(cls, settings) -> "AuditLog":
        return cls(settings.audit_db, load_or_create_key(audit_key_file(settings)))

    def close(self) -> None:
        self._head_stop.set()
        self._head_dirty.set()
        thread = self._head_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.sync_head()
        with self._lock:
            self._db.close()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------------

    def _mac(self, prev_hash: str, body: dict) -> str:
        return hmac.new(self._key, prev_hash.encode("ascii") + _canonical(body), hashlib.sha256).hexdigest()

    def append(self, actor: str, action: str, target: str = "", details: dict | None = None,
               result: str = "ok") -> AuditRecord:
        """Add one record (masked) and move the head. Durable when it returns.

        `result` is the outcome in a word or code: "ok", "refused:WD_TOO_SOON", "failed", "cancelled"…"""
        return self.append_many([dict(actor=actor, action=action, target=target, details=details,
                                      result=result)])[0]

    def append_many(self, entries: "list[dict]") -> list[AuditRecord]:
        """Add several records in one transaction and one fsync (each entry: the keyword arguments of
        append). With synchronous=FULL one append costs a few fsyncs; batch when logging many changes."""
        prepared = []
        for e in entries:
            actor, action = e.get("actor"), e.get("action")
            if not actor or not action:
                raise AuditError("AUDIT_FIELDS", "audit records need an actor and an action")
            prepared.append((_mask(str(actor)), _mask(str(action)), _mask(str(e.get("target") or "")),
                             _mask(str(e.get("result", "ok") or "")), _mask_value(dict(e.get("details") or {}))))
        if not prepared:
            return []
        out: list[AuditRecord] = []
        with self._lock:
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                row = cur.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (row[0], row[1]) if row else (0, GENESIS)
                for actor, action, target, result, details in prepared:
                    seq += 1
                    ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
                    rec = AuditRecord(seq, ts, actor, action, target, result, details, prev, "")
                    digest = self._mac(prev, rec.body())
                    cur.execute("INSERT INTO audit (seq, ts, actor, action, target, result, details, prev_hash, "
                                "hash) VALUES (?,?,?,?,?,?,?,?,?)",
                                (seq, ts, actor, action, target, result, _canonical(details).decode("utf-8"),
                                 prev, digest))
                    out.append(AuditRecord(seq, ts, actor, action, target, result, details, prev, digest))
                    prev = digest
                cur.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise AuditError("AUDIT_WRITE", f"cannot append to the audit log {self.path}: {exc}") from None
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            try:
                self._write_head(out[-1].seq, out[-1].hash)
            except OSError as exc:   # the records are durable; the next append rewrites the head
                log.error("audit head file %s not written: %s", self.head_path, exc.strerror)
            else:
                self._schedule_head_sync()
        return out

    def sink(self, actor: str = "system") -> "AuditSinkAdapter":
        """An object with append(action, details) for code that only knows actions (sync.journal.AuditSink)."""
        return AuditSinkAdapter(self, actor)

    def _head_mac(self, seq: int, digest: str) -> str:
        return hmac.new(self._key, f"head|{seq}|{digest}".encode("ascii"), hashlib.sha256).hexdigest()

    def _write_head(self, seq: int, digest: str) -> None:
        """Atomic replace, no fsync (see the module doc: the head is a lower bound; the fsync is deferred)."""
        data = json.dumps({"seq": seq, "hash": digest, "mac": self._head_mac(seq, digest)}).encode()
        tmp = self.head_path.with_name(self.head_path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.head_path)

    def _schedule_head_sync(self) -> None:
        self._head_dirty.set()
        if self._head_thread is None and not self._head_stop.is_set():
            # The thread holds only a weak reference: an AuditLog dropped without close() is still collected,
            # and the finalizer stops the thread and syncs the last head.
            self._head_thread = threading.Thread(target=_head_syncer, name="audit-head-sync", daemon=True,
                                                 args=(weakref.ref(self), self._head_dirty, self._head_stop))
            weakref.finalize(self, _stop_and_sync, self._head_stop, self._head_dirty, self.head_path)
            self._head_thread.start()

    def sync_head(self) -> None:
        """Make the current head file durable (fsync the file and its directory). Called by the background
        thread, by close(), and by whoever is about to report the head (heartbeat) if it wants it durable."""
        self._head_dirty.clear()
        _fsync_head(self.head_path)

    # --- reading ----------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record in the table; (0, GENESIS) when empty."""
        with self._lock:
            row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def stored_head(self) -> tuple[int, str] | None:
        """The sidecar head, or None if absent/unreadable/forged."""
        try:
            data = json.loads(self.head_path.read_text())
            seq, digest, mac = int(data["seq"]), str(data["hash"]), str(data["mac"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not hmac.compare_digest(mac, self._head_mac(seq, digest)):
            return None
        return seq, digest

    def _rows(self) -> list[AuditRecord]:
        try:
            with self._lock:
                rows = self._db.execute("SELECT seq, ts, actor, action, target, result, details, prev_hash, hash "
                                        "FROM audit ORDER BY rowid").fetchall()
        except sqlite3.DatabaseError as exc:
            raise AuditError("AUDIT_READ", f"cannot read the audit log {self.path}: {exc}") from None
        out = []
        for seq, ts, actor, action, target, result, details, prev, digest in rows:
            try:
                parsed = json.loads(details)
            except ValueError:
                parsed = {"__unparseable__": details}
            out.append(AuditRecord(seq, ts, actor, action, target, result, parsed, prev, digest))
        return out

    def backup(self, dest: "str | Path") -> Path:
        """Consistent online copy of the log and its head (SQLite backup API), for the off-box copy that
        GB/T 22239 asks for. The copy verifies with the same key."""
        dest = Path(dest)
        if dest.exists():
            raise AuditError("AUDIT_BACKUP_EXISTS", f"backup target {dest} already exists; refusing to overwrite")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            target = sqlite3.connect(dest)
            try:
                self._db.backup(target)
            finally:
                target.close()
            head = self.head_path.read_bytes() if self.head_path.exists() else None
        if head is not None:
            dest.with_name(dest.name + ".head").write_bytes(head)
        return dest

    def tail(self, n: int = 20) -> list[AuditRecord]:
        return [r for r in self._rows()[-n:]] if n > 0 else []

    def __iter__(self) -> Iterator[AuditRecord]:
        return iter(self._rows())

    # --- verification ------------------------------------------------------------------------------

    def _signed_as(self, rec: AuditRecord, seq: int) -> bool:
        body = dict(rec.body(), seq=seq)
        return hmac.compare_digest(self._mac(rec.prev_hash, body), rec.hash)

    def verify(self, expected_head: tuple[int, str] | None = None) -> VerifyReport:
        """Check every record and the chain; compare with the sidecar head (or `expected_head`, e.g. the
        head last reported to the center). Each problem names the seq it concerns."""
        rows = self._rows()
        report = VerifyReport(records=len(rows))
        report.head_seq, report.head_hash = self.head()
        # Which seq was each row signed as? First in place; then records moved elsewhere are found by
        # following prev_hash from records already placed (linear: each row is tried once per predecessor).
        signed: list[int | None] = [None] * len(rows)   # None: signed by no one holding the key
        queue: deque[tuple[str, int]] = deque([(GENESIS, 0)])
        for idx, r in enumerate(rows):
            if self._signed_as(r, r.seq):
                signed[idx] = r.seq
                queue.append((r.hash, r.seq))
        waiting: dict[str, list[int]] = defaultdict(list)
        for idx, r in enumerate(rows):
            if signed[idx] is None:
                waiting[r.prev_hash].append(idx)
        while queue and waiting:
            digest, seq = queue.popleft()
            for idx in waiting.pop(digest, []):
                if signed[idx] is None and self._signed_as(rows[idx], seq + 1):
                    signed[idx] = seq + 1
                    queue.append((rows[idx].hash, seq + 1))

        genuine = {s: r for r, s in zip(rows, signed) if s is not None}
        max_genuine = max(genuine, default=0)
        head = expected_head if expected_head is not None else self.stored_head()
        vouched = max(max_genuine, head[0] if head else 0)   # seqs known to have been written

        # records that no key holder wrote: edited in place, or inserted
        for idx, (r, s) in enumerate(zip(rows, signed)):
            if s is not None:
                continue
            next_valid = next((rows[j] for j in range(idx + 1, len(rows)) if signed[j] is not None), None)
            kept_hash = (next_valid is not None and next_valid.prev_hash == r.hash) or \
                (head is not None and head == (r.seq, r.hash))
            slot_missing = 1 <= r.seq <= vouched and r.seq not in genuine
            if kept_hash or slot_missing:
                report.problems.append(Problem(r.seq, "edited", "record content does not match its HMAC"))
            else:
                report.problems.append(Problem(r.seq, "inserted",
                                               "record was not written by this terminal (bad HMAC, outside the chain)"))

        # moved records and order
        last = 0
        for r, s in zip(rows, signed):
            if s is None:
                continue
            if s != r.seq:
                report.problems.append(Problem(s, "reordered", f"record signed as seq {s} is stored as seq {r.seq}"))
            elif s < last:
                report.problems.append(Problem(s, "reordered", f"record seq {s} stored after seq {last}"))
            last = max(last, s)

        # gaps
        edited_slots = {p.seq for p in report.problems if p.kind == "edited"}
        present = set(genuine) | edited_slots
        for s in range(1, max_genuine + 1):
            if s not in present:
                report.problems.append(Problem(s, "deleted", "record missing from the chain"))

        # chain links between genuine records (e.g. a genuine record from another log spliced in)
        for s, r in genuine.items():
            prev = genuine.get(s - 1)
            expected_prev = GENESIS if s == 1 else (prev.hash if prev else None)
            if expected_prev is not None and r.prev_hash != expected_prev:
                report.problems.append(Problem(s, "edited", "prev_hash does not link to the record before"))

        # truncation against the stored (or reported) head
        if expected_head is None and head is None and (rows or self.head_path.exists()):
            report.problems.append(Problem(max_genuine, "head", "head file missing, unreadable or not MACed "
                                                                "with this key; truncation cannot be ruled out"))
        elif head is not None:
            hseq, hhash = head
            top_present = max(present, default=0)
            if hseq > top_present:
                first = top_present + 1
                report.problems.append(Problem(first, "truncated",
                                               f"records {first}..{hseq} missing (head says seq {hseq})"))
            elif hseq in genuine and genuine[hseq].hash != hhash:
                report.problems.append(Problem(hseq, "head", "record at the head seq differs from the stored head"))
        report.problems.sort(key=lambda p: (p.seq, p.kind))
        return report


def _fsync_head(head_path: Path) -> None:
    try:
        fd = os.open(head_path, os.O_RDONLY)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.error("audit head file %s not synced: %s", head_path, exc.strerror)
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        log.error("audit head file %s not synced: %s", head_path, exc.strerror)
    finally:
        os.close(fd)
    try:
        dfd = os.open(head_path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        log.warning("audit directory %s not synced: %s", head_path.parent, exc.strerror)


def _head_syncer(ref: "weakref.ref[AuditLog]", dirty: threading.Event, stop: threading.Event) -> None:
    """Background fsync of the head file, at most HEAD_SYNC_INTERVAL_S after an append (appends in between are
    coalesced). Ends on close(), or when the AuditLog is garbage-collected."""
    while not stop.is_set():
        if not dirty.wait(timeout=5.0):
            if ref() is None:
                return
            continue
        if stop.wait(HEAD_SYNC_INTERVAL_S):
            return                                  # close() (or the finalizer) syncs the last head itself
        audit = ref()
        if audit is None:
            return
        audit.sync_head()
        del audit


def _stop_and_sync(stop: threading.Event, dirty: threading.Event, head_path: Path) -> None:
    stop.set()
    dirty.set()
    _fsync_head(head_path)


class AuditSinkAdapter:
    """append(action, details) -> AuditRecord, for callers with a fixed actor (sync.journal.AuditSink)."""

    def __init__(self, audit: AuditLog, actor: str):
        self._audit, self._actor = audit, actor

    def append(self, action: str, details: dict | None = None, target: str = "", result: str = "ok") -> AuditRecord:
        return self._audit.append(self._actor, action, target, details, result)
