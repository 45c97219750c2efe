"""Logging: JSON lines to a rotating file plus a readable console line.

One MaskingFilter is installed on the root handlers, so every record, from any logger and any call site,
is masked (ID numbers, bank cards, phones) before it is formatted or written."""
from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path

from kiosk.domain.masking import mask_text

_INSTALLED_ATTR = "_hpf_logging_installed"
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _mask_value(v):
    if isinstance(v, str):
        return mask_text(v)
    if isinstance(v, dict):
        return {k: _mask_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_mask_value(x) for x in v)
    if isinstance(v, (int, float, bool)) or v is None:
        # integers can be card or ID numbers too
        return mask_text(str(v)) if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**10 else v
    return mask_text(str(v))


class MaskingFilter(logging.Filter):
    """Rewrites msg/args/extra fields/exception text with masked forms. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS:
                setattr(record, key, _mask_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                doc[key] = value
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record (as logging's last-resort handler does), so a
    handler installed while stderr was redirected (a CLI call inside a test, a daemon reopening its stderr)
    never writes to a closed stream later."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(log_file: Path | None = None, level: str = "INFO", max_bytes: int = 5_000_000,
                  backups: int = 10, console: bool = True) -> logging.Logger:
    """Install handlers and the masking filter once (idempotent; a second call reconfigures files only)."""
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        if getattr(h, _INSTALLED_ATTR, False):
            root.removeHandler(h)
            h.close()
    mask = MaskingFilter()
    handlers: list[logging.Handler] = []
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=backups,
                                                  encoding="utf-8")
        fh.setFormatter(JsonFormatter())
        handlers.append(fh)
    if console:
        ch = StderrHandler()
        ch.setFormatter(ConsoleFormatter())
        ch.setLevel(max(logging.getLevelName(level), logging.INFO))
        handlers.append(ch)
    for h in handlers:
        h.addFilter(mask)
        setattr(h, _INSTALLED_ATTR, True)
        root.addHandler(h)
    return root
