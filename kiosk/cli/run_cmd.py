"""hpf-kiosk run | selftest --out DIR

`run` opens the kiosk window (demo profile: embedded center, simulated devices, simulator panel). Without a
display it says how to get one and exits 3. `selftest` drives every resident service item (one case each, a demo
person per item) through the real screens headless (offscreen Qt) against the center, with the service flows
attached, and writes screenshots, receipts, A4 PDFs and summary.json into DIR; exit 0 only if all passed."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def register(sub, common) -> None:
    run = sub.add_parser("run", help="open the kiosk screen (GUI)", parents=[common])
    run.set_defaults(func=cmd_run)
    st = sub.add_parser("selftest", help="headless: every service item through the screens; writes what was "
                                          "printed and screenshots to DIR", parents=[common])
    st.add_argument("--out", required=True, metavar="DIR", help="where to write screenshots, printouts, summary.json")
    st.add_argument("--only", metavar="ITEM", action="append", help="run only this item's case (repeatable)")
    st.set_defaults(func=cmd_selftest)


def _settings(args):
    from kiosk.cli.main import load
    return load(args)


def _logging(settings) -> None:
    from kiosk.logs import setup_logging
    setup_logging(settings.log_file, settings.logging.level, settings.logging.max_bytes, settings.logging.backups)


def cmd_run(args) -> int:
    settings = _settings(args)
    from screens.app import display_problem
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 3
    _logging(settings)
    from kiosk.app import run_gui
    return run_gui(settings, config_file=getattr(args, "config", None) or os.environ.get("HPF_KIOSK_CONFIG"))


def cmd_selftest(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HPF_KIOSK_VOICE", "mute")
    settings = _settings(args)
    _logging(settings)
    import logging
    from kiosk.logs import StderrHandler
    for h in logging.getLogger().handlers:        # the report is the case lines; the log file keeps the rest
        if isinstance(h, StderrHandler):
            h.setLevel(logging.WARNING)
    from screens.selftest import CASES, run_selftest
    cases = None
    if getattr(args, "only", None):
        cases = [c for c in CASES if c.item in args.only]
        unknown = set(args.only) - {c.item for c in cases}
        if unknown:
            print(f"no self-test case for: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
    from kiosk.app import build_app
    app = build_app(settings, services=True)
    try:
        return run_selftest(app, Path(args.out), cases)
    finally:
        app.close()
