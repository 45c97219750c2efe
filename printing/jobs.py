"""The print journal: every print job, with its document, so a job that failed can be printed again.

One SQLite table (WAL, synchronous=FULL), separate from the transaction journal (sync/). A job is
    pending  -> printed   (the printer took it and reported no problem, or its status was unknown)
             -> failed    (paper out before/during the job, cover open, printer gone, ...)
A reprint is a new job marked as a copy (补打/COPY) pointing at the job it replaces; once it is printed the
original is resolved and drops out of `outstanding()`. Documents are stored already masked (printing.documents
refuses unmasked ID/phone numbers), so the journal holds no raw personal data; with a cipher (the terminal's
AES-GCM key file, as for the transaction journal) the document itself is sealed at rest, bound to its job id.
Printed jobs are forgotten after `keep_days`; unresolved failures are kept."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

from devices.base import CommandHandle, CompletionCode, DeviceError
from printing.documents import Document, document_from_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    id           TEXT PRIMARY KEY,
    printer      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    document     NOT NULL,            -- JSON text, or an AES-GCM sealed blob
    state        TEXT NOT NULL CHECK (state IN ('pending', 'printed', 'failed')),
    is_copy      INTEGER NOT NULL DEFAULT 0,
    reprint_of   TEXT REFERENCES print_jobs(id),
    resolved_by  TEXT REFERENCES print_jobs(id),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error_code   TEXT NOT NULL DEFAULT '',
    error_text   TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS print_jobs_state ON print_jobs(state, resolved_by);
"""


class JobState(str, Enum):
    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"


class JobNotFound(KeyError):
    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.code = "PRINT_JOB_NOT_FOUND"
        self.message_zh = "找不到该打印记录"


class JournalLocked(Exception):
    def __init__(self, job_id: str):
        super().__init__(f"print job {job_id} is sealed and no key was given to open it")
        self.code = "PRINT_JOURNAL_LOCKED"
        self.message_zh = "打印记录无法读取，请联系工作人员"


@dataclass(frozen=True)
class PrintJob:
    id: str
    printer: str
    kind: str
    document: Document
    state: JobState
    is_copy: bool
    reprint_of: Optional[str]
    resolved_by: Optional[str]
    attempts: int
    error_code: str
    error_text: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def reprintable(self) -> bool:
        return self.state is not JobState.PENDING


def new_job_id() -> str:
    return str(uuid.uuid4())


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class PrintJournal:
    def __init__(self, path: "str | Path", cipher=None):
        """cipher: an object with seal(value, aad) -> bytes and open(blob, aad) (sync.crypto.FieldCipher)."""
        self.path = Path(path)
        self.cipher = cipher
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    @classmethod
    def for_settings(cls, settings, keep_days: int = 30) -> "PrintJournal":
        from sync.crypto import FieldCipher   # the terminal's key file, shared with the transaction journal
        journal = cls(Path(settings.paths.data_dir) / "print_jobs.sqlite3", FieldCipher.from_key_file(settings.key_file))
        journal.prune(keep_days)
        return journal

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ writes
    def add(self, document: Document, printer: str, *, reprint_of: Optional[str] = None,
            job_id: Optional[str] = None) -> PrintJob:
        job_id = job_id or new_job_id()
        now = _now()
        with self._lock:
            self._db.execute(
                "INSERT INTO print_jobs (id, printer, kind, document, state, is_copy, reprint_of, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (job_id, printer, document.kind, self._seal(job_id, document),
                 int(bool(getattr(document, "copy", False))), reprint_of, now, now))
        return self.get(job_id)

    def mark_printed(self, job_id: str, note: str = "") -> PrintJob:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("UPDATE print_jobs SET state='printed', attempts=attempts+1, error_code='', "
                                 "error_text='', note=?, updated_at=? WHERE id=?", (note, _now(), job_id))
                row = self._db.execute("SELECT reprint_of FROM print_jobs WHERE id=?", (job_id,)).fetchone()
                if row and row[0]:
                    self._db.execute("UPDATE print_jobs SET resolved_by=?, updated_at=? WHERE id=?",
                                     (job_id, _now(), row[0]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.get(job_id)

    def mark_failed(self, job_id: str, error_code: str, error_text: str) -> PrintJob:
        with self._lock:
            self._db.execute("UPDATE print_jobs SET state='failed', attempts=attempts+1, error_code=?, error_text=?, "
                             "updated_at=? WHERE id=?", (error_code, error_text, _now(), job_id))
        return self.get(job_id)

    # ------------------------------------------------------------------ reads
    def get(self, job_id: str) -> PrintJob:
        with self._lock:
            row = self._db.execute("SELECT * FROM print_jobs WHERE id=?", (job_id,)).fetchone()
            cols = [c[0] for c in self._db.execute("SELECT * FROM print_jobs LIMIT 0").description]
        if row is None:
            raise JobNotFound(job_id)
        return self._job(dict(zip(cols, row)))

    def outstanding(self, printer: Optional[str] = None) -> list[PrintJob]:
        """Failed jobs not yet replaced by a printed copy, oldest first."""
        return self._select("state='failed' AND resolved_by IS NULL", printer)

    def recent(self, limit: int = 50, printer: Optional[str] = None) -> list[PrintJob]:
        return self._select("1=1", printer, order="created_at DESC", limit=limit)

    def _select(self, where: str, printer: Optional[str], order: str = "created_at", limit: int = 10_000) -> list[PrintJob]:
        args: list = []
        if printer:
            where += " AND printer=?"
            args.append(printer)
        with self._lock:
            cur = self._db.execute(f"SELECT * FROM print_jobs WHERE {where} ORDER BY {order} LIMIT ?", (*args, limit))
            cols = [c[0] for c in cur.description]
            rows = cur.fetchall()
        return [self._job(dict(zip(cols, r))) for r in rows]

    def _seal(self, job_id: str, document: Document):
        if self.cipher is None:
            return json.dumps(document.to_dict(), ensure_ascii=False)
        return self.cipher.seal(document.to_dict(), f"print_job:{job_id}")

    def _open(self, job_id: str, stored) -> Document:
        if isinstance(stored, (bytes, memoryview)):
            if self.cipher is None:
                raise JournalLocked(job_id)
            return document_from_dict(self.cipher.open(bytes(stored), f"print_job:{job_id}"))
        return document_from_dict(json.loads(stored))

    def _job(self, r: dict) -> PrintJob:
        return PrintJob(id=r["id"], printer=r["printer"], kind=r["kind"],
                        document=self._open(r["id"], r["document"]), state=JobState(r["state"]),
                        is_copy=bool(r["is_copy"]), reprint_of=r["reprint_of"], resolved_by=r["resolved_by"],
                        attempts=r["attempts"], error_code=r["error_code"], error_text=r["error_text"],
                        note=r["note"], created_at=dt.datetime.fromisoformat(r["created_at"]),
                        updated_at=dt.datetime.fromisoformat(r["updated_at"]))

    def prune(self, keep_days: int = 30) -> int:
        """Forget printed (and resolved failed) jobs older than keep_days; unresolved failures are kept."""
        cutoff = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=keep_days)).isoformat()
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM print_jobs WHERE updated_at < ? AND (state='printed' OR resolved_by IS NOT NULL) "
                "AND id NOT IN (SELECT reprint_of FROM print_jobs WHERE reprint_of IS NOT NULL "
                "AND state != 'printed')", (cutoff,))
            return cur.rowcount


class JournaledPrinter:
    """Mixin for printer Devices: every job is journaled, on the device worker (the journal write is disk I/O
    and must not run on the caller's thread, which may be the Qt thread). The returned handle carries the
    job id at once (`handle.job_id`) so a screen can offer the reprint even when the job fails."""

    journal: PrintJournal
    role: str

    def _submit_job(self, name: str, run, timeout: float, *, document: Optional[Document] = None,
                    reprint_of: Optional[str] = None) -> CommandHandle:
        job_id = new_job_id()

        def command(token):
            doc = document
            if reprint_of is not None:
                try:
                    doc = self.journal.get(reprint_of).document.as_copy()
                except JobNotFound as exc:
                    raise DeviceError(CompletionCode.INVALID_DATA, exc.code, f"no print job {reprint_of}",
                                      exc.message_zh) from None
            self.journal.add(doc, self.role, reprint_of=reprint_of, job_id=job_id)
            return run(job_id, doc, token)

        handle = self.worker.submit(name, command, timeout)
        handle.job_id = job_id
        return handle
