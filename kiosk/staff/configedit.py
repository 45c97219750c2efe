"""Configuration view (secrets masked), edit with validation, atomic save and rollback — for the technician.

    ed = ConfigEditor(Path("/etc/hpf-kiosk/kiosk.toml"), profile="bank-teller")
    ed.view()                                  # the settings this file gives, secrets masked
    ed.set("session.idle_timeout_s", "120")    # validated by config.loader before anything is written
    ed.rollback()                              # back to the file as it was before the last save

A candidate is written next to the file, loaded through config.loader (the same schema and one-line problems
the kiosk uses at start-up), and only then renamed over the file (temp file + fsync + rename + directory
fsync). The file before the save is kept as <file>.prev, so one rollback is always possible. Comments in the
file are not kept (the file is rewritten from its data)."""
from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import BaseModel, SecretStr

from config import ConfigError, load_settings
from config.loader import masked_dump, read_toml_file
from config.schema import Settings
from kiosk.staff.errors import StaffError

log = logging.getLogger(__name__)

MASK = "********"


# --- the loader's one-line problems in plain Chinese (the English stays in the log and the audit record) ------

_PLAIN = [(re.compile(r"Input should be greater than or equal to (\S+)"), "应不小于{0}"),
          (re.compile(r"Input should be greater than (\S+)"), "应大于{0}"),
          (re.compile(r"Input should be less than or equal to (\S+)"), "应不大于{0}"),
          (re.compile(r"Input should be less than (\S+)"), "应小于{0}"),
          (re.compile(r"Input should be a valid integer.*"), "应为整数"),
          (re.compile(r"Input should be a valid number.*"), "应为数字"),
          (re.compile(r"Input should be a valid boolean.*"), "应为 true 或 false"),
          (re.compile(r"Input should be a valid URL.*"), "应为网址，如 https://…"),
          (re.compile(r"Input should be (.+)"), "应为 {0}")]


def plain_zh(problem: str) -> str:
    """e.g. "Input should be greater than or equal to 20" -> "应不小于20"; an unknown problem stays as it is."""
    for pattern, zh in _PLAIN:
        m = pattern.search(problem)
        if m:
            return zh.format(*m.groups())
    return problem


# --- a small TOML writer (tables of scalars and lists; what settings files hold) ---------------------------

def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (datetime, date, dtime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)     # JSON string escapes are valid TOML basic strings
    raise StaffError("CONFIG_VALUE_TYPE", "设置值类型不支持", f"cannot write {type(v).__name__} to TOML")


def dumps_toml(data: Mapping[str, Any]) -> str:
    out: list[str] = []

    def table(d: Mapping[str, Any], prefix: str) -> None:
        scalars = [(k, v) for k, v in d.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in d.items() if isinstance(v, Mapping)]
        if prefix and (scalars or not tables):
            out.append(f"\n[{prefix}]")
        for k, v in scalars:
            out.append(f"{_key(k)} = {_scalar(v)}")
        for k, v in tables:
            table(v, f"{prefix}.{_key(k)}" if prefix else _key(k))

    table(data, "")
    return "\n".join(out).lstrip("\n") + "\n"


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


# --- atomic file helpers -----------------------------------------------------------------------------------

def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Temp file in the same folder + fsync + rename + folder fsync; keeps the file's mode (new: 0640)."""
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o640
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# --- schema lookups ----------------------------------------------------------------------------------------

def _field(key: str):
    """The pydantic field for a dotted key, or StaffError CONFIG_UNKNOWN_KEY."""
    model: type[BaseModel] = Settings
    parts = key.split(".")
    info = None
    for i, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            raise StaffError("CONFIG_UNKNOWN_KEY", f"没有这个设置项：{key}", f"unknown settings key {key!r}")
        info = fields[part]
        ann = info.annotation
        if i < len(parts) - 1:
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                raise StaffError("CONFIG_UNKNOWN_KEY", f"没有这个设置项：{key}", f"{'.'.join(parts[:i + 1])} is not a section")
            model = ann
    ann = info.annotation
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        raise StaffError("CONFIG_KEY_IS_SECTION", f"“{key}”是一组设置，请指定其中一项", f"{key} is a section")
    return info


def is_secret(key: str) -> bool:
    try:
        ann = _field(key).annotation
    except StaffError:
        return False
    return "SecretStr" in str(ann) or ann is SecretStr


def parse_value(text: str) -> Any:
    """A value typed by the technician: TOML scalar where it is one (120, true, 1.5, [..]), else the text."""
    try:
        v = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return text if isinstance(v, dict) else v


class ConfigEditor:
    def __init__(self, path: "str | Path", profile: Optional[str] = None, env: Optional[Mapping[str, str]] = None):
        self.path = Path(path)
        self.prev_path = self.path.with_name(self.path.name + ".prev")
        self.profile = profile
        self.env = dict(env or {})

    def data(self) -> dict:
        if not self.path.exists():
            return {}
        try:
            return read_toml_file(self.path)
        except ConfigError as exc:
            raise StaffError("CONFIG_FILE_BAD", "设置文件无法读取，请检查或回退", "; ".join(exc.lines)) from None

    def load(self, path: Optional[Path] = None):
        return load_settings(profile=self.profile, file=path or self.path, env=self.env)

    def view(self) -> dict:
        """Settings in force from this file (profile + file), secrets masked."""
        try:
            return masked_dump(self.load())
        except ConfigError as exc:
            raise StaffError("CONFIG_INVALID", "当前设置文件有误：" + "；".join(exc.lines), "; ".join(exc.lines)) from None

    def set(self, key: str, value: Any, *, audit=None, actor: str = "technician") -> dict:
        """Validate and save one key. Returns {key, old, new} (secrets masked). The file is untouched on error."""
        key = key.strip()
        _field(key)
        if isinstance(value, str):
            value = parse_value(value)
        data = self.data()
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = node[p] = {}
            node = nxt
        old_in_file = node.get(parts[-1], None)
        node[parts[-1]] = value
        text = dumps_toml(data)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cand = self.path.with_name(f".{self.path.name}.candidate.{os.getpid()}")
        try:
            cand.write_text(text, encoding="utf-8")
            try:
                self.load(cand)
            except ConfigError as exc:
                lines = [line.replace(str(cand), str(self.path)) for line in exc.lines]
                secret = is_secret(key)
                if audit is not None:
                    audit.append(actor, "technician.config_set", target=key, result="refused:CONFIG_INVALID",
                                 details={"value": MASK if secret else str(value), "problems": lines})
                log.warning("config edit refused: %s", "; ".join(lines))
                raise StaffError("CONFIG_INVALID", "设置值不符合要求：" + "；".join(
                    (plain_zh(line.split(": ", 2)[-1]) if not secret else "格式不正确") for line in lines),
                    "; ".join(lines)) from None
        finally:
            cand.unlink(missing_ok=True)
        if self.path.exists():
            write_atomic(self.prev_path, self.path.read_text(encoding="utf-8"))
        write_atomic(self.path, text)
        secret = is_secret(key)
        change = {"key": key, "old": MASK if secret and old_in_file is not None else old_in_file,
                  "new": MASK if secret else value}
        env_var = "HPF_KIOSK__" + "__".join(p.upper() for p in parts)
        if env_var in os.environ:      # saved, but the environment wins at start-up: say so
            change["overridden_by"] = env_var
            log.warning("config %s saved but overridden by environment variable %s", key, env_var)
        if audit is not None:
            audit.append(actor, "technician.config_set", target=key,
                         details={"old": str(change["old"]), "new": str(change["new"])})
        log.info("config %s set in %s (previous file kept as %s)", key, self.path, self.prev_path.name)
        return change

    def rollback(self, *, audit=None, actor: str = "technician") -> None:
        """Put back the file as it was before the last save (the current one becomes .prev: undo twice = redo)."""
        if not self.prev_path.exists():
            raise StaffError("CONFIG_NO_PREVIOUS", "没有可回退的上一版设置", f"{self.prev_path} does not exist")
        try:
            self.load(self.prev_path)
        except ConfigError as exc:
            raise StaffError("CONFIG_PREVIOUS_INVALID", "上一版设置文件有误，不能回退", "; ".join(exc.lines)) from None
        prev_text = self.prev_path.read_text(encoding="utf-8")
        cur_text = self.path.read_text(encoding="utf-8") if self.path.exists() else None
        write_atomic(self.path, prev_text)
        if cur_text is not None:
            write_atomic(self.prev_path, cur_text)
        if audit is not None:
            audit.append(actor, "technician.config_rollback", target=str(self.path.name))
        log.info("config %s rolled back to the previous file", self.path)
