"""Load settings: shipped profile, then a TOML file, then environment variables HPF_KIOSK__SECTION__KEY.

Every problem is reported as one line naming where the value came from, the key, the value and what is
allowed. Callers print ConfigError.lines and exit with code 2; nothing here raises a bare traceback."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from config.schema import Settings

ENV_PREFIX = "HPF_KIOSK__"
PROFILE_ENV = "HPF_KIOSK_PROFILE"
FILE_ENV = "HPF_KIOSK_CONFIG"
DEFAULT_PROFILE = "demo"


@dataclass(frozen=True)
class Problem:
    source: str      # file name, "profile:NAME" or "env:VAR"
    key: str         # dotted key, e.g. devices.idcard.baud
    value: Any
    allowed: str

    def line(self) -> str:
        shown = "<missing>" if self.value is _MISSING else repr(self.value)
        return f"{self.source}: {self.key or '<top>'} = {shown}: {self.allowed}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


class ConfigError(Exception):
    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]


def available_profiles() -> list[str]:
    root = resources.files("config") / "profiles"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _read_profile(name: str) -> dict:
    path = resources.files("config") / "profiles" / f"{name}.toml"
    if not path.is_file():
        raise ConfigError([Problem(f"profile:{name}", "profile", name,
                                   f"unknown profile; choose one of {', '.join(available_profiles())}")])
    return tomllib.loads(path.read_text(encoding="utf-8"))


def read_toml_file(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "", _MISSING, "file not found")]) from None
    except (PermissionError, IsADirectoryError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError([Problem(str(path), "", _MISSING,
                                   f"file cannot be read ({exc.__class__.__name__}: {exc.strerror or exc})")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(str(path), "", _MISSING, f"TOML syntax error: {exc}")]) from None


def _env_overrides(env: Mapping[str, str]) -> dict:
    out: dict = {}
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _env_value(value)
    return out


def _env_value(text: str) -> Any:
    """Environment values are text; read them as TOML scalars where they are (115200, true, 1.5, [..]),
    so a Literal[115200, ...] or a bool accepts them, and keep anything else as the string it is."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if not isinstance(value, dict) else text


def _merge(base: dict, over: dict, source: str, origin: dict, prefix: tuple = ()) -> dict:
    out = dict(base)
    for k, v in over.items():
        key = prefix + (k,)
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v, source, origin, key)
        else:
            out[k] = v
            _mark(v, source, origin, key)
    return out


def _mark(value: Any, source: str, origin: dict, key: tuple) -> None:
    """Record which layer set each leaf key."""
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(v, source, origin, key + (k,))
    else:
        origin[key] = source


def _lookup(data: dict, loc: tuple) -> Any:
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _source_of(origin: dict, loc: tuple, default: str) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in origin:
            return origin[loc[:n]]
        # not set itself: blame the latest layer (env > file > profile) that set something beside it
        inner = [src for key, src in origin.items() if key[:n] == loc[:n]]
        if inner:
            return max(inner, key=lambda src: 3 if src.startswith("env:") else 1 if src.startswith("profile:") else 2)
    return default


def load_settings(profile: str | None = None, file: str | Path | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from profile, file and environment (later wins). Raises ConfigError."""
    env = os.environ if env is None else env
    origin: dict = {}
    file_data: dict = {}
    file = file or env.get(FILE_ENV) or None
    if file:
        file_data = read_toml_file(Path(file))
    name = profile or env.get(PROFILE_ENV) or file_data.get("profile") or DEFAULT_PROFILE
    data = _merge({}, _read_profile(name), f"profile:{name}", origin)
    data["profile"] = name
    if file_data:
        file_data = {k: v for k, v in file_data.items() if k != "profile"}
        data = _merge(data, file_data, str(file), origin)
    env_data = _env_overrides(env)
    for key in _flatten(env_data):
        origin[key] = "env:" + ENV_PREFIX + "__".join(p.upper() for p in key)
    data = _merge(data, env_data, "env", {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(str(p) for p in err["loc"] if not isinstance(p, int) or True)
            # Literal/union errors add the branch name to loc; keep only real keys for the message.
            keys = tuple(p for p in loc if not p.startswith(("literal[", "int", "str", "function-")))
            value = _lookup(data, keys) if err["type"] != "missing" else _MISSING
            if err["type"] == "extra_forbidden":
                allowed = "unknown key (check the spelling; see `hpf-kiosk config show` for the known keys)"
            else:
                allowed = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(_source_of(origin, keys, f"profile:{name}"), ".".join(keys), value, allowed))
        # One line per key: unions report each branch; keep the first message for a key.
        seen, unique = set(), []
        for p in problems:
            if p.key not in seen:
                seen.add(p.key)
                unique.append(p)
        raise ConfigError(unique) from None


def _flatten(d: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, prefix + (k,))
        else:
            out.append(prefix + (k,))
    return out


def masked_dump(settings: Settings) -> dict:
    """Settings as plain data with secrets masked, for `config show`."""
    return settings.model_dump(mode="json")  # SecretStr dumps as '**********'
