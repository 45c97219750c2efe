"""Enqueue with the audit log attached: the audit head file is no longer fsynced on the enqueue path, so a
SIGKILL right after Journal.create returned must still leave the transaction journaled, its audit record in
the log and the chain (against the head file) verifiable."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from kiosk.audit import AuditLog
from sync.journal import Journal, State

REPO = Path(__file__).resolve().parents[2]
KEY = b"c" * 32

CHILD = r"""
import os, sys
from pathlib import Path
from kiosk.audit import AuditLog
from sync.journal import Journal
tmp = Path(sys.argv[1])
audit = AuditLog(tmp / "audit.sqlite3", b"c" * 32)
journal = Journal(tmp / "journal.sqlite3", tmp / "journal.key", audit=audit.sink("kiosk"))
n = int(sys.argv[2])
while True:
    e = journal.create("evaluation", {"score": 1 + n % 5, "item_code": "query", "comment": f"n={n}"},
                       person_key=f"P{n % 7}", amount_fen=100)
    os.write(1, f"ACK {n} {e.client_id}\n".encode())
    n += 1
"""


def _round(tmp: Path, first_n: int, kill_after: int) -> dict[int, str]:
    """Start a child that enqueues forever; SIGKILL it right after it acknowledged `kill_after` items."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp), str(first_n)], cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked: dict[int, str] = {}
    try:
        while len(acked) < kill_after:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"child died: {proc.stderr.read().decode()[-2000:]}")
            _, n, cid = line.decode().split()
            acked[int(n)] = cid
        os.kill(proc.pid, signal.SIGKILL)     # right after an acknowledged enqueue, mid-way through the next
        proc.wait(timeout=30)
        for line in proc.stdout.read().decode().splitlines():   # acks already written before the kill
            _, n, cid = line.split()
            acked[int(n)] = cid
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return acked


def test_sigkill_right_after_enqueue_keeps_the_transaction_and_a_verifiable_audit_chain(tmp_path):
    acked: dict[int, str] = {}
    for r, kill_after in enumerate((1, 3, 17, 40, 2)):
        acked.update(_round(tmp_path, r * 1000, kill_after))
        audit = AuditLog(tmp_path / "audit.sqlite3", KEY)
        try:
            report = audit.verify()            # against the head file the killed child left behind
            assert report.ok, report.summary()
            stored = audit.stored_head()
            assert stored is not None and stored[0] <= report.head_seq
            created = {r.details["client_id"] for r in audit if r.action == "journal.create"}
        finally:
            audit.close()
        assert set(acked.values()) <= created  # every acknowledged enqueue has its audit record

    with Journal(tmp_path / "journal.sqlite3", tmp_path / "journal.key") as journal:
        entries = {e.client_id: e for e in journal.iter_all(with_payload=True)}
    for n, cid in acked.items():
        assert cid in entries, f"acknowledged n={n} lost"
        assert entries[cid].state == State.QUEUED and entries[cid].payload["comment"] == f"n={n}"
    comments = [e.payload["comment"] for e in entries.values()]
    assert len(comments) == len(set(comments))
