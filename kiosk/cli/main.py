"""`hpf-kiosk`: the terminal's command line, for technicians and for the demo.

Each command group lives in its own module in kiosk/cli/ and exposes
    register(subparsers, common) -> None
where `common` is a parent parser carrying --profile/--config. Modules are discovered, so a group is added by
adding a file. Commands return an int exit status; a ConfigError is printed one line per problem, exit 2."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import kiosk.cli as cli_pkg
from config import ConfigError, load_settings

EPILOG = """Examples:
  hpf-kiosk doctor                       check configuration, devices, storage and the center link
  hpf-kiosk config show                  the settings in force (secrets masked)
  hpf-kiosk config check /etc/hpf-kiosk/kiosk.toml
  hpf-kiosk --profile village-kiosk config show

Settings load order: profile (--profile or HPF_KIOSK_PROFILE, default 'demo'), then the file
(--config or HPF_KIOSK_CONFIG), then environment variables HPF_KIOSK__SECTION__KEY=value."""


def common_parser(for_subcommand: bool = True) -> argparse.ArgumentParser:
    """--profile/--config, accepted before or after the subcommand. A subcommand's copy must not reset a
    value given before it, hence SUPPRESS as its default."""
    p = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if for_subcommand else None
    p.add_argument("--profile", default=default, help="shipped profile: demo, village-kiosk, bank-teller")
    p.add_argument("--config", default=default, metavar="FILE",
                   help="TOML file with settings that override the profile")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="hpf-kiosk", parents=[common_parser(for_subcommand=False)],
        description="Housing Provident Fund (住房公积金) self-service kiosk and teller terminal.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda m: m.name):
        if mod.name in ("main",) or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"kiosk.cli.{mod.name}")
        register = getattr(module, "register", None)
        if register:
            register(sub, common)
    return parser


def load(args: argparse.Namespace):
    """Settings for a command, from --profile/--config and the environment."""
    return load_settings(profile=getattr(args, "profile", None), file=getattr(args, "config", None))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print("configuration error:", file=sys.stderr)
        for line in exc.lines:
            print("  " + line, file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
