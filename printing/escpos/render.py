"""ESC/POS bytes for 58 mm (32 columns) and 80 mm (48 columns) receipt printers.

Chinese text is sent explicitly: `ESC @`, then `FS &` (Chinese mode on) before the first line that needs it,
the text encoded in the profile's encoding (GB18030 by default), and `FS .` (off) at the end, so the printer
is left in a known state. We never let a library guess the encoding (python-escpos #491/#678).

Columns: a character whose East Asian width is W or F takes 2 columns; an ambiguous one (A, e.g. '×', '—')
takes 2 when it is sent as a double-byte character in Chinese mode (the printer then uses its 24x24 CJK
glyph), else 1; combining marks take 0. Wrapping and alignment work on whole characters, so a double-byte
character is never split across lines."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Optional

from printing.escpos.profiles import PrinterProfile, get_profile

ESC, GS, FS, DLE, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\n"
INIT = ESC + b"@"
KANJI_ON = FS + b"&"
KANJI_OFF = FS + b"."
ALIGN = {"left": 0, "center": 1, "right": 2}
ECC_LEVELS = {"L": 0x30, "M": 0x31, "Q": 0x32, "H": 0x33}
# QR byte-mode capacity at ECC M for versions 1..40 (ISO/IEC 18004 table 7), to pick a module size that fits.
_QR_CAPACITY_M = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
                  711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911, 1989,
                  2099, 2213, 2331)
MAX_QR_BYTES = _QR_CAPACITY_M[-1]


class RenderError(ValueError):
    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh


@lru_cache(maxsize=4096)
def char_width(ch: str, encoding: str = "gb18030") -> int:
    if ord(ch) < 0x80:
        return 1
    if unicodedata.combining(ch):
        return 0
    eaw = unicodedata.east_asian_width(ch)
    if eaw in ("W", "F"):
        return 2
    if eaw == "A":
        try:
            return 2 if len(ch.encode(encoding)) >= 2 else 1
        except UnicodeEncodeError:
            return 1
    return 1


def display_width(text: str, encoding: str = "gb18030") -> int:
    return sum(char_width(ch, encoding) for ch in text)


def clean(text: str) -> str:
    """Control characters in data would become printer commands: replace them with spaces."""
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in str(text))


# Chinese line breaking (避头): these never start a line; the character before them moves down with them.
NO_LINE_START = frozenset("，。、；：？！）】》」』”’…—,.;:?!)]}%")


def wrap(text: str, columns: int, encoding: str = "gb18030") -> list[str]:
    """Greedy wrap by display width, whole characters only; a Latin word is broken at its last space and a
    closing punctuation mark never starts a line."""
    chars: list[str] = []
    lines: list[str] = []
    width = 0
    for ch in clean(text):
        w = char_width(ch, encoding)
        if width + w > columns and chars:
            brk = -1
            if ch != " " and ch.isascii() and chars[-1].isascii() and chars[-1] != " ":
                start = len(chars)          # a Latin word or number moves down whole when it fits there
                while start > 0 and chars[start - 1].isascii() and chars[start - 1] != " ":
                    start -= 1
                if start > 0 and len(chars) - start + 1 <= columns:
                    brk = start
            if brk > 0:
                lines.append("".join(chars[:brk]).rstrip())
                chars = chars[brk:]
            elif ch in NO_LINE_START and len(chars) > 1 and chars[-1] not in NO_LINE_START and chars[-1] != " ":
                lines.append("".join(chars[:-1]).rstrip())
                chars = chars[-1:]
            else:
                lines.append("".join(chars).rstrip())
                chars = []
            width = sum(char_width(c, encoding) for c in chars)
            if ch == " " and not chars:
                continue
        chars.append(ch)
        width += w
    lines.append("".join(chars))
    return lines


def pad_between(left: str, right: str, columns: int, encoding: str = "gb18030") -> Optional[str]:
    """'label      value' exactly `columns` wide, or None if both do not fit on one line."""
    gap = columns - display_width(left, encoding) - display_width(right, encoding)
    return None if gap < 1 else left + " " * gap + right


class EscposBuilder:
    """Accumulates one job's bytes. Text is always sent in whole lines ending in LF."""

    def __init__(self, profile: PrinterProfile, width_mm: int):
        self.profile = profile
        self.width_mm = width_mm
        self.columns = profile.columns(width_mm)
        self._buf = bytearray(INIT)
        self._kanji = False
        self._align = 0
        self._bold = False
        self._double = False

    # -- state commands, sent only on change
    def _set_align(self, align: str) -> None:
        n = ALIGN[align]
        if n != self._align:
            self._buf += ESC + b"a" + bytes([n])
            self._align = n

    def _set_bold(self, on: bool) -> None:
        if on != self._bold:
            self._buf += ESC + b"E" + bytes([1 if on else 0])
            self._bold = on

    def _set_double(self, on: bool) -> None:
        if on != self._double:
            # GS ! sizes single-byte characters, FS ! the Chinese ones (bit2 double width, bit3 double height).
            self._buf += GS + b"!" + (b"\x11" if on else b"\x00") + FS + b"!" + (b"\x0c" if on else b"\x00")
            self._double = on

    def _encode(self, text: str) -> bytes:
        if not text.isascii() and not self._kanji:
            self._buf += KANJI_ON
            self._kanji = True
        return text.encode(self.profile.encoding, errors="replace")

    # -- content
    def text(self, text: str, *, align: str = "left", bold: bool = False, double: bool = False) -> "EscposBuilder":
        columns = self.columns // 2 if double else self.columns
        self._set_align(align)
        self._set_bold(bold)
        self._set_double(double)
        for line in wrap(text, columns, self.profile.encoding):
            data = self._encode(line)
            self._buf += data + LF
        return self

    def title(self, text: str) -> "EscposBuilder":
        """Centered, double size when it fits on one line (58 mm has room for 16 CJK at normal size only)."""
        fits = display_width(clean(text), self.profile.encoding) * 2 <= self.columns
        return self.text(text, align="center", bold=not fits, double=fits)

    def label_value(self, label: str, value: str, *, bold: bool = False) -> "EscposBuilder":
        """'金额：        ¥1,234.56' on one line, or the label then the value right-aligned below it."""
        label, value = clean(label), clean(value)
        one = pad_between(label, value, self.columns, self.profile.encoding)
        if one is not None:
            return self.text(one, bold=bold)
        self.text(label, bold=bold)
        for line in wrap(value, self.columns - 2, self.profile.encoding):
            self.text(pad_between("", line, self.columns, self.profile.encoding) or line, bold=bold)
        return self

    def rule(self, ch: str = "-") -> "EscposBuilder":
        return self.text(ch * (self.columns // char_width(ch, self.profile.encoding)))

    def feed(self, lines: int = 1) -> "EscposBuilder":
        self._buf += ESC + b"d" + bytes([max(0, min(lines, 255))])
        return self

    def qr(self, payload: str, *, ecc: str = "M") -> "EscposBuilder":
        data = payload.encode("utf-8")
        if not data:
            return self
        if len(data) > MAX_QR_BYTES:
            raise RenderError("QR_TOO_LONG", "二维码内容过长", f"QR payload of {len(data)} bytes exceeds {MAX_QR_BYTES}")
        self._set_align("center")
        self._set_double(False)
        size = qr_module_size(len(data), self.profile.dots(self.width_mm), self.profile.qr_module_size)
        if self.profile.native_qr:
            self._buf += native_qr(data, size, ecc)
        else:
            self._buf += raster_qr(payload, size, ecc)
        return self

    def cut(self, feed_lines: int = 4) -> "EscposBuilder":
        if self.profile.cutter:
            self._buf += GS + b"V" + (b"B" if self.profile.partial_cut else b"A") + bytes([feed_lines])
        else:
            self.feed(feed_lines)
        return self

    def end(self) -> bytes:
        self._set_align("left")
        self._set_bold(False)
        self._set_double(False)
        if self._kanji:
            self._buf += KANJI_OFF
            self._kanji = False
        return bytes(self._buf)


def qr_version_for(n_bytes: int) -> int:
    for version, capacity in enumerate(_QR_CAPACITY_M, start=1):
        if n_bytes <= capacity:
            return version
    return 40


def qr_module_size(n_bytes: int, dots: int, preferred: int) -> int:
    """Largest module size <= preferred at which the symbol (with its 4-module quiet zone) fits the paper."""
    modules = 17 + 4 * qr_version_for(n_bytes) + 8
    return max(1, min(preferred, dots // modules, 16))


def native_qr(data: bytes, size: int, ecc: str = "M") -> bytes:
    """GS ( k, cn=0x31: model 2, module size, ECC, store, print (python-escpos `qr(native=True)` bytes)."""
    n = len(data) + 3
    return b"".join((
        GS + b"(k\x04\x00\x31\x41\x32\x00",
        GS + b"(k\x03\x00\x31\x43" + bytes([size]),
        GS + b"(k\x03\x00\x31\x45" + bytes([ECC_LEVELS[ecc]]),
        GS + b"(k" + bytes([n & 0xFF, n >> 8]) + b"\x31\x50\x30" + data,
        GS + b"(k\x03\x00\x31\x51\x30",
    ))


def qr_matrix(payload: str, ecc: str = "M") -> list[list[bool]]:
    """The QR symbol with a 4-module quiet zone (printing.escpos.qr: qrcode's encoder, numpy mask scoring)."""
    from printing.escpos.qr import qr_matrix as build
    n_bytes = len(payload.encode("utf-8"))
    try:
        return build(payload, ecc)
    except Exception as exc:   # the encoder has failed on odd payloads (qrcode 8.2: glog(0) for '0' * 600)
        raise RenderError("QR_ENCODE", "二维码生成失败", f"QR encoder failed on a {n_bytes}-byte payload: {exc!r}") from exc


def raster_qr(payload: str, size: int, ecc: str = "M") -> bytes:
    """The QR as a GS v 0 raster image, for printers without GS ( k."""
    return raster_image(qr_matrix(payload, ecc), size) + LF


def raster_image(matrix: list[list[bool]], scale: int) -> bytes:
    """GS v 0 m=0: each module becomes scale x scale dots; rows packed MSB first."""
    width_dots = len(matrix[0]) * scale
    row_bytes = (width_dots + 7) // 8
    out = bytearray(GS + b"v0\x00" + bytes([row_bytes & 0xFF, row_bytes >> 8]))
    height = len(matrix) * scale
    out += bytes([height & 0xFF, height >> 8])
    on, off = "1" * scale, "0" * scale
    for row in matrix:
        bits = "".join(on if dark else off for dark in row).ljust(row_bytes * 8, "0")
        out += int(bits, 2).to_bytes(row_bytes, "big") * scale
    return bytes(out)


# --------------------------------------------------------------------------- documents

def render_receipt(receipt, width_mm: int = 80, profile: "PrinterProfile | str" = "generic-gb18030") -> bytes:
    """A Receipt as the bytes of one print job, ending in a cut."""
    from kiosk.domain.money import format_yuan
    from printing.documents import COPY_MARK, format_local

    prof = get_profile(profile) if isinstance(profile, str) else profile
    b = EscposBuilder(prof, width_mm)
    b.text(receipt.center_name, align="center", bold=True)
    b.title(receipt.title)
    if receipt.copy:
        b.text(f"** {COPY_MARK} **", align="center", bold=True)
    b.rule()
    b.label_value("终端编号：", receipt.terminal_id)
    b.label_value("办理时间：", format_local(receipt.issued_at))
    b.label_value("业务流水号：", receipt.serial_no)
    b.label_value("受理编号：", receipt.client_id)
    b.label_value("办理事项：", receipt.item)
    if receipt.masked_name:
        b.label_value("姓名：", receipt.masked_name)
    if receipt.masked_id:
        b.label_value("证件号码：", receipt.masked_id)
    if receipt.masked_phone:
        b.label_value("手机号码：", receipt.masked_phone)
    for label, value in receipt.fields:
        b.label_value(f"{label}：", value)
    if receipt.amounts:
        b.rule()
        for amount in receipt.amounts:
            b.label_value(f"{amount.label}：", format_yuan(amount.fen), bold=True)
    b.rule()
    if receipt.status_line:
        b.text(receipt.status_line, align="center", bold=True)
    if receipt.qr_payload:
        b.qr(receipt.qr_payload)
        b.text("扫码查询办理进度", align="center")
    for note in receipt.notes:
        b.text(note)
    if receipt.copy:
        b.text(COPY_MARK, align="center")
    b.cut()
    return b.end()


def render_end_of_day(report, width_mm: int = 80, profile: "PrinterProfile | str" = "generic-gb18030") -> bytes:
    """The teller's end-of-day report on the receipt printer (the A4 version is in printing.pdf)."""
    from kiosk.domain.money import format_yuan
    from printing.documents import COPY_MARK, format_local

    prof = get_profile(profile) if isinstance(profile, str) else profile
    b = EscposBuilder(prof, width_mm)
    b.text(report.center_name, align="center", bold=True)
    b.title("柜面日终报表")
    if report.copy:
        b.text(f"** {COPY_MARK} **", align="center", bold=True)
    b.rule()
    b.label_value("网点：", report.branch or "-")
    b.label_value("终端编号：", report.terminal_id)
    b.label_value("柜员号：", report.teller_id)
    b.label_value("业务日期：", report.business_date.isoformat())
    b.label_value("打印时间：", format_local(report.issued_at))
    for line in report.lines:
        b.rule()
        b.text(f"{line.item}（共{line.count}笔）", bold=True)
        b.label_value(f"  已受理 {line.accepted_count} 笔", format_yuan(line.accepted_fen))
        b.label_value(f"  待确认 {line.queued_count} 笔", format_yuan(line.queued_fen))
        b.label_value(f"  已退回 {line.refused_count} 笔", format_yuan(line.refused_fen))
    b.rule("=")
    b.label_value(f"已受理合计 {report.total('accepted_count')} 笔", format_yuan(report.total("accepted_fen")), bold=True)
    b.label_value(f"待确认合计 {report.total('queued_count')} 笔", format_yuan(report.total("queued_fen")), bold=True)
    b.label_value(f"已退回合计 {report.total('refused_count')} 笔", format_yuan(report.total("refused_fen")), bold=True)
    b.feed(2)
    b.text("柜员签章：")
    b.feed(1)
    b.cut()
    return b.end()


def render_document(document, width_mm: int, profile) -> bytes:
    """Receipt-printer bytes for any document the receipt printer can print."""
    from printing.documents import EndOfDayReport, Receipt
    if isinstance(document, Receipt):
        return render_receipt(document, width_mm, profile)
    if isinstance(document, EndOfDayReport):
        return render_end_of_day(document, width_mm, profile)
    raise RenderError("DOC_NOT_FOR_RECEIPT", "该单据不能在小票打印机上打印",
                      f"{type(document).__name__} is not printable on a receipt printer")
