"""hpf-kiosk print sample-certificate --out FILE.pdf | jobs [--failed] | reprint JOB_ID

Technician commands for A4 documents and the print journal (receipts that failed can be printed again)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

SAMPLES = ("deposit-use", "loan-payoff", "statement", "end-of-day")


def register(sub, common) -> None:
    p = sub.add_parser("print", help="sample certificate PDF, print journal, reprint (technician)", parents=[common])
    s = p.add_subparsers(dest="print_cmd", metavar="ACTION", required=True)
    cert = s.add_parser("sample-certificate", parents=[common], help="write a sample certificate as PDF")
    cert.add_argument("--out", required=True, metavar="FILE.pdf")
    cert.add_argument("--kind", choices=SAMPLES, default="deposit-use")
    cert.set_defaults(func=cmd_sample_certificate)
    jobs = s.add_parser("jobs", parents=[common], help="recent print jobs (with --failed: those still to reprint)")
    jobs.add_argument("--failed", action="store_true")
    jobs.add_argument("--json", action="store_true")
    jobs.set_defaults(func=cmd_jobs)
    rep = s.add_parser("reprint", parents=[common], help="print a journaled job again, marked 补打/COPY")
    rep.add_argument("job_id")
    rep.set_defaults(func=cmd_reprint)


def cmd_sample_certificate(args) -> int:
    from printing import samples
    from printing.pdf import PdfError, render_pdf
    doc = {"deposit-use": samples.sample_deposit_certificate, "loan-payoff": samples.sample_payoff_certificate,
           "statement": samples.sample_statement, "end-of-day": samples.sample_end_of_day}[args.kind]()
    try:
        pdf = render_pdf(doc)
    except PdfError as exc:
        print(f"error {exc.code}: {exc.message_zh} — {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pdf)
    except OSError as exc:
        print(f"error PDF_WRITE_FAILED: 证明文件保存失败 — cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"written {out} ({len(pdf):,} bytes, {args.kind})")
    return 0


def _journal(args):
    """The print journal, or None after printing a clear error (key file missing/unsafe, sealed rows)."""
    from kiosk.cli.main import load
    from printing.jobs import PrintJournal
    from sync.crypto import KeyFileError
    try:
        return PrintJournal.for_settings(load(args))
    except KeyFileError as exc:
        print(f"error {exc.code}: {exc.message_zh} — {exc}", file=sys.stderr)
        return None


def cmd_jobs(args) -> int:
    from printing.jobs import JournalLocked
    from sync.crypto import DecryptError
    journal = _journal(args)
    if journal is None:
        return 1
    try:
        rows = journal.outstanding() if args.failed else journal.recent(50)
    except (DecryptError, JournalLocked) as exc:
        print(f"error {exc.code}: {exc.message_zh} — {exc}", file=sys.stderr)
        return 1
    data = [{"id": j.id, "printer": j.printer, "kind": j.kind, "state": j.state.value, "copy": j.is_copy,
             "error_code": j.error_code, "error": j.error_text, "created_at": j.created_at.isoformat(),
             "resolved_by": j.resolved_by} for j in rows]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for r in data:
            flag = " (copy)" if r["copy"] else ""
            err = f" {r['error_code']}: {r['error']}" if r["error_code"] else ""
            print(f"{r['id']}  {r['created_at'][:19]}  {r['printer']:<16} {r['kind']:<24} {r['state']}{flag}{err}")
        if not data:
            print("no failed print jobs" if args.failed else "no print jobs")
    return 0


def cmd_reprint(args) -> int:
    from devices import registry
    from kiosk.cli.main import load
    from printing.jobs import JobNotFound
    settings = load(args)
    journal = _journal(args)
    if journal is None:
        return 1
    try:
        job = journal.get(args.job_id)
    except JobNotFound as exc:
        print(f"error {exc.code}: {exc.message_zh} — no print job {args.job_id}", file=sys.stderr)
        return 1
    built = registry.build(settings, job.printer)
    if built.device is None:
        print(f"error DEVICE_NOT_READY: {job.printer} not available — {built.usability.missing}", file=sys.stderr)
        return 1
    try:
        c = built.device.reprint(job.id).result()
    finally:
        built.device.close()
    print(f"{c.code.value} {c.error_code} {c.description}".rstrip() if not c.ok else f"reprinted as {c.value.job_id}")
    if not c.ok:
        print(c.message)
    return 0 if c.ok else 1
