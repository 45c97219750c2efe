"""`hpf-center`: run and administer the reference center.

    hpf-center serve [--host 127.0.0.1] [--port 8600] [--db sqlite:///path | postgresql://...] [--seed N]
    hpf-center seed --persons N
    hpf-center terminals enroll TERMINAL_ID [--channel self_service|bank_counter]   (prints the one-time code)
    hpf-center terminals list | disable TERMINAL_ID
    hpf-center tellers add TELLER_ID --name NAME [--role teller|supervisor]       (password from stdin)
    hpf-center sms list [--phone P]
    hpf-center cases show SERIAL | advance SERIAL ACTION [--amount-fen N] [--reason TEXT] | auto-advance --minutes N
        play the sending center / the loan officer: transfer-in letters funds_received (amount) -> complete, or
        fail (reason); loan pre-applications approve / refuse (reason). Recorded in the case's history.
    hpf-center purge [--days 30]
    hpf-center openapi
Every command takes --db (or HPF_CENTER_DB); the schema is migrated first."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("center.cli")


def _cfg(args):
    from center.config import CenterConfig
    return CenterConfig.from_env(db_url=args.db, data_dir=Path(args.data_dir) if args.data_dir else None)


def _db(args):
    from center.db import make_engine, make_sessionmaker, migrate
    cfg = _cfg(args)
    migrate(cfg.db_url)
    return cfg, make_sessionmaker(make_engine(cfg.db_url))


def cmd_serve(args) -> int:
    import uvicorn

    from center.app import create_app
    cfg = _cfg(args)
    if not os.environ.get("HPF_CENTER_OPERATOR_TOKEN"):
        print(f"operator token (set HPF_CENTER_OPERATOR_TOKEN to choose it): {cfg.operator_token}", flush=True)
    app = create_app(cfg)
    if args.seed is not None:
        from center.seed import seed_if_empty
        seed_if_empty(app.state.db, persons=args.seed)
    print(f"hpf-center listening on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False, log_config=None)
    return 0


def cmd_seed(args) -> int:
    from center.seed import seed
    _, db = _db(args)
    print(json.dumps(seed(db, persons=args.persons, seed_value=args.random_seed), ensure_ascii=False))
    return 0


def cmd_terminals(args) -> int:
    from sqlalchemy import select

    from center import security
    from center.models import Terminal
    cfg, db = _db(args)
    if args.action == "enroll":
        if not args.terminal_id:
            print("terminal id needed", file=sys.stderr)
            return 2
        code = security.issue_enroll_code(db, args.terminal_id, cfg.enroll_code_ttl_s, args.channel)
        print(code)
        return 0
    if args.action == "disable":
        with db() as s, s.begin():
            t = s.get(Terminal, args.terminal_id or "")
            if t is None:
                print(f"unknown terminal {args.terminal_id}", file=sys.stderr)
                return 1
            t.disabled = True
        print(f"{args.terminal_id} disabled")
        return 0
    with db() as s:
        for t in s.scalars(select(Terminal).order_by(Terminal.terminal_id)):
            state = "disabled" if t.disabled else "enrolled" if t.secret else "code issued"
            seen = t.last_seen_at.isoformat(timespec="seconds") if t.last_seen_at else "-"
            print(f"{t.terminal_id:<20} {t.channel:<14} {state:<12} last seen {seen}")
    return 0


def cmd_tellers(args) -> int:
    from center.models import Teller
    from center.security import hash_password
    _, db = _db(args)
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("password (from stdin) must be at least 8 characters", file=sys.stderr)
        return 2
    with db() as s, s.begin():
        t = s.get(Teller, args.teller_id)
        if t is None:
            s.add(Teller(teller_id=args.teller_id, name=args.name, role=args.role, password_hash=hash_password(password)))
        else:
            t.password_hash, t.name, t.role = hash_password(password), args.name, args.role
    print(f"teller {args.teller_id} saved")
    return 0


def cmd_sms(args) -> int:
    from center.identity import list_outbox
    _, db = _db(args)
    for m in list_outbox(db, phone=args.phone, limit=args.limit):
        print(f"{m['created_at']}  {m['phone']}  {m['text']}")
    return 0


def cmd_purge(args) -> int:
    from center import idempotency, security
    cfg, db = _db(args)
    from datetime import timedelta

    from sqlalchemy import delete

    from center.models import Heartbeat, utcnow
    n = idempotency.purge(db, args.days)
    m = security.purge_nonces(db)
    with db() as s, s.begin():
        h = s.execute(delete(Heartbeat).where(Heartbeat.received_at < utcnow() - timedelta(days=args.days))).rowcount
    print(f"purged {n} idempotency keys older than {args.days} days, {m} expired nonces, {h} old heartbeats")
    return 0


def cmd_cases(args) -> int:
    from center.api.admin import auto_advance, case_history
    from center.api.admin import advance_case
    from center.errors import ApiError
    _, db = _db(args)
    try:
        if args.action == "auto-advance":
            if args.minutes is None or args.minutes < 0:
                print("--minutes N (N >= 0) needed", file=sys.stderr)
                return 2
            with db() as s, s.begin():
                done = auto_advance(s, args.minutes)
            for d in done:
                print(f"{d['serial']}  {d['kind']}  {d['action']}  -> {d['state']} {d['state_zh']}")
            print(f"{len(done)} case(s) advanced")
            return 0
        if not args.serial:
            print("serial needed", file=sys.stderr)
            return 2
        if args.action == "advance":
            if not args.case_action:
                print("action needed: funds_received | complete | fail | approve | refuse", file=sys.stderr)
                return 2
            with db() as s, s.begin():
                out = advance_case(s, args.serial, args.case_action, amount_fen=args.amount_fen,
                                   reason=args.reason or "", actor="cli")
            print(f"{out['serial']}  {out['kind']}  {out['from_state']} -> {out['state']} {out['state_zh']}")
            return 0
        with db() as s:
            history = case_history(s, args.serial)
        for h in history:
            amount = "" if h["amount_fen"] is None else f"  {h['amount_fen']} fen"
            reason = f"  ({h['reason']})" if h["reason"] else ""
            print(f"{h['at']}  {h['action']:<15} {h['state']:<10} {h['actor']}{amount}{reason}")
        return 0
    except ApiError as e:
        print(f"hpf-center: {e.detail} [{e.code}]", file=sys.stderr)
        return 1


def cmd_openapi(args) -> int:
    from center.app import create_app
    from center.config import CenterConfig
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        app = create_app(CenterConfig.from_env(db_url=f"sqlite:///{d}/openapi.sqlite3", data_dir=Path(d)))
        print(json.dumps(app.openapi(), ensure_ascii=False, indent=2))
        app.state.engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hpf-center", description="Reference HPF center platform")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=None, help="sqlite:///path or postgresql://... (default HPF_CENTER_DB "
                                                   "or var/center/center.sqlite3)")
    common.add_argument("--data-dir", default=None, help="signing key and uploaded logs (default var/center)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", parents=[common], help="run the HTTP service (migrations applied on start)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8600)
    s.add_argument("--seed", type=int, default=None, metavar="N", help="seed demo + N persons if the DB is empty")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    s.set_defaults(fn=cmd_serve)
    s = sub.add_parser("seed", parents=[common], help="add demo persons and N synthetic ones")
    s.add_argument("--persons", type=int, default=100)
    s.add_argument("--random-seed", type=int, default=20250508)
    s.set_defaults(fn=cmd_seed)
    s = sub.add_parser("terminals", parents=[common], help="enroll | list | disable")
    s.add_argument("action", choices=["enroll", "list", "disable"])
    s.add_argument("terminal_id", nargs="?")
    s.add_argument("--channel", default="self_service", choices=["self_service", "bank_counter"])
    s.set_defaults(fn=cmd_terminals)
    s = sub.add_parser("tellers", parents=[common], help="add a teller (password read from stdin)")
    s.add_argument("action", choices=["add"])
    s.add_argument("teller_id")
    s.add_argument("--name", required=True)
    s.add_argument("--role", default="teller", choices=["teller", "supervisor"])
    s.set_defaults(fn=cmd_tellers)
    s = sub.add_parser("sms", parents=[common], help="sandbox SMS outbox")
    s.add_argument("action", choices=["list"])
    s.add_argument("--phone", default=None)
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(fn=cmd_sms)
    s = sub.add_parser("purge", parents=[common], help="drop idempotency keys older than --days (≥ 30)")
    s.add_argument("--days", type=int, default=30)
    s.set_defaults(fn=cmd_purge)
    s = sub.add_parser("cases", parents=[common], help="show | advance | auto-advance transfer-ins and loan "
                                                         "pre-applications (operator)")
    s.add_argument("action", choices=["show", "advance", "auto-advance"])
    s.add_argument("serial", nargs="?")
    s.add_argument("case_action", nargs="?", choices=["funds_received", "complete", "fail", "approve", "refuse"])
    s.add_argument("--amount-fen", type=int, default=None, help="transfer amount in integer fen")
    s.add_argument("--reason", default="", help="why (required for fail / refuse)")
    s.add_argument("--minutes", type=int, default=None, help="auto-advance: cases untouched this long")
    s.set_defaults(fn=cmd_cases)
    s = sub.add_parser("openapi", help="print the OpenAPI document")
    s.set_defaults(fn=cmd_openapi)
    return p


def main(argv: list[str] | None = None) -> int:
    from center.logs import setup_logging
    args = build_parser().parse_args(argv)
    level = getattr(args, "log_level", "warning")
    log_file = Path(args.data_dir) / "center.log" if getattr(args, "data_dir", None) and args.cmd == "serve" else None
    setup_logging(level, log_file)
    try:
        return args.fn(args)
    except ValueError as e:
        print(f"hpf-center: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
