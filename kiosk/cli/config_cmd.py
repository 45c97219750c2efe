"""hpf-kiosk config show | check FILE | profiles"""
from __future__ import annotations

import json
import sys

from config import ConfigError, available_profiles, load_settings
from config.loader import masked_dump


def register(sub, common) -> None:
    p = sub.add_parser("config", help="show or check the terminal's settings", parents=[common])
    s = p.add_subparsers(dest="config_cmd", metavar="ACTION", required=True)
    show = s.add_parser("show", help="print the settings in force, secrets masked", parents=[common])
    show.add_argument("--json", action="store_true", help="JSON instead of TOML-like text")
    show.set_defaults(func=cmd_show)
    check = s.add_parser("check", help="validate a settings file; exit 2 with one line per problem",
                         parents=[common])
    check.add_argument("file")
    check.set_defaults(func=cmd_check)
    prof = s.add_parser("profiles", help="list the shipped profiles")
    prof.set_defaults(func=lambda a: print("\n".join(available_profiles())) or 0)


def _print_toml_like(data: dict, prefix: str = "") -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if scalars:
        if prefix:
            print(f"[{prefix}]")
        for k, v in scalars.items():
            print(f"{k} = {json.dumps(v, ensure_ascii=False)}")
        print()
    for k, v in tables.items():
        _print_toml_like(v, f"{prefix}.{k}" if prefix else k)


def cmd_show(args) -> int:
    settings = load_settings(profile=args.profile, file=args.config)
    data = masked_dump(settings)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_toml_like(data)
    return 0


def cmd_check(args) -> int:
    try:
        settings = load_settings(profile=args.profile, file=args.file)
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return ConfigError.exit_code
    print(f"{args.file}: OK (profile {settings.profile}, terminal {settings.terminal.id}, role {settings.terminal.role.value})")
    return 0
