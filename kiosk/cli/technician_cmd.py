"""hpf-kiosk technician set-pin | check | selftest | config-show | config-set KEY VALUE | config-rollback |
netcheck | queue | export-logs DIR | info

The PIN is read without echo (or one line from stdin when piped). Everything except `info` and `check`
needs the technician PIN; set-pin needs the current PIN when one is set. Commands that change the settings
need the settings file (--config FILE or HPF_KIOSK_CONFIG). Every action is audited.

Exit codes: 0 done; 1 a local problem; 2 configuration; 3 the center is unreachable; 4 refused (wrong or
locked PIN, enrollment refused); 6 the network check found problems."""
from __future__ import annotations

import json
import logging
import os
import sys

from kiosk.cli.teller_cmd import EXIT_LOCAL, EXIT_REFUSED, exit_for, log_to_file, read_secret, say

log = logging.getLogger(__name__)

EXIT_NETWORK = 6


def register(sub, common) -> None:
    p = sub.add_parser("technician", help="field technician: PIN, self-tests, settings, network, logs",
                       parents=[common])
    s = p.add_subparsers(dest="technician_cmd", metavar="ACTION", required=True)

    def add(name, func, help_, *arguments):
        sp = s.add_parser(name, help=help_, parents=[common])
        for a, kw in arguments:
            sp.add_argument(a, **kw)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.set_defaults(func=func)
        return sp

    add("set-pin", cmd_set_pin, "set or change the technician PIN (6-12 digits; stored as a scrypt hash)")
    add("check", cmd_check, "check a PIN (counts towards the lockout)")
    add("selftest", cmd_selftest, "status and self-test of every device")
    add("config-show", cmd_config_show, "the settings in force, secrets masked")
    add("config-set", cmd_config_set, "validate and save one setting (atomic; the previous file is kept)",
        ("key", {"help": "dotted key, e.g. session.idle_timeout_s"}), ("value", {"help": "new value"}))
    add("config-rollback", cmd_config_rollback, "put back the settings file as it was before the last save")
    en = add("enroll", cmd_enroll, "enroll this terminal with the center's one-time code",
             ("code", {"help": "one-time code from the center"}))
    en.add_argument("--force", action="store_true", help="replace existing credentials")
    add("netcheck", cmd_netcheck, "center reachable, clock skew, a signed request")
    add("queue", cmd_queue, "queue depth, oldest item, items that need review")
    add("export-logs", cmd_export_logs, "copy the logs, masked line by line, into DIR (e.g. a USB stick)",
        ("dir", {"help": "target folder"}))
    add("info", cmd_info, "software version and build, terminal identity")


def _config_file(args):
    from config.loader import FILE_ENV
    return getattr(args, "config", None) or os.environ.get(FILE_ENV) or None


def _open(args):
    from kiosk.audit import AuditLog
    from kiosk.cli.main import load
    from kiosk.staff.technician import TechnicianMode
    settings = load(args)
    log_to_file(settings)
    audit = AuditLog.open(settings)
    return TechnicianMode(settings, audit, config_file=_config_file(args))


def _run(args, body, *, unlock: bool = True) -> int:
    from kiosk.audit import AuditError
    from kiosk.staff.errors import StaffError
    from sync.client import CenterError
    from sync.journal import JournalError
    try:
        tech = _open(args)
    except (AuditError, OSError) as exc:
        say(exc)
        return EXIT_LOCAL
    try:
        if unlock:
            tech.unlock(read_secret("维护密码 technician PIN: "))
        return body(tech)
    except (StaffError, CenterError, JournalError, AuditError) as exc:
        say(exc)
        return exit_for(exc)
    finally:
        tech.audit.close()


def _print(data, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif isinstance(data, dict):
        for k, v in data.items():
            print(f"{k}: {json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list)) else v}")
    else:
        for row in data:
            print(json.dumps(row, ensure_ascii=False, default=str))


def cmd_set_pin(args) -> int:
    from kiosk.staff.errors import StaffError
    from kiosk.staff.pin import hash_pin

    def body(tech) -> int:
        if tech.guard.pin_hash:
            tech.unlock(read_secret("当前维护密码 current PIN: "))
        else:
            tech.unlocked = True
        new = read_secret("新维护密码 new PIN (6-12 digits): ")
        again = read_secret("再次输入 repeat: ")
        if new != again:
            raise StaffError("PIN_MISMATCH", "两次输入的维护密码不一致", "PIN confirmation differs")
        tech.config_set("security.technician_pin_hash", hash_pin(new))
        tech.audit.append("technician", "technician.set_pin", details={"first": not tech.guard.pin_hash})
        print("technician PIN set")
        return 0
    return _run(args, body, unlock=False)


def cmd_check(args) -> int:
    def body(tech) -> int:
        print("PIN OK")
        return 0
    return _run(args, body)


def cmd_selftest(args) -> int:
    def body(tech) -> int:
        rows = tech.selftest()
        if args.json:
            _print(rows, True)
        else:
            for r in rows:
                mark = "ok" if r.get("ok") else "!!"
                print(f"{mark} {r['role']:<16} {r['backend']:<7} {r.get('code', '')}: {r.get('description', '')}")
        return 0 if all(r.get("ok") for r in rows) else EXIT_LOCAL
    return _run(args, body)


def cmd_config_show(args) -> int:
    def body(tech) -> int:
        _print(tech.config_view(), args.json)
        return 0
    return _run(args, body)


def cmd_config_set(args) -> int:
    def body(tech) -> int:
        ch = tech.config_set(args.key, args.value)
        print(f"{ch['key']}: {ch['old']} -> {ch['new']} (saved; `hpf-kiosk technician config-rollback` undoes it)")
        return 0
    return _run(args, body)


def cmd_config_rollback(args) -> int:
    def body(tech) -> int:
        tech.config_rollback()
        print("settings file rolled back to the previous version")
        return 0
    return _run(args, body)


def cmd_enroll(args) -> int:
    def body(tech) -> int:
        tid = tech.enroll(args.code, force=args.force)
        print(f"terminal {tid} enrolled with {tech.settings.center.url}")
        return 0
    return _run(args, body)


def cmd_netcheck(args) -> int:
    def body(tech) -> int:
        r = tech.netcheck()
        if args.json:
            _print(r, True)
        else:
            print(f"center {r['center']}: {'reachable' if r['reachable'] else 'NOT reachable'}"
                  + (f" ({r['rtt_ms']} ms)" if r["rtt_ms"] is not None else ""))
            print(f"signed request: {'ok' if r['signed_ok'] else 'FAILED'}")
            if r["clock_skew_s"] is not None:
                print(f"clock skew: {r['clock_skew_s']:+} s {'ok' if r['clock_ok'] else 'TOO LARGE'}")
            for p in r["problems"]:
                print(f"  !! {p['code']}: {p['message_zh']}")
        return 0 if r["ok"] else EXIT_NETWORK
    return _run(args, body)


def cmd_queue(args) -> int:
    from sync.journal import Journal

    def body(tech) -> int:
        with Journal.open(tech.settings, audit=tech.audit.sink("technician")) as j:
            _print(tech.queue(j), args.json)
        return 0
    return _run(args, body)


def cmd_export_logs(args) -> int:
    def body(tech) -> int:
        r = tech.export_logs(args.dir)
        print(f"{r['lines']} lines in {len(r['files'])} files exported, masked, to {r['folder']}")
        return 0
    return _run(args, body)


def cmd_info(args) -> int:
    def body(tech) -> int:
        _print(tech.info(), args.json)
        return 0
    return _run(args, body, unlock=False)
