"""Transfer-continuation (转移接续), reference/hpf-rules.md §4.

Contact-letter number (联系函编号) = 6-character center code + YYMMDD + 4-digit daily sequence,
e.g. C33080 251103 0007 -> "C330802511030007". Status progression, driven by BDC90x messages:

    申请 APPLIED --send_letter--> 联系函已发送 LETTER_SENT --origin_confirmed--> 转出地已确认 ORIGIN_CONFIRMED
        --complete--> 转入完成 COMPLETED
    any non-final state --fail--> 失败 FAILED (origin feedback 1, cancellation BDC903, or rejection)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum

_CENTER_RE = re.compile(r"^[A-Z0-9]{6}$")
_LETTER_RE = re.compile(r"^(?P<center>[A-Z0-9]{6})(?P<d>\d{6})(?P<seq>\d{4})$")


class TransferError(ValueError):
    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


def letter_number(center_code: str, on: date, seq: int) -> str:
    if not _CENTER_RE.match(center_code or ""):
        raise TransferError("TRANSFER_CENTER_CODE", "中心代码应为6位大写字母或数字",
                            f"center code must be 6 characters [A-Z0-9], got {center_code!r}")
    if not isinstance(seq, int) or not 1 <= seq <= 9999:
        raise TransferError("TRANSFER_SEQ", "当日联系函数量已超过上限", f"sequence must be 1..9999, got {seq!r}")
    return f"{center_code}{on:%y%m%d}{seq:04d}"


def parse_letter_number(text: str) -> tuple[str, date, int]:
    m = _LETTER_RE.match((text or "").strip().upper())
    if not m:
        raise TransferError("TRANSFER_LETTER_FORMAT", "联系函编号格式不正确",
                            "letter number must be 6-char center code + YYMMDD + 4 digits")
    d = m.group("d")
    try:
        day = date(2000 + int(d[:2]), int(d[2:4]), int(d[4:6]))
    except ValueError:
        raise TransferError("TRANSFER_LETTER_FORMAT", "联系函编号中的日期不正确",
                            "letter number carries an impossible date") from None
    seq = int(m.group("seq"))
    if seq == 0:
        raise TransferError("TRANSFER_LETTER_FORMAT", "联系函编号中的序号不正确", "sequence 0000 is not used")
    return m.group("center"), day, seq


class TransferStatus(Enum):
    APPLIED = "申请"
    LETTER_SENT = "联系函已发送"
    ORIGIN_CONFIRMED = "转出地已确认"
    COMPLETED = "转入完成"
    FAILED = "失败"

    @property
    def is_final(self) -> bool:
        return self in (TransferStatus.COMPLETED, TransferStatus.FAILED)


class TransferEvent(Enum):
    SEND_LETTER = "send_letter"            # BDC901/902 sent
    ORIGIN_CONFIRMED = "origin_confirmed"  # BDC905/906 feedback 0 (完成)
    COMPLETE = "complete"                  # funds booked in, TxFunc 2 (转入确认办结)
    FAIL = "fail"                          # feedback 1, BDC903 cancel, or rejection


_TRANSITIONS = {
    (TransferStatus.APPLIED, TransferEvent.SEND_LETTER): TransferStatus.LETTER_SENT,
    (TransferStatus.LETTER_SENT, TransferEvent.ORIGIN_CONFIRMED): TransferStatus.ORIGIN_CONFIRMED,
    (TransferStatus.ORIGIN_CONFIRMED, TransferEvent.COMPLETE): TransferStatus.COMPLETED,
}


def next_status(status: TransferStatus, event: TransferEvent) -> TransferStatus:
    if event is TransferEvent.FAIL and not status.is_final:
        return TransferStatus.FAILED
    try:
        return _TRANSITIONS[(status, event)]
    except KeyError:
        raise TransferError("TRANSFER_BAD_TRANSITION", f"转移业务当前状态为“{status.value}”，不能执行此操作",
                            f"transfer cannot go from {status.name} on {event.value}") from None


def event_for_origin_feedback(code: str) -> TransferEvent | None:
    """BDC905/906 反馈代码: 0 完成 -> ORIGIN_CONFIRMED, 1 失败 -> FAIL, 2 处理中 -> None (no change)."""
    mapping = {"0": TransferEvent.ORIGIN_CONFIRMED, "1": TransferEvent.FAIL, "2": None}
    if str(code) not in mapping:
        raise TransferError("TRANSFER_FEEDBACK", "转出地反馈代码不正确", f"unknown feedback code {code!r}")
    return mapping[str(code)]


@dataclass
class TransferCase:
    """One transfer-in case at the receiving center; `history` records (status, UTC time, note)."""
    letter_no: str
    status: TransferStatus = TransferStatus.APPLIED
    history: list[tuple[TransferStatus, datetime, str]] = field(default_factory=list)

    def __post_init__(self):
        parse_letter_number(self.letter_no)
        if not self.history:
            self.history.append((self.status, datetime.now(timezone.utc), ""))

    def apply(self, event: TransferEvent, note: str = "") -> TransferStatus:
        self.status = next_status(self.status, event)
        self.history.append((self.status, datetime.now(timezone.utc), note))
        return self.status
