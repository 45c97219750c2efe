"""hpf-kiosk sync run [--once] | sync reconcile --date YYYY-MM-DD | enroll --code CODE

Exit codes: 0 done; 1 a local problem (journal, files); 3 the center is unreachable or busy (retry later);
4 the center refuses this terminal (401/403: enrollment, clock, disabled); 5 differences found (reconcile);
6 another sync worker is running."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import date

log = logging.getLogger(__name__)

EXIT_LOCAL, EXIT_UNAVAILABLE, EXIT_AUTH, EXIT_DIFFERENCES, EXIT_BUSY = 1, 3, 4, 5, 6


def register(sub, common) -> None:
    p = sub.add_parser("sync", help="deliver queued transactions to the center; reconcile with it",
                       parents=[common])
    s = p.add_subparsers(dest="sync_cmd", metavar="ACTION", required=True)
    run = s.add_parser("run", help="run the sync worker (foreground) until stopped; --once: drain and exit",
                       parents=[common])
    run.add_argument("--once", action="store_true", help="upload what is due, send a heartbeat, refresh the "
                                                          "catalog, then exit")
    run.add_argument("--no-stagger", action="store_true", help="start at once (default: wait hash(terminal id) "
                                                               "mod sync.stagger_window_s)")
    run.set_defaults(func=cmd_run)
    rec = s.add_parser("reconcile", help="compare this terminal's accepted set for a day with the center's",
                       parents=[common])
    rec.add_argument("--date", required=True, help="YYYY-MM-DD (Asia/Shanghai day the center received them)")
    rec.set_defaults(func=cmd_reconcile)

    en = sub.add_parser("enroll", help="enroll this terminal with the center using a one-time code",
                        parents=[common])
    en.add_argument("--code", required=True, help="the one-time code from the center (e.g. ABCD-EFGH-JKMN)")
    en.add_argument("--force", action="store_true", help="replace existing credentials")
    en.set_defaults(func=cmd_enroll)


def _say_error(exc) -> None:
    code = getattr(exc, "code", type(exc).__name__)
    print(f"{code}: {getattr(exc, 'message_zh', '')}", file=sys.stderr)
    detail = getattr(exc, "detail", "") or str(exc)
    if detail:
        print(f"  {detail}", file=sys.stderr)
    log.error("sync command failed: %s %s", code, detail)


def _exit_for(exc) -> int:
    from sync.client import CenterAuthError, CenterUnavailable, NotEnrolled
    if isinstance(exc, (CenterAuthError, NotEnrolled)):
        return EXIT_AUTH
    if isinstance(exc, CenterUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_LOCAL


def _parts(args):
    """settings, journal (audited), port — or raise the typed error."""
    from kiosk.cli.main import load
    from sync.client import HttpCenterClient
    from sync.journal import Journal
    settings = load(args)
    audit = None
    try:
        from kiosk.audit import AuditLog
        audit = AuditLog.open(settings)
    except Exception as exc:
        log.warning("audit log unavailable (%s); syncing without it", exc)
    journal = Journal.open(settings, audit=audit.sink("sync") if audit else None)
    try:
        port = HttpCenterClient.from_settings(settings)
    except BaseException:
        journal.close()
        raise
    return settings, journal, port, audit


def cmd_run(args) -> int:
    from kiosk.logs import setup_logging
    from sync.client import CenterError
    from sync.crypto import KeyFileError
    from sync.journal import JournalError
    from sync.worker import SyncWorker, WorkerBusy
    try:
        settings, journal, port, audit = _parts(args)
    except (CenterError, JournalError, KeyFileError, OSError) as exc:
        _say_error(exc)
        return _exit_for(exc)
    if not args.once:
        setup_logging(settings.log_file, settings.logging.level, settings.logging.max_bytes,
                      settings.logging.backups)
    worker = SyncWorker.from_settings(settings, journal, port, audit_head=audit.head if audit else None)
    try:
        if args.once:
            return _run_once(worker, journal)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        worker.start(initial_delay_s=0 if args.no_stagger else None)
        print(f"sync worker running for terminal {settings.terminal.id} -> {settings.center.url} "
              f"(Ctrl+C or SIGTERM stops it)", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        worker.stop()
        return 0
    except WorkerBusy as exc:
        print(f"{exc.code}: {exc.message_zh}\n  {exc}", file=sys.stderr)
        return EXIT_BUSY
    finally:
        port.close()
        journal.close()
        if audit:
            audit.close()


def _run_once(worker, journal) -> int:
    worker.lock.acquire()          # WorkerBusy propagates to the caller
    try:
        journal.recover_interrupted()
        worker.refresh_catalog()
        report = worker.drain()
        worker.heartbeat_now()
    finally:
        worker.lock.release()
    f = journal.figures()
    print(f"sent {report.sent} in {report.batches} batch(es): accepted {report.accepted}, rejected "
          f"{report.rejected}, needs review {report.needs_review}, retry later {report.retry}; "
          f"still queued {f.depth}")
    if report.rejected:
        print("refused by the center: see `hpf-kiosk queue list --state rejected`")
    if report.error is not None:
        _say_error(report.error)
        return _exit_for(report.error)
    if worker.auth_alarm is not None:
        _say_error(worker.auth_alarm)
        return EXIT_AUTH
    return 0


def cmd_reconcile(args) -> int:
    from sync.client import CenterError
    from sync.crypto import KeyFileError
    from sync.journal import JournalError
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"DATE_INVALID: 日期格式应为 YYYY-MM-DD\n  not a date: {args.date!r}", file=sys.stderr)
        return 2
    try:
        settings, journal, port, audit = _parts(args)
    except (CenterError, JournalError, KeyFileError, OSError) as exc:
        _say_error(exc)
        return _exit_for(exc)
    try:
        report = reconcile(journal, port, day)
    except CenterError as exc:
        _say_error(exc)
        return _exit_for(exc)
    finally:
        port.close()
        journal.close()
        if audit:
            audit.close()
    print(f"reconcile {day.isoformat()} terminal {settings.terminal.id}: terminal accepted {report['terminal']}, "
          f"center accepted {report['center']}, matching {report['matching']}")
    for cid, why in report["differences"]:
        print(f"  DIFF {cid}: {why}")
    for cid, why in report["notes"]:
        print(f"  note {cid}: {why}")
    if report["differences"]:
        print(f"{len(report['differences'])} difference(s)")
        return EXIT_DIFFERENCES
    print("no differences")
    return 0


def reconcile(journal, port, day: date) -> dict:
    """Terminal's accepted set (accepted on `day`, Asia/Shanghai) vs the center's (received on `day`).

    An id on one side only is looked up on the other before it is called a difference: around midnight the
    two clocks may put the same transaction on neighbouring days (a note, not a difference)."""
    from sync.journal import State
    from sync.protocol import ItemOutcome
    mine = journal.accepted_ids(day)
    center = port.reconcile(day)
    theirs = set(center.accepted)
    diffs, notes = [], []
    for cid in sorted(mine - theirs):
        st = port.transaction_status(cid)
        if st is not None and st.outcome == ItemOutcome.ACCEPTED:
            notes.append((cid, "center accepted it on a neighbouring day"))
        else:
            diffs.append((cid, "accepted on this terminal, unknown to the center"
                          if st is None else f"center says {st.outcome.value} {st.code}"))
    states = journal.states_of(theirs - mine)
    for cid in sorted(theirs - mine):
        st = states.get(cid)
        if st is None:
            diffs.append((cid, "accepted by the center, not in this terminal's journal"))
        elif st == State.ACCEPTED:
            notes.append((cid, "accepted here on a neighbouring day"))
        elif st in (State.QUEUED, State.SENDING):
            notes.append((cid, "center accepted it; the reply has not reached this terminal yet "
                               "(the next sync settles it)"))
        else:
            diffs.append((cid, f"center accepted it but this terminal recorded {st.value}"))
    for cid in sorted(center.rejected & mine):
        diffs.append((cid, "accepted here but the center recorded a refusal"))
    return {"terminal": len(mine), "center": len(theirs), "matching": len(mine & theirs), "differences": diffs,
            "notes": notes}


def cmd_enroll(args) -> int:
    from kiosk.cli.main import load
    from sync.client import CenterError, HttpCenterClient, TerminalCredentials, credentials_file
    settings = load(args)
    path = credentials_file(settings)
    if path.exists() and not args.force:
        print(f"ALREADY_ENROLLED: 本终端已登记\n  {path} exists; use --force to replace it", file=sys.stderr)
        return EXIT_LOCAL
    client = HttpCenterClient.from_settings(settings, credentials=TerminalCredentials(settings.terminal.id, b""))
    try:
        creds = client.enroll(settings.terminal.id, args.code.strip())
    except CenterError as exc:
        _say_error(exc)
        return EXIT_AUTH if getattr(exc, "status", 0) in (401, 403) else _exit_for(exc)
    finally:
        client.close()
    try:
        creds.save(path)
    except OSError as exc:
        print(f"CREDENTIALS_WRITE_FAILED: 终端密钥无法保存\n  {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_LOCAL
    try:
        from kiosk.audit import AuditLog
        with AuditLog.open(settings) as audit:
            audit.append("technician", "terminal.enroll", target=settings.terminal.id,
                         details={"center": str(settings.center.url)})
    except Exception as exc:
        log.warning("enrollment not audited: %s", exc)
    print(f"terminal {creds.terminal_id} enrolled with {settings.center.url}; secret stored in {path} (mode 0600)")
    return 0
