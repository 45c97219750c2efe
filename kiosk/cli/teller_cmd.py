"""hpf-kiosk teller login | logout | status | eod [--date D] [--out FILE.pdf]   (bank-branch teller mode)

The password is read from the terminal without echo (or one line from stdin when piped). The center's
session token is kept in <data_dir>/teller-session.json (0600) between commands; idle longer than
session.idle_timeout_s signs the teller out locally.

Exit codes: 0 done; 1 a local problem; 2 configuration; 3 the center is unreachable; 4 refused (wrong
password, locked, not signed in, not a teller terminal); 5 end-of-day differences with the center."""
from __future__ import annotations

import getpass
import logging
import sys
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_LOCAL, EXIT_UNAVAILABLE, EXIT_REFUSED, EXIT_DIFFERENCES = 1, 3, 4, 5


def register(sub, common) -> None:
    p = sub.add_parser("teller", help="bank-branch teller mode: sign in/out, end-of-day report", parents=[common])
    s = p.add_subparsers(dest="teller_cmd", metavar="ACTION", required=True)
    li = s.add_parser("login", help="sign in with teller id and password (checked by the center)", parents=[common])
    li.add_argument("teller_id", nargs="?", help="teller id, e.g. T0001 (asked for when omitted)")
    li.set_defaults(func=cmd_login)
    lo = s.add_parser("logout", help="sign the teller out", parents=[common])
    lo.set_defaults(func=cmd_logout)
    st = s.add_parser("status", help="who is signed in at this counter", parents=[common])
    st.set_defaults(func=cmd_status)
    eod = s.add_parser("eod", help="end-of-day: the teller's journal reconciled with the center, as a PDF",
                       parents=[common])
    eod.add_argument("--date", help="business day YYYY-MM-DD (Asia/Shanghai; default today)")
    eod.add_argument("--out", help="write the PDF report here (default: <data_dir>/eod-<teller>-<date>.pdf)")
    eod.set_defaults(func=cmd_eod)


def read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def say(exc) -> None:
    code = getattr(exc, "code", type(exc).__name__)
    print(f"{code}: {getattr(exc, 'message_zh', '')}", file=sys.stderr)
    detail = getattr(exc, "detail", "") or str(exc)
    if detail:
        print(f"  {detail}", file=sys.stderr)
    log.error("staff command failed: %s %s", code, detail)


def log_to_file(settings) -> None:
    """English log lines of a CLI run go to the terminal's log file (masked), not a second time to stderr.
    Left alone when the process already has logging set up (the app, a test runner)."""
    import logging as _logging
    if _logging.getLogger().handlers:
        return
    try:
        from kiosk.logs import setup_logging
        setup_logging(settings.log_file, settings.logging.level, settings.logging.max_bytes,
                      settings.logging.backups, console=False)
    except OSError:
        _logging.getLogger().addHandler(_logging.NullHandler())


def exit_for(exc) -> int:
    code = getattr(exc, "code", "")
    if code in ("CENTER_UNREACHABLE", "CENTER_TIMEOUT", "CENTER_BAD_REPLY") or code.startswith("HTTP_5"):
        return EXIT_UNAVAILABLE
    if code.startswith(("TELLER_", "SUPERVISOR_", "AUTH_", "TERMINAL_", "PIN_", "TECH_")):
        return EXIT_REFUSED
    return EXIT_LOCAL


class _Counter:
    """settings, audit, journal, center client and TellerMode for one command; closes them all."""

    def __init__(self, args, need_center: bool = True):
        from kiosk.audit import AuditLog
        from kiosk.cli.main import load
        from kiosk.staff.center import StaffCenterClient
        from kiosk.staff.teller import TellerMode
        from sync.journal import Journal
        self.settings = load(args)
        log_to_file(self.settings)
        self.audit = AuditLog.open(self.settings)
        self.journal = self.client = None
        try:
            self.journal = Journal.open(self.settings, audit=self.audit.sink("journal"))
            self.client = StaffCenterClient.from_settings(self.settings) if need_center else None
        except BaseException:
            self.close()
            raise
        self.mode = TellerMode(self.settings, self.client, self.journal, self.audit)

    def close(self) -> None:
        for x in (self.client, self.journal, self.audit):
            if x is not None:
                x.close()


def _run(args, body, need_center: bool = True) -> int:
    from kiosk.audit import AuditError
    from kiosk.staff.errors import StaffError
    from sync.client import CenterError
    from sync.crypto import KeyFileError
    from sync.journal import JournalError
    try:
        c = _Counter(args, need_center)
    except (AuditError, JournalError, KeyFileError, CenterError, OSError) as exc:
        say(exc)
        return exit_for(exc)
    try:
        return body(c)
    except (StaffError, CenterError, JournalError, AuditError) as exc:
        say(exc)
        return exit_for(exc)
    finally:
        c.close()


def _resume(c):
    """The saved session, idle rule applied; StaffError when nobody (or nobody active) is signed in."""
    from kiosk.staff.errors import StaffError
    from kiosk.staff.teller import NOT_SIGNED_IN, TellerSession, session_file
    path = session_file(c.settings)
    s = TellerSession.load(path)
    if s is None:
        raise StaffError(*NOT_SIGNED_IN, "no saved teller session")
    c.mode.resume(s)
    if c.mode.session is None:
        path.unlink(missing_ok=True)
        raise c.mode.message
    return path


def cmd_login(args) -> int:
    from kiosk.staff.teller import session_file

    def body(c) -> int:
        tid = args.teller_id or read_secret("柜员号 teller id: ").strip()
        pw = read_secret("密码 password: ")
        s = c.mode.sign_in(tid, pw)
        s.save(session_file(c.settings))
        print(f"teller {s.teller_id} ({s.name}) signed in at branch {s.branch}, terminal {s.terminal_id}; "
              f"idle sign-out after {c.settings.session.idle_timeout_s} s")
        return 0
    return _run(args, body)


def cmd_logout(args) -> int:
    from kiosk.staff.teller import TellerSession, session_file

    def body(c) -> int:
        path = session_file(c.settings)
        s = TellerSession.load(path)
        if s is None:
            print("no teller signed in")
            return 0
        c.mode.session = s
        c.mode.sign_out("logout")
        path.unlink(missing_ok=True)
        print(f"teller {s.teller_id} signed out")
        return 0
    return _run(args, body, need_center=False)


def cmd_status(args) -> int:
    def body(c) -> int:
        path = _resume(c)
        s = c.mode.session
        s.save(path)
        print(f"teller {s.teller_id} ({s.name}, {s.role}) signed in at branch {s.branch}, terminal {s.terminal_id}")
        return 0
    return _run(args, body, need_center=False)


def cmd_eod(args) -> int:
    from kiosk.domain.money import format_yuan
    from kiosk.staff.eod import end_of_day
    from kiosk.staff.errors import StaffError
    from sync.journal import LOCAL_TZ

    def body(c) -> int:
        try:
            day = date.fromisoformat(args.date) if args.date else datetime.now(LOCAL_TZ).date()
        except ValueError:
            raise StaffError("DATE_INVALID", "日期格式应为 YYYY-MM-DD", f"not a date: {args.date!r}") from None
        path = _resume(c)
        s = c.mode.session
        catalog = None
        try:
            from sync.downward import CatalogCache
            cached = CatalogCache.for_settings(c.settings).load()
            catalog = cached.catalog if cached else None
        except Exception:   # names fall back to the built-in table
            catalog = None
        res = end_of_day(c.settings, c.journal, c.client, s.teller_id, day, audit=c.audit, catalog=catalog)
        out = Path(args.out) if args.out else Path(c.settings.paths.data_dir) / f"eod-{s.teller_id}-{day}.pdf"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(res.pdf)
        except OSError as exc:
            raise StaffError("EOD_WRITE_FAILED", "日终报表无法保存", f"{out}: {exc.strerror or exc}") from None
        c.mode.touch()
        s.save(path)
        v = res.view()
        t = v["totals"]
        print(f"end of day {day} teller {s.teller_id} branch {s.branch}: accepted {t['accepted_count']} "
              f"({format_yuan(t['accepted_fen'])}), pending {t['queued_count']}, refused {t['refused_count']}")
        for line in v["lines"]:
            print(f"  {line['item']}: accepted {line['accepted_count']}, pending {line['queued_count']}, "
                  f"refused {line['refused_count']}")
        rec = v["reconcile"]
        print(f"center: {rec['center']} accepted, matching {rec['matching']}")
        for cid, why in rec["differences"]:
            print(f"  DIFF {cid}: {why}")
        print(f"report written to {out}")
        return 0 if res.balanced else EXIT_DIFFERENCES
    return _run(args, body)
