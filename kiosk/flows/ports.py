"""The ports the kiosk flows call: what they need from devices and the center, nothing more.

Blocking methods take a CancelToken and are only ever called on worker threads (kiosk.flows.tasks).
Device failures arrive as devices.base.DeviceError (a Completion with code + Chinese message); center
failures as PortError. Adapters from the real device classes and the center client live in
kiosk/flows/adapters.py; simulators for tests implement these same methods."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Optional, Protocol, runtime_checkable

from devices.base import CancelToken, Usability


class PortError(Exception):
    """A failure a user can meet, from the center or a port: code, plain Chinese, English (log)."""

    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


class CenterOffline(PortError):
    def __init__(self, detail: str = ""):
        super().__init__("CENTER_OFFLINE", "网络中断，暂时无法连接公积金中心",
                         f"center unreachable{': ' + detail if detail else ''}")


# --- data crossing the ports ------------------------------------------------------------------------

@dataclass
class IdentityDocument:
    """What the ID reader returns (GA/T 467 text block, decoded). Personal: wiped at session end."""
    name: str
    id_number: str
    gender: str = ""            # GB/T 2261.1 code: '1' male, '2' female
    birth: Optional[date] = None
    address: str = ""
    valid_to: str = ""
    photo: bytes = b""          # opaque WLT/BMP bytes, never decoded here

    def wipe(self) -> None:
        self.name = self.id_number = self.address = self.valid_to = self.gender = ""
        self.birth = None
        self.photo = b""


@dataclass(frozen=True)
class QualityReport:
    """The camera's verdict on one frame: passed, and the first gate that failed (a stable hint code)."""
    passed: bool
    hint: str = ""              # no_face, too_far, too_close, off_center, blurry, too_dark, too_bright, hold_still
    face_box: Optional[tuple[int, int, int, int]] = None   # x, y, w, h in frame pixels


@dataclass
class FaceCapture:
    """The frame that passed every gate, as JPEG for the center's real-person check. Deleted after use."""
    jpeg: bytes
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class FaceVerdict:
    accepted: bool
    score: float = 0.0
    code: str = "OK"
    message_zh: str = ""


@dataclass
class BankCard:
    pan: str
    expiry: str = ""
    holder_name: str = ""       # from the chip (5F20), when the card carries it
    holder_id: str = ""         # from the chip (9F61), when the card carries it

    def wipe(self) -> None:
        self.pan = self.expiry = self.holder_name = self.holder_id = ""


@dataclass(frozen=True)
class SmsTicket:
    ticket: str
    masked_phone: str


@dataclass(frozen=True)
class Slip:
    """A short receipt; personal fields are already masked (kiosk.domain.masking)."""
    center_name: str
    terminal_id: str
    item_zh: str
    masked_name: str
    masked_id: str
    status_line: str
    serial_no: str
    title: str = "身份核验凭条"

    def lines(self, issued_local: str) -> list[str]:
        return [self.center_name, self.title, f"业务：{self.item_zh}", f"姓名：{self.masked_name}",
                f"证件号码：{self.masked_id}", f"结果：{self.status_line}", f"流水号：{self.serial_no}",
                f"时间：{issued_local}", f"终端：{self.terminal_id}"]


FrameSink = Callable[[Any, QualityReport], None]   # (frame as HxWx3 uint8 BGR array, report)


@runtime_checkable
class IdCardPort(Protocol):
    def usable(self) -> Usability: ...
    def read(self, token: CancelToken) -> IdentityDocument: ...
    def card_present(self) -> bool: ...


@runtime_checkable
class CameraPort(Protocol):
    def usable(self) -> Usability: ...
    def capture(self, token: CancelToken, on_frame: FrameSink) -> FaceCapture: ...


@runtime_checkable
class CardReaderPort(Protocol):
    def usable(self) -> Usability: ...
    def read(self, token: CancelToken) -> BankCard: ...
    def card_present(self) -> bool: ...


@runtime_checkable
class PrinterPort(Protocol):
    def usable(self) -> Usability: ...
    def print_slip(self, slip: Slip, token: CancelToken) -> str: ...   # returns the text as printed
    def paper_present(self) -> bool: ...


@runtime_checkable
class IdentityCenterPort(Protocol):
    """The center's identity services (实人认证 and second factors). All raise PortError / CenterOffline."""
    def verify_face(self, doc: IdentityDocument, capture: FaceCapture, token: CancelToken) -> FaceVerdict: ...
    def send_sms_code(self, doc: IdentityDocument, token: CancelToken) -> SmsTicket: ...
    def verify_sms_code(self, doc: IdentityDocument, ticket: SmsTicket, code: str, token: CancelToken) -> bool: ...
    def verify_query_password(self, doc: IdentityDocument, password: str, token: CancelToken) -> bool: ...
    def verify_bank_card(self, doc: IdentityDocument, card: BankCard, token: CancelToken) -> bool: ...


@dataclass
class Devices:
    """The devices a session can use; None = not configured / could not be built."""
    idcard: Optional[IdCardPort] = None
    camera: Optional[CameraPort] = None
    cardreader: Optional[CardReaderPort] = None
    printer: Optional[PrinterPort] = None
    raw: dict[str, Any] = field(default_factory=dict)   # role -> the underlying device (simulator controls)
