"""hpf-kiosk audit verify | tail [-n N] | head | backup DEST — the terminal's audit log (settings.audit_db).

verify exits 0 when the chain is intact, 1 when it was tampered with (each problem printed with its seq),
2 on a configuration or storage problem."""
from __future__ import annotations

import json
import sys

from kiosk.audit import AuditError, AuditLog


def register(sub, common) -> None:
    p = sub.add_parser("audit", help="verify or read the tamper-evident audit log", parents=[common])
    s = p.add_subparsers(dest="audit_cmd", metavar="ACTION", required=True)
    v = s.add_parser("verify", help="check every record, the HMAC chain and the stored head; exit 1 if tampered",
                     parents=[common])
    v.set_defaults(func=cmd_verify)
    t = s.add_parser("tail", help="print the last records (already masked)", parents=[common])
    t.add_argument("-n", type=int, default=20, metavar="N", help="how many records (default 20)")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    t.set_defaults(func=cmd_tail)
    h = s.add_parser("head", help="print the head (seq and hash) reported to the center", parents=[common])
    h.set_defaults(func=cmd_head)
    b = s.add_parser("backup", help="copy the log and its head to DEST (never overwrites)", parents=[common])
    b.add_argument("dest", metavar="DEST")
    b.set_defaults(func=cmd_backup)


def _open(args) -> AuditLog:
    from kiosk.cli.main import load
    return AuditLog.open(load(args))


def _guard(fn):
    def run(args) -> int:
        try:
            return fn(args)
        except AuditError as exc:
            print(f"audit: {exc} [{exc.code}]", file=sys.stderr)
            return 2
    return run


@_guard
def cmd_verify(args) -> int:
    with _open(args) as audit:
        report = audit.verify()
    print(report.summary())
    return 0 if report.ok else 1


@_guard
def cmd_tail(args) -> int:
    with _open(args) as audit:
        records = audit.tail(max(args.n, 0))
    for r in records:
        if args.json:
            print(json.dumps(dict(r.body(), prev_hash=r.prev_hash, hash=r.hash), ensure_ascii=False))
        else:
            details = json.dumps(r.details, ensure_ascii=False, sort_keys=True) if r.details else ""
            print(f"{r.seq:>6}  {r.ts}  {r.actor}  {r.action}  {r.target}  {r.result}  {details}".rstrip())
    return 0


@_guard
def cmd_head(args) -> int:
    with _open(args) as audit:
        seq, digest = audit.head()
    print(f"{seq} {digest}")
    return 0


@_guard
def cmd_backup(args) -> int:
    with _open(args) as audit:
        dest = audit.backup(args.dest)
    print(f"audit log copied to {dest}")
    return 0
