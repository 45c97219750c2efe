"""ESC/POS bytes back into what a person would see: lines (with alignment, bold, size), QR payloads, raster
images, cuts, and real-time status requests. Used by golden tests and by the simulated printer.

The decoder is incremental (feed() any chunk; an incomplete command waits for the next chunk), so the
simulator can answer a `DLE EOT n` the moment it arrives, in the middle of a job. Text bytes are decoded as
the printer would: in Chinese mode (FS &) as GB18030 double/four-byte characters, otherwise single-byte
(bytes above 0x7F come out as U+FFFD and are counted in `garbled`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from printing.escpos.render import display_width


class DecodeError(ValueError):
    pass


@dataclass(frozen=True)
class PrintedLine:
    text: str
    align: str = "left"
    bold: bool = False
    double: bool = False

    @property
    def columns(self) -> int:
        """Columns used on paper (a double-width line takes twice its characters' width)."""
        return display_width(self.text) * (2 if self.double else 1)


@dataclass(frozen=True)
class QrCode:
    payload: str
    size: int
    ecc: str
    model: int


@dataclass(frozen=True)
class Raster:
    width_dots: int
    height_dots: int
    data: bytes

    def dot(self, x: int, y: int) -> bool:
        row_bytes = (self.width_dots + 7) // 8
        return bool(self.data[y * row_bytes + (x >> 3)] & (0x80 >> (x & 7)))


@dataclass(frozen=True)
class Cut:
    partial: bool
    feed: int = 0


@dataclass(frozen=True)
class StatusRequest:
    n: int          # DLE EOT n: 1 printer, 2 offline cause, 3 error cause, 4 paper


@dataclass(frozen=True)
class TransmitStatus:
    n: int          # GS r n: answered in turn, after the data before it (1 = paper sensor)


@dataclass(frozen=True)
class Init:
    pass


Event = Union[PrintedLine, QrCode, Raster, Cut, StatusRequest, TransmitStatus, Init]

# Commands with a fixed number of parameter bytes: prefix + command byte -> count.
_FIXED = {
    (0x1B, ord("@")): 0, (0x1B, ord("a")): 1, (0x1B, ord("E")): 1, (0x1B, ord("d")): 1, (0x1B, ord("R")): 1,
    (0x1B, ord("t")): 1, (0x1B, ord("!")): 1, (0x1B, ord("-")): 1, (0x1B, ord("2")): 0, (0x1B, ord("3")): 1,
    (0x1B, ord("M")): 1, (0x1B, ord("G")): 1, (0x1B, ord("J")): 1, (0x1B, ord("p")): 3, (0x1B, ord("c")): 2,
    (0x1D, ord("!")): 1, (0x1D, ord("a")): 1, (0x1D, ord("B")): 1, (0x1D, ord("H")): 1, (0x1D, ord("f")): 1,
    (0x1D, ord("h")): 1, (0x1D, ord("w")): 1, (0x1D, ord("L")): 2, (0x1D, ord("W")): 2, (0x1D, ord("r")): 1,
    (0x1C, ord("&")): 0, (0x1C, ord(".")): 0, (0x1C, ord("!")): 1, (0x1C, ord("C")): 1, (0x1C, ord("-")): 1,
    (0x1C, ord("W")): 1, (0x10, 0x04): 1, (0x10, 0x05): 1,
}
_ECC = {0x30: "L", 0x31: "M", 0x32: "Q", 0x33: "H"}


class EscposDecoder:
    """feed(chunk) -> events completed by that chunk. strict=True raises DecodeError on an unknown command."""

    def __init__(self, *, strict: bool = True, kanji: bool = False, encoding: str = "gb18030"):
        self.strict = strict
        self.encoding = encoding
        self._kanji_default = kanji
        self._buf = bytearray()
        self._line: list[str] = []
        self.garbled = 0
        self.unknown: list[bytes] = []
        self._reset()

    def _reset(self) -> None:
        self.kanji = self._kanji_default
        self.align = "left"
        self.bold = False
        self.double = False
        self._qr_store: Optional[bytes] = None
        self._qr_size = 3
        self._qr_ecc = "L"
        self._qr_model = 2

    def feed(self, data: bytes) -> list[Event]:
        self._buf += data
        events: list[Event] = []
        while self._buf:
            used = self._step(events)
            if used == 0:   # incomplete command or character: wait for more bytes
                break
            del self._buf[:used]
        return events

    def flush(self) -> list[Event]:
        """End of data: an unterminated text line still counts as printed."""
        events: list[Event] = []
        if self._line:
            events.append(self._emit_line())
        return events

    # ------------------------------------------------------------------ internals
    def _emit_line(self) -> PrintedLine:
        line = PrintedLine("".join(self._line), self.align, self.bold, self.double)
        self._line = []
        return line

    def _step(self, events: list[Event]) -> int:
        buf = self._buf
        b = buf[0]
        if b == 0x0A:
            events.append(self._emit_line())
            return 1
        if b == 0x0D:
            return 1
        if b == 0x09:
            self._line.append(" ")
            return 1
        if b in (0x1B, 0x1D, 0x1C, 0x10):
            return self._command(events)
        if b < 0x20:
            return self._unknown(1)
        if b < 0x80:
            self._line.append(chr(b))
            return 1
        if not self.kanji:
            self.garbled += 1
            self._line.append("\ufffd")
            return 1
        return self._gb_char()

    def _gb_char(self) -> int:
        buf = self._buf
        if len(buf) < 2:
            return 0
        n = 4 if 0x30 <= buf[1] <= 0x39 else 2
        if len(buf) < n:
            return 0
        try:
            self._line.append(bytes(buf[:n]).decode(self.encoding))
        except UnicodeDecodeError:
            self.garbled += 1
            self._line.append("\ufffd")
            return 1
        return n

    def _unknown(self, n: int) -> int:
        chunk = bytes(self._buf[:n])
        if self.strict:
            raise DecodeError(f"unknown ESC/POS command {chunk.hex(' ')}")
        self.unknown.append(chunk)
        return n

    def _command(self, events: list[Event]) -> int:
        buf = self._buf
        if len(buf) < 2:
            return 0
        prefix, cmd = buf[0], buf[1]
        if (prefix, cmd) == (0x1D, ord("(")):
            return self._gs_paren(events)
        if (prefix, cmd) == (0x1D, ord("v")):
            return self._raster(events)
        if (prefix, cmd) == (0x1D, ord("V")):
            if len(buf) < 3:
                return 0
            m = buf[2]
            if m in (65, 66):
                if len(buf) < 4:
                    return 0
                self._cut(events, Cut(partial=m == 66, feed=buf[3]))
                return 4
            self._cut(events, Cut(partial=m in (1, 49)))
            return 3
        count = _FIXED.get((prefix, cmd))
        if count is None:
            return self._unknown(2)
        if len(buf) < 2 + count:
            return 0
        args = bytes(buf[2:2 + count])
        self._apply(events, prefix, cmd, args)
        return 2 + count

    def _cut(self, events: list[Event], cut: Cut) -> None:
        if self._line:
            events.append(self._emit_line())
        events.append(cut)

    def _apply(self, events: list[Event], prefix: int, cmd: int, args: bytes) -> None:
        c = chr(cmd)
        if prefix == 0x1B:
            if c == "@":
                self._reset()
                events.append(Init())
            elif c == "a":
                self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}.get(args[0], "left")
            elif c == "E":
                self.bold = bool(args[0] & 1)
            elif c == "d":
                if self._line:
                    events.append(self._emit_line())
                for _ in range(args[0]):
                    events.append(PrintedLine("", self.align, self.bold, self.double))
        elif prefix == 0x1D and c == "!":
            self.double = bool(args[0] & 0x10)
        elif prefix == 0x1D and c == "r":
            if self._line:
                events.append(self._emit_line())
            events.append(TransmitStatus(args[0]))
        elif prefix == 0x1C:
            if c == "&":
                self.kanji = True
            elif c == ".":
                self.kanji = False
            elif c == "!":
                self.double = bool(args[0] & 0x04)
        elif prefix == 0x10 and cmd == 0x04:
            events.append(StatusRequest(args[0]))

    def _gs_paren(self, events: list[Event]) -> int:
        buf = self._buf
        if len(buf) < 5:
            return 0
        fn_class = buf[2]
        length = buf[3] + 256 * buf[4]
        if len(buf) < 5 + length:
            return 0
        body = bytes(buf[5:5 + length])
        if fn_class == ord("k") and len(body) >= 2 and body[0] == 0x31:
            fn = body[1]
            if fn == 0x41 and len(body) >= 3:
                self._qr_model = 1 if body[2] == 0x31 else 2
            elif fn == 0x43 and len(body) >= 3:
                self._qr_size = body[2]
            elif fn == 0x45 and len(body) >= 3:
                self._qr_ecc = _ECC.get(body[2], "?")
            elif fn == 0x50:
                self._qr_store = body[3:]
            elif fn == 0x51:
                if self._line:
                    events.append(self._emit_line())
                if self._qr_store is None:
                    if self.strict:
                        raise DecodeError("QR print without stored data")
                else:
                    events.append(QrCode(self._qr_store.decode("utf-8", "replace"), self._qr_size, self._qr_ecc,
                                         self._qr_model))
        elif self.strict:
            raise DecodeError(f"unsupported GS ( {chr(fn_class)!r} function")
        return 5 + length

    def _raster(self, events: list[Event]) -> int:
        buf = self._buf
        if len(buf) < 8:
            return 0
        x_bytes = buf[4] + 256 * buf[5]
        y_dots = buf[6] + 256 * buf[7]
        size = x_bytes * y_dots
        if len(buf) < 8 + size:
            return 0
        if self._line:
            events.append(self._emit_line())
        events.append(Raster(x_bytes * 8, y_dots, bytes(buf[8:8 + size])))
        return 8 + size


@dataclass
class DecodedJob:
    """Everything of one job, for assertions: lines, texts, QR payloads, rasters, cuts."""
    events: list = field(default_factory=list)
    garbled: int = 0

    @property
    def lines(self) -> list[PrintedLine]:
        return [e for e in self.events if isinstance(e, PrintedLine)]

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def qr_payloads(self) -> list[str]:
        return [e.payload for e in self.events if isinstance(e, QrCode)]

    @property
    def qr_codes(self) -> list[QrCode]:
        return [e for e in self.events if isinstance(e, QrCode)]

    @property
    def rasters(self) -> list[Raster]:
        return [e for e in self.events if isinstance(e, Raster)]

    @property
    def cuts(self) -> list[Cut]:
        return [e for e in self.events if isinstance(e, Cut)]

    def widest(self) -> int:
        return max((line.columns for line in self.lines), default=0)


def decode(data: bytes, *, strict: bool = True, encoding: str = "gb18030") -> DecodedJob:
    decoder = EscposDecoder(strict=strict, encoding=encoding)
    events = decoder.feed(data)
    events += decoder.flush()
    if decoder._buf:
        if strict:
            raise DecodeError(f"truncated command at end of data: {bytes(decoder._buf[:8]).hex(' ')}")
    return DecodedJob(events, decoder.garbled)
