"""hpf-kiosk run | selftest --out DIR

`run` opens the kiosk window (demo profile: embedded center, simulated devices, simulator panel). Without a
display it says how to get one and exits 3. `selftest` drives one identification session of each level
headless (offscreen Qt) against the center and writes what was printed into DIR; exit 0 only if all passed."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def register(sub, common) -> None:
    run = sub.add_parser("run", help="open the kiosk screen (GUI)", parents=[common])
    run.set_defaults(func=cmd_run)
    st = sub.add_parser("selftest", help="headless: one identification session per level; writes receipts to DIR",
                        parents=[common])
    st.add_argument("--out", required=True, metavar="DIR", help="where to write what was printed")
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
    from kiosk.app import build_app
    app = build_app(settings)
    try:
        from screens.selftest import run_selftest
        return run_selftest(app, Path(args.out))
    finally:
        app.close()
