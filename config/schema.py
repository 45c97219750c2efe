"""The settings schema. Every key a technician can set is declared here with its type and limits.

Unknown keys are refused (a typo must not silently fall back to a default)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Role(str, Enum):
    KIOSK = "kiosk"          # unattended resident kiosk (village / township service point)
    TELLER = "teller"        # bank-branch delegated processing (委托代办)


class Channel(str, Enum):
    SELF_SERVICE = "self_service"   # 自助终端
    BANK_COUNTER = "bank_counter"   # 银行网点柜面


class TerminalSettings(_Section):
    id: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")] = "DEMO-0001"
    center_code: Annotated[str, Field(pattern=r"^[0-9A-Z]{6,8}$")] = "C33080"
    center_name: str = "衢州市住房公积金中心"
    branch: str = ""
    channel: Channel = Channel.SELF_SERVICE
    role: Role = Role.KIOSK


class CenterSettings(_Section):
    url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8600")
    embedded: bool = False                  # start a reference center in-process (demo only)
    connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    read_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    verify_tls: bool = True
    enrollment_code: Optional[SecretStr] = None   # one-time code, used once by `hpf-kiosk enroll`


class IdCardReaderSettings(_Section):
    backend: Literal["gat467", "sim", "none"] = "sim"
    port: Optional[str] = None
    baud: Literal[115200, 57600, 38400, 19200, 9600] = 115200
    read_fingerprint: bool = False
    poll_interval_s: Annotated[float, Field(gt=0, le=5)] = 0.3

    @field_validator("port")
    @classmethod
    def _port_for_serial(cls, port, info: ValidationInfo):
        if info.data.get("backend") == "gat467" and not port:
            raise ValueError("backend 'gat467' needs a serial port, for example /dev/ttyUSB0")
        return port


class CardReaderSettings(_Section):
    backend: Literal["pcsc", "sim", "none"] = "sim"
    reader_pattern: str = ""               # first PC/SC reader whose name contains this text


class CameraSettings(_Section):
    backend: Literal["opencv", "sim", "none"] = "sim"
    source: Union[int, str] = 0            # device index, video file or stream URL
    width: Annotated[int, Field(ge=320, le=3840)] = 640
    height: Annotated[int, Field(ge=240, le=2160)] = 480


class ReceiptPrinterSettings(_Section):
    backend: Literal["escpos", "sim", "none"] = "sim"
    transport: str = "tcp://127.0.0.1:9100"   # tcp://host:9100, serial:///dev/ttyS0?baud=115200, file:///dev/usb/lp0
    width_mm: Literal[58, 80] = 80
    profile: str = "generic-gb18030"
    status_timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.0

    @field_validator("transport")
    @classmethod
    def _transport_scheme(cls, transport):
        if transport.split("://", 1)[0] not in ("tcp", "serial", "file", "usb") or "://" not in transport:
            raise ValueError("transport must start with tcp://, serial://, file:// or usb://")
        return transport


class A4PrinterSettings(_Section):
    backend: Literal["cups", "file", "none"] = "file"
    queue: str = "KioskPDF"
    out_dir: Optional[Path] = None          # for backend 'file'


class DeviceSettings(_Section):
    idcard: IdCardReaderSettings = IdCardReaderSettings()
    cardreader: CardReaderSettings = CardReaderSettings()
    camera: CameraSettings = CameraSettings()
    receipt_printer: ReceiptPrinterSettings = ReceiptPrinterSettings()
    a4_printer: A4PrinterSettings = A4PrinterSettings()


class SessionSettings(_Section):
    idle_timeout_s: Annotated[int, Field(ge=20, le=1800)] = 90
    warning_s: Annotated[int, Field(ge=20, le=300)] = 30
    max_extensions: Annotated[int, Field(ge=10, le=100)] = 10

    @field_validator("warning_s")
    @classmethod
    def _warning_fits(cls, warning_s, info: ValidationInfo):
        idle = info.data.get("idle_timeout_s")
        if idle is not None and warning_s >= idle:
            raise ValueError(f"must be shorter than idle_timeout_s ({idle})")
        return warning_s


class OfflineSettings(_Section):
    """Store-and-forward floor limits (the terminal carries the risk until the center confirms)."""
    per_transaction_limit_fen: Annotated[int, Field(ge=0)] = 5_000_000        # ¥50,000.00
    total_queued_limit_fen: Annotated[int, Field(ge=0)] = 20_000_000          # ¥200,000.00
    max_queued_count: Annotated[int, Field(ge=0, le=100_000)] = 200
    max_age_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72


class SyncSettings(_Section):
    """The sync worker: batching, retry backoff, heartbeat and catalog refresh (owned by sync/)."""
    batch_size: Annotated[int, Field(ge=1, le=500)] = 200
    idle_poll_s: Annotated[float, Field(gt=0, le=600)] = 5.0        # look at the outbox at least this often
    backoff_base_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    backoff_cap_s: Annotated[float, Field(gt=0, le=3600)] = 300.0   # full jitter: rand(0, min(cap, base*2^n))
    stagger_window_s: Annotated[int, Field(ge=0, le=3600)] = 60     # start offset = hash(terminal id) mod window
    heartbeat_interval_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    catalog_interval_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0


class UiSettings(_Section):
    language: Literal["zh_CN", "en"] = "zh_CN"
    care_mode: bool = False
    voice: Literal["espeak", "mute"] = "espeak"
    fullscreen: bool = True
    screen_width: Annotated[int, Field(ge=640, le=7680)] = 1280
    screen_height: Annotated[int, Field(ge=480, le=4320)] = 800


class PathSettings(_Section):
    data_dir: Path = Path("var/data")
    log_dir: Path = Path("var/log")


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: Annotated[int, Field(ge=10_000)] = 5_000_000
    backups: Annotated[int, Field(ge=1, le=100)] = 10


class SecuritySettings(_Section):
    technician_pin_hash: Optional[SecretStr] = None   # scrypt hash, set by `hpf-kiosk technician set-pin`
    max_pin_attempts: Annotated[int, Field(ge=3, le=10)] = 5
    lockout_s: Annotated[int, Field(ge=30, le=86_400)] = 900


class TellerSettings(_Section):
    """Bank-counter teller mode (role teller): above `supervisor_over_fen` per transaction (money items), or for
    an item in `sensitive_items`, a supervisor signs in for that one action; a teller idle for `idle_signout_s`
    is signed out."""
    supervisor_over_fen: Annotated[int, Field(ge=0)] = 5_000_000               # ¥50,000.00
    sensitive_items: list[str] = ["phone_change", "loan_prepayment", "transfer_in"]
    idle_signout_s: Annotated[int, Field(ge=30, le=3600)] = 300


class Settings(_Section):
    profile: str = "demo"
    terminal: TerminalSettings = TerminalSettings()
    center: CenterSettings = CenterSettings()
    devices: DeviceSettings = DeviceSettings()
    session: SessionSettings = SessionSettings()
    offline: OfflineSettings = OfflineSettings()
    sync: SyncSettings = SyncSettings()
    ui: UiSettings = UiSettings()
    paths: PathSettings = PathSettings()
    logging: LoggingSettings = LoggingSettings()
    security: SecuritySettings = SecuritySettings()
    teller: TellerSettings = TellerSettings()

    # Derived locations; all runtime files live under paths.data_dir / paths.log_dir.
    @property
    def journal_db(self) -> Path:
        return self.paths.data_dir / "journal.sqlite3"

    @property
    def audit_db(self) -> Path:
        return self.paths.data_dir / "audit.sqlite3"

    @property
    def key_file(self) -> Path:
        return self.paths.data_dir / "terminal.key"

    @property
    def log_file(self) -> Path:
        return self.paths.log_dir / "hpf-kiosk.jsonl"
