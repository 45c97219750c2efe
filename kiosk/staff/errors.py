"""Errors teller and technician mode can meet: a code, a plain Chinese message for the screen, an English
detail for the log line. Nothing personal in either."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class StaffError(Exception):
    def __init__(self, code: str, message_zh: str, detail: str = ""):
        super().__init__(f"{code}: {detail or code}")
        self.code, self.message_zh, self.detail = code, message_zh, detail

    def as_dict(self) -> dict:
        return {"code": self.code, "message_zh": self.message_zh}


def from_center(exc) -> StaffError:
    """A sync.client.CenterError as a StaffError (same code and Chinese message)."""
    return StaffError(getattr(exc, "code", "CENTER_ERROR"), getattr(exc, "message_zh", "") or "公积金中心未受理该请求。",
                      getattr(exc, "detail", "") or str(exc))
