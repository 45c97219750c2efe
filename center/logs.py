"""Logging for the center process: English lines, every record masked (ID numbers, cards, phones) with the
shared kiosk.domain.masking rules before it is written."""
from __future__ import annotations

import logging
from pathlib import Path

from kiosk.domain.masking import mask_text
from kiosk.logs import StderrHandler


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            msg = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = mask_text(msg), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    root = logging.getLogger()
    if getattr(root, "_hpf_center_logging", False):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [StderrHandler()]
    if log_file:
        from logging.handlers import RotatingFileHandler
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=10, encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(MaskingFilter())
        root.addHandler(h)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    root._hpf_center_logging = True
