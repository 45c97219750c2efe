"""GA/T 467 (SAM_A) frame codec: requests, responses, an incremental parser and the SW3 code table.

    host→SAM : AA AA AA 96 69 | LEN_H LEN_L | CMD PARA [DATA]   | CHK
    SAM→host : AA AA AA 96 69 | LEN_H LEN_L | SW1 SW2 SW3 [DATA] | CHK
    LEN = bytes after the LEN field, CHK included (big-endian)
    CHK = XOR of LEN_H, LEN_L and every following byte except CHK (the preamble is excluded)

Pure bytes in, bytes out: no I/O here, so the reader, the simulator and the fuzz tests share one codec.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import reduce
from typing import Optional

from devices.base import Completion, CompletionCode, DeviceError

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2          # preamble + LEN
MIN_LEN = 3                             # CMD PARA CHK (the shortest legal body, a request)
MAX_LEN = 4096                          # the longest real frame (30 10 with fingerprint) has LEN 0x090A

BAUD_RATES = (115200, 57600, 38400, 19200, 9600)   # index = parameter of "set UART baud" (60 idx)


class Command(IntEnum):
    """CMD PARA packed as one 16-bit value, as the reference table lists them."""
    RESET_SAM = 0x10FF
    SAM_STATUS = 0x11FF
    SAM_ID = 0x12FF
    FIND_CARD = 0x2001
    SELECT_CARD = 0x2002
    READ_TEXT_PHOTO = 0x3001
    READ_APPENDED_ADDRESS = 0x3003
    READ_CARD_MANAGEMENT_NO = 0x3005
    READ_TEXT_PHOTO_FINGERPRINT = 0x3010

    @property
    def cmd(self) -> int:
        return self.value >> 8

    @property
    def para(self) -> int:
        return self.value & 0xFF


class FrameError(Exception):
    """The codec's only exception: a frame on the wire that cannot be what it claims to be."""


class ChecksumError(FrameError):
    pass


class LengthError(FrameError):
    pass


def checksum(len_and_body: bytes) -> int:
    """XOR of LEN_H, LEN_L and the body (everything after the preamble, before CHK)."""
    return reduce(lambda a, b: a ^ b, len_and_body, 0)


def build_frame(body: bytes) -> bytes:
    """Frame a body (CMD PARA DATA for requests, SW1 SW2 SW3 DATA for responses)."""
    length = len(body) + 1
    if not MIN_LEN <= length <= MAX_LEN:
        raise LengthError(f"body of {len(body)} bytes cannot be framed")
    len_and_body = length.to_bytes(2, "big") + bytes(body)
    return PREAMBLE + len_and_body + bytes([checksum(len_and_body)])


def request(command: Command, data: bytes = b"") -> bytes:
    return build_frame(bytes([command.cmd, command.para]) + data)


def set_baud_request(baud: int) -> bytes:
    """60 idx: the reader switches its UART to BAUD_RATES[idx] after answering."""
    return build_frame(bytes([0x60, BAUD_RATES.index(baud)]))


def set_max_rf_bytes_request(n: int) -> bytes:
    return build_frame(bytes([0x61, 0xFF, n & 0xFF]))


def response(sw3: int, data: bytes = b"") -> bytes:
    return build_frame(bytes([0x00, 0x00, sw3]) + data)


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @classmethod
    def from_body(cls, body: bytes) -> "Response":
        if len(body) < 3:
            raise LengthError(f"response body of {len(body)} bytes has no SW1 SW2 SW3")
        return cls(body[0], body[1], body[2], bytes(body[3:]))


class FrameParser:
    """Incremental parser over a byte stream. feed() bytes as they arrive, then call next_frame() until None.

    Garbage before a preamble is skipped (counted in `discarded`); an impossible LEN or a bad CHK makes the
    parser step past that preamble and look again, so one corrupt frame never hides the next good one.
    next_frame() returns a frame body (bytes between LEN and CHK), None when more bytes are needed, or raises
    ChecksumError/LengthError once per bad frame. Every call either consumes bytes or returns None, so a
    caller's loop always ends."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def reset(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes buffered (a frame in progress, or a partial preamble)."""
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True when a preamble has been seen and the frame it starts is not complete yet."""
        return self._buf.startswith(PREAMBLE)

    def expected_total(self) -> Optional[int]:
        """Total bytes of the frame in progress once its LEN is known, else None."""
        if len(self._buf) >= HEADER_LEN and self._buf.startswith(PREAMBLE):
            return HEADER_LEN + int.from_bytes(self._buf[5:7], "big")
        return None

    def _skip(self, n: int) -> None:
        del self._buf[:n]
        self.discarded += n

    def next_frame(self) -> Optional[bytes]:
        start = self._buf.find(PREAMBLE)
        if start < 0:
            # keep a tail that could be the start of a preamble split across reads
            keep = 0
            for k in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
                if self._buf.endswith(PREAMBLE[:k]):
                    keep = k
                    break
            self._skip(len(self._buf) - keep)
            return None
        if start:
            self._skip(start)
        if len(self._buf) < HEADER_LEN:
            return None
        length = int.from_bytes(self._buf[5:7], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            self._skip(len(PREAMBLE))
            raise LengthError(f"impossible frame length {length}")
        total = HEADER_LEN + length
        if len(self._buf) < total:
            return None
        frame = bytes(self._buf[:total])
        if checksum(frame[5:-1]) != frame[-1]:
            self._skip(len(PREAMBLE))
            raise ChecksumError(f"checksum {frame[-1]:02X} != {checksum(frame[5:-1]):02X} "
                                f"in a {total}-byte frame")
        del self._buf[:total]
        return frame[HEADER_LEN:-1]


def parse_frame(frame: bytes) -> bytes:
    """Parse exactly one complete frame and return its body; raise FrameError otherwise."""
    parser = FrameParser()
    parser.feed(frame)
    body = parser.next_frame()
    if body is None or parser.pending or parser.discarded:
        raise LengthError(f"not exactly one frame ({len(frame)} bytes)")
    return body


# ---------------------------------------------------------------------------------------------------------
# SW3 result codes: the same table in the Synjones, Routon/Sdtapi and Android JNI readers.

@dataclass(frozen=True)
class Sw3Meaning:
    code: CompletionCode
    description: str           # English, for the log
    message_zh: str            # plain Chinese, for the screen


_PLACE_AGAIN = "读卡失败，请将身份证平放在感应区，不要移动"
_STAFF = "身份证阅读器故障，请联系工作人员"

SW3_CODES: dict[int, Sw3Meaning] = {
    0x90: Sw3Meaning(CompletionCode.SUCCESS, "OK", "操作成功"),
    0x91: Sw3Meaning(CompletionCode.INVALID_DATA, "no such item on the card", "卡内无此项信息"),
    0x9F: Sw3Meaning(CompletionCode.SUCCESS, "card found", "已找到身份证"),
    0x10: Sw3Meaning(CompletionCode.INVALID_DATA, "reader reports a checksum error in the request",
                     "通信校验错误，请重试"),
    0x11: Sw3Meaning(CompletionCode.INVALID_DATA, "reader reports a length error in the request",
                     "通信数据长度错误，请重试"),
    0x21: Sw3Meaning(CompletionCode.UNSUPPORTED, "command or parameter not recognised", "阅读器不支持此操作"),
    0x23: Sw3Meaning(CompletionCode.SEQUENCE_ERROR, "operation not authorised in this state",
                     "操作顺序有误，请重新放置身份证"),
    0x24: Sw3Meaning(CompletionCode.HARDWARE_ERROR, "unrecognised error", _STAFF),
    0x31: Sw3Meaning(CompletionCode.USER_ERROR, "card failed to authenticate the SAM", _PLACE_AGAIN),
    0x32: Sw3Meaning(CompletionCode.USER_ERROR, "SAM failed to authenticate the card",
                     "身份证验证未通过，请使用本人有效身份证件"),
    0x33: Sw3Meaning(CompletionCode.USER_ERROR, "information verification failed",
                     "身份证信息验证未通过，请使用本人有效身份证件"),
    0x37: Sw3Meaning(CompletionCode.USER_ERROR, "fingerprint verification failed", "指纹验证未通过，请重试"),
    0x3F: Sw3Meaning(CompletionCode.INVALID_DATA, "information length error", "身份证信息长度错误，请重试"),
    0x40: Sw3Meaning(CompletionCode.USER_ERROR, "unknown card type",
                     "无法识别此卡片，请放置第二代居民身份证或居住证、永久居留身份证"),
    0x41: Sw3Meaning(CompletionCode.USER_ERROR, "card read failed", _PLACE_AGAIN),
    0x47: Sw3Meaning(CompletionCode.USER_ERROR, "get-random failed", _PLACE_AGAIN),
    0x60: Sw3Meaning(CompletionCode.HARDWARE_ERROR, "SAM self-test failed", _STAFF),
    0x66: Sw3Meaning(CompletionCode.HARDWARE_ERROR, "SAM not authorised", "身份证阅读器安全模块未授权，请联系工作人员"),
    0x80: Sw3Meaning(CompletionCode.USER_ERROR, "no card found", "未检测到身份证，请将身份证放在感应区"),
    0x81: Sw3Meaning(CompletionCode.USER_ERROR, "card select failed", _PLACE_AGAIN),
}

SW3_OK = 0x90
SW3_FOUND = 0x9F
SW3_NO_ITEM = 0x91
SW3_NO_CARD = 0x80
SAM_FAILURE_CODES = frozenset({0x60, 0x66})


def sw3_meaning(sw3: int) -> Sw3Meaning:
    return SW3_CODES.get(sw3) or Sw3Meaning(CompletionCode.HARDWARE_ERROR,
                                            f"undocumented result code {sw3:02X}", _STAFF)


def sw3_completion(sw3: int, command: Optional[Command] = None) -> Completion:
    m = sw3_meaning(sw3)
    what = f"{command.name.lower()}: " if command is not None else ""
    return Completion(m.code, None, f"SW3_{sw3:02X}", f"{what}{m.description} (SW3={sw3:02X})", m.message_zh)


def sw3_error(sw3: int, command: Optional[Command] = None) -> DeviceError:
    c = sw3_completion(sw3, command)
    return DeviceError(c.code, c.error_code, c.description, c.message_zh)


# Host-side results (the vendor SDKs number them 01, 02, 03, ...): the link, not the card.
def host_error(kind: str, description: str) -> DeviceError:
    code, message = _HOST_ERRORS[kind]
    return DeviceError(code, kind, description, message)


_HOST_ERRORS = {
    "PORT_MISSING": (CompletionCode.DEVICE_NOT_READY, "未连接身份证阅读器，请联系工作人员"),
    "PORT_OPEN_FAILED": (CompletionCode.DEVICE_NOT_READY, "身份证阅读器无法打开，请联系工作人员"),
    "PORT_IO": (CompletionCode.DEVICE_NOT_READY, "身份证阅读器连接中断，请联系工作人员"),
    "RX_TIMEOUT": (CompletionCode.DEVICE_NOT_READY, "身份证阅读器无响应，请联系工作人员"),
    "RX_TRUNCATED": (CompletionCode.INVALID_DATA, "读卡数据不完整，请重新放置身份证"),
    "RX_CHECKSUM": (CompletionCode.INVALID_DATA, "读卡数据校验错误，请重新放置身份证"),
    "RX_MALFORMED": (CompletionCode.INVALID_DATA, "读卡数据格式错误，请重新放置身份证"),
    "NO_SERIAL": (CompletionCode.DEVICE_NOT_READY, "身份证阅读器驱动缺失，请联系工作人员"),
}


def wire_seconds(n_bytes: int, baud: int) -> float:
    """Time n bytes take on a UART line at 8N1 (10 bits a byte)."""
    return n_bytes * 10 / baud
