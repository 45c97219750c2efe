"""Documents as data, independent of any printer: receipt, certificates, statement, teller report.

A document carries only what goes on paper, with personal data already masked (names, ID numbers and phone
numbers pass through kiosk.domain.masking in the `create()` helpers, and the constructors refuse an unmasked
ID or phone number). That is also what makes a document safe to keep in the print journal for a reprint.

Money is integer fen; times are aware datetimes (UTC in storage) shown in Asia/Shanghai local time on paper.
Every document round-trips through to_dict()/document_from_dict() (JSON-safe) for the print journal."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
from dataclasses import dataclass
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from kiosk.domain.masking import mask_id_number, mask_name, mask_phone, mask_text

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CERTIFICATE_VALIDITY = "自开具之日起2个月内有效"
COPY_MARK = "补打/COPY"


class DocumentError(ValueError):
    """A document that must not be printed (unmasked personal data, bad amount, unknown kind)."""

    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


def local_time(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise DocumentError("DOC_NAIVE_TIME", "单据时间无效", "document time must be timezone-aware")
    return moment.astimezone(LOCAL_TZ)


def format_local(moment: dt.datetime) -> str:
    """2026-11-22 08:28:51 in Asia/Shanghai."""
    return local_time(moment).strftime("%Y-%m-%d %H:%M:%S")


def format_ratio(basis_points: int) -> str:
    """1200 -> '12%', 750 -> '7.5%'."""
    whole, part = divmod(int(basis_points), 100)
    return f"{whole}%" if not part else f"{whole}.{part:02d}".rstrip("0") + "%"


def _check_masked(kind: str, field_name: str, value: str) -> None:
    if value and mask_text(value) != value:
        raise DocumentError("DOC_UNMASKED", "单据含未遮蔽的个人信息，已拒绝打印",
                            f"{kind}.{field_name} carries an unmasked ID, card or phone number")


def _check_fen(kind: str, field_name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DocumentError("DOC_AMOUNT", "单据金额无效", f"{kind}.{field_name} must be integer fen, got {type(value).__name__}")


class Document:
    """Base: a kind name for the journal, masking/amount checks, JSON round trip."""

    kind: ClassVar[str] = "document"
    masked_fields: ClassVar[tuple[str, ...]] = ("masked_id", "masked_name")
    fen_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self.masked_fields:
            _check_masked(self.kind, name, getattr(self, name, "") or "")
        for name in self.fen_fields:
            value = getattr(self, name)
            if value is not None:
                _check_fen(self.kind, name, value)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "data": _encode(self)}

    def as_copy(self):
        """The same document marked 补打/COPY (reprints after paper-out, customer asks again)."""
        return dataclasses.replace(self, copy=True) if hasattr(self, "copy") else self


# --------------------------------------------------------------------------- receipt (ESC/POS)

@dataclass(frozen=True)
class AmountLine:
    label: str
    fen: int

    def __post_init__(self):
        _check_fen("AmountLine", self.label, self.fen)


@dataclass(frozen=True)
class Receipt(Document):
    """A customer receipt (业务回单) for the 58/80 mm printer."""

    kind: ClassVar[str] = "receipt"
    fen_fields: ClassVar[tuple[str, ...]] = ()
    masked_fields: ClassVar[tuple[str, ...]] = ("masked_id", "masked_name", "masked_phone")

    center_name: str
    terminal_id: str
    issued_at: dt.datetime
    serial_no: str                   # 业务流水号 shown to the customer
    client_id: str                   # journal client id (UUIDv7), the idempotency key
    item: str                        # 事项, e.g. 租房提取
    masked_name: str = ""
    masked_id: str = ""
    masked_phone: str = ""
    fields: tuple[tuple[str, str], ...] = ()     # extra label/value lines (提取原因, 收款银行 ...)
    amounts: tuple[AmountLine, ...] = ()
    status_line: str = ""            # e.g. 已受理，待联网确认
    qr_payload: str = ""             # progress lookup
    notes: tuple[str, ...] = ()
    title: str = "住房公积金业务回单"
    copy: bool = False

    def __post_init__(self):
        super().__post_init__()
        local_time(self.issued_at)
        for label, value in self.fields:
            _check_masked(self.kind, label, value)
        for note in self.notes:
            _check_masked(self.kind, "notes", note)

    @classmethod
    def create(cls, *, name: str = "", id_number: str = "", phone: str = "", **kw) -> "Receipt":
        """Build from raw personal data; masks it here so nothing raw reaches paper or the journal."""
        return cls(masked_name=mask_name(name), masked_id=mask_id_number(id_number) if id_number else "",
                   masked_phone=mask_phone(phone) if phone else "", **kw)


# --------------------------------------------------------------------------- certificates (A4 PDF)

LOAN_RECORDS = ("无贷款记录", "仅有一次且已还清", "两次以上且已还清", "有未结清贷款")


@dataclass(frozen=True)
class Verification:
    """How a relying party checks a certificate: code + QR to the center, and the signature as text."""
    verification_code: str
    verify_url: str
    signature_alg: str = "SM2-with-SM3"
    signature_b64: str = ""
    signer: str = ""

    @property
    def qr_payload(self) -> str:
        sep = "&" if "?" in self.verify_url else "?"
        return f"{self.verify_url}{sep}code={self.verification_code}"


@dataclass(frozen=True)
class DepositUseCertificate(Document):
    """住房公积金缴存使用证明 (national form for a loan in another city; hpf-rules §4)."""

    kind: ClassVar[str] = "deposit_use_certificate"
    fen_fields: ClassVar[tuple[str, ...]] = ("base_fen", "monthly_fen", "balance_fen")

    center_name: str
    serial_no: str
    issued_at: dt.datetime
    masked_name: str
    masked_id: str
    employer: str
    account_no: str
    account_state: str                # 正常/封存/欠款/其他
    opened_on: dt.date
    unit_ratio_bp: int                # basis points: 1200 = 12%
    personal_ratio_bp: int
    base_fen: int
    monthly_fen: int
    continuous_from: str              # YYYY-MM
    continuous_to: str                # YYYY-MM
    balance_fen: int
    loan_record: str                  # one of LOAN_RECORDS
    verification: Verification
    contact: str = ""                 # center contact person
    contact_phone: str = ""           # center service phone (an office number, not personal)
    seal_text: str = "住房公积金业务专用章"
    copy: bool = False

    def __post_init__(self):
        super().__post_init__()
        local_time(self.issued_at)
        if self.loan_record not in LOAN_RECORDS:
            raise DocumentError("DOC_FIELD", "贷款记录取值无效", f"loan_record must be one of {LOAN_RECORDS}")
        for name in ("continuous_from", "continuous_to"):
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", getattr(self, name)):
                raise DocumentError("DOC_FIELD", "连续缴存时间格式有误", f"{name} must be YYYY-MM")
        if self.continuous_from > self.continuous_to:
            raise DocumentError("DOC_FIELD", "连续缴存时间有误", "continuous_from is after continuous_to")
        for name in ("unit_ratio_bp", "personal_ratio_bp"):
            if not 0 <= getattr(self, name) <= 10_000:
                raise DocumentError("DOC_FIELD", "缴存比例有误", f"{name} must be 0..10000 basis points")

    @property
    def valid_until(self) -> dt.date:
        """Two months from the day of issue (same day number, clamped to the month's end)."""
        return add_months(local_time(self.issued_at).date(), 2)


@dataclass(frozen=True)
class LoanPayoffCertificate(Document):
    """个人住房贷款全部还清证明."""

    kind: ClassVar[str] = "loan_payoff_certificate"
    fen_fields: ClassVar[tuple[str, ...]] = ("loan_fen",)

    center_name: str
    serial_no: str
    issued_at: dt.datetime
    masked_name: str
    masked_id: str
    contract_no: str
    lending_bank: str
    loan_fen: int
    term_months: int
    loan_start: dt.date
    paid_off_on: dt.date
    verification: Verification
    property_address: str = ""
    seal_text: str = "住房公积金业务专用章"
    copy: bool = False

    def __post_init__(self):
        super().__post_init__()
        local_time(self.issued_at)


# --------------------------------------------------------------------------- statement and teller report

@dataclass(frozen=True)
class StatementLine:
    on: dt.date
    summary: str                      # 摘要: 汇缴, 提取, 结息 ...
    credit_fen: int = 0
    debit_fen: int = 0
    balance_fen: int = 0

    def __post_init__(self):
        for name in ("credit_fen", "debit_fen", "balance_fen"):
            _check_fen("StatementLine", name, getattr(self, name))


@dataclass(frozen=True)
class AccountStatement(Document):
    """个人账户明细 for a period."""

    kind: ClassVar[str] = "account_statement"
    fen_fields: ClassVar[tuple[str, ...]] = ("opening_fen", "closing_fen")

    center_name: str
    issued_at: dt.datetime
    masked_name: str
    masked_id: str
    account_no: str
    period_from: dt.date
    period_to: dt.date
    opening_fen: int
    closing_fen: int
    lines: tuple[StatementLine, ...] = ()
    copy: bool = False
    verification: typing.Optional[Verification] = None    # center-signed statement: code + QR (kiosk.flows.services)
    title: str = "住房公积金个人账户明细"                   # or 年度对账单 / 个人贷款明细
    columns: tuple[str, str] = ("收入", "支出")             # loan details: ("还款本金", "利息")
    summary: tuple[tuple[str, str], ...] = ()             # label/value lines above the table (annual totals)
    seal_text: str = "住房公积金业务专用章"


@dataclass(frozen=True)
class EodItemLine:
    item: str
    queued_count: int = 0
    queued_fen: int = 0
    accepted_count: int = 0
    accepted_fen: int = 0
    refused_count: int = 0
    refused_fen: int = 0

    def __post_init__(self):
        for name in ("queued_fen", "accepted_fen", "refused_fen"):
            _check_fen("EodItemLine", name, getattr(self, name))

    @property
    def count(self) -> int:
        return self.queued_count + self.accepted_count + self.refused_count


@dataclass(frozen=True)
class EndOfDayReport(Document):
    """Teller end-of-day journal (日终轧账): counts and totals by item; queued/accepted/refused."""

    kind: ClassVar[str] = "end_of_day_report"
    masked_fields: ClassVar[tuple[str, ...]] = ()

    center_name: str
    branch: str
    terminal_id: str
    teller_id: str
    business_date: dt.date
    issued_at: dt.datetime
    lines: tuple[EodItemLine, ...] = ()
    copy: bool = False

    def total(self, what: str) -> int:
        """total('queued_count'), total('accepted_fen') ..."""
        return sum(getattr(line, what) for line in self.lines)


# --------------------------------------------------------------------------- helpers

def add_months(day: dt.date, months: int) -> dt.date:
    import calendar
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


DOCUMENT_KINDS: dict[str, type] = {cls.kind: cls for cls in (
    Receipt, DepositUseCertificate, LoanPayoffCertificate, AccountStatement, EndOfDayReport)}


def document_from_dict(data: dict) -> Document:
    """Inverse of Document.to_dict(); raises DocumentError for an unknown kind or bad data."""
    try:
        cls = DOCUMENT_KINDS[data["kind"]]
        return _decode(cls, data["data"])
    except DocumentError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise DocumentError("DOC_DECODE", "单据数据无法读取", f"cannot decode document: {exc!r}") from exc


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(tp: Any, raw: Any) -> Any:
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _decode(hints[f.name], raw[f.name]) for f in dataclasses.fields(tp)
                     if f.init and f.name in raw})
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if raw is None else _decode(args[0], raw)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in raw)
        return tuple(_decode(a, v) for a, v in zip(args, raw))
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(raw)
    if tp is dt.date:
        return dt.date.fromisoformat(raw)
    return raw
