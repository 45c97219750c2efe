"""APDU exchange over any transport: T=0 quirks, status words and the errors a customer can meet.

A transport is anything with `transmit(apdu: bytes) -> bytes` returning the whole R-APDU (data + SW1 SW2):
the pyscard connection in reader.py, the in-process card in sim.py, or a test double.
Transports raise DeviceError themselves for link problems (card pulled, pcscd gone, mute card).
Nothing personal is logged here: only the command header, lengths and status words.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional, Protocol

from devices.base import CancelToken, CompletionCode, DeviceError

log = logging.getLogger(__name__)

MAX_CHAINED_RESPONSES = 32   # a card answering 61xx forever must not keep us busy forever


class Transport(Protocol):
    def transmit(self, apdu: bytes) -> bytes: ...


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000 or self.sw >> 8 == 0x62   # 62xx: warning, data still valid

    @property
    def sw_hex(self) -> str:
        return f"{self.sw:04X}"


# Plain Chinese for what a customer can do about each status word.
MSG_NOT_SUPPORTED = "此卡不支持该功能，请更换银行卡"
MSG_CARD_BLOCKED = "卡片已锁定，请联系发卡机构"
MSG_CONDITIONS = "卡片暂时无法读取，请取出后重新插卡"
MSG_CARD_FAULT = "卡片无法读取，请确认插卡方向或更换卡片"
MSG_BAD_DATA = "卡片数据无法识别，请更换卡片或联系工作人员"
MSG_PIN_NEEDED = "读取该信息需要卡片密码，本机不支持"


def sw_error(sw: int, what: str) -> DeviceError:
    """The DeviceError for an unexpected status word during `what` (an English step name)."""
    code = f"SW{sw:04X}"
    hi = sw >> 8
    desc = f"{what}: card answered SW {sw:04X}"
    if sw in (0x6A82, 0x6A81, 0x6D00, 0x6E00, 0x6A86, 0x6B00):
        return DeviceError(CompletionCode.UNSUPPORTED, code, desc, MSG_NOT_SUPPORTED)
    if sw in (0x6983, 0x6A84, 0x9303):
        return DeviceError(CompletionCode.USER_ERROR, code, desc, MSG_CARD_BLOCKED)
    if sw == 0x6982:
        return DeviceError(CompletionCode.UNSUPPORTED, code, desc, MSG_PIN_NEEDED)
    if sw in (0x6985, 0x6986):
        return DeviceError(CompletionCode.USER_ERROR, code, desc, MSG_CONDITIONS)
    if hi in (0x64, 0x65, 0x6F):
        return DeviceError(CompletionCode.HARDWARE_ERROR, code, desc, MSG_CARD_FAULT)
    return DeviceError(CompletionCode.INVALID_DATA, code, desc, MSG_BAD_DATA)


def bad_data(what: str) -> DeviceError:
    return DeviceError(CompletionCode.INVALID_DATA, "CARD_DATA", what, MSG_BAD_DATA)


def command(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: Optional[int] = 0) -> bytes:
    """A short APDU (case 1-4). le=None omits Le; le=0 asks for up to 256 bytes."""
    if len(data) > 255:
        raise ValueError("command data longer than 255 bytes")
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + bytes(data)
    if le is not None:
        apdu += bytes([le & 0xFF])
    return apdu


def with_le(apdu: bytes, le: int) -> bytes:
    """The same short APDU with Le set to `le` (added for case 1/3, replaced for case 2/4)."""
    if len(apdu) == 4:                                  # case 1
        return apdu + bytes([le])
    if len(apdu) == 5:                                  # case 2: the fifth byte is Le
        return apdu[:4] + bytes([le])
    lc = apdu[4]
    return apdu[:5 + lc] + bytes([le])                  # case 3 (append) or case 4 (replace)


class ApduChannel:
    """Sends commands and hides the T=0 dialogue: 61xx -> GET RESPONSE, 6Cxx -> resend with Le=xx."""

    def __init__(self, transport: Transport, token: Optional[CancelToken] = None):
        self.transport = transport
        self.token = token
        self.count = 0                     # APDUs actually sent, for tests and the bench

    def _raw(self, apdu: bytes) -> Response:
        if self.token is not None:
            self.token.check()
        rapdu = bytes(self.transport.transmit(apdu))
        self.count += 1
        if len(rapdu) < 2:
            raise DeviceError(CompletionCode.HARDWARE_ERROR, "NO_SW",
                              f"card answered {len(rapdu)} bytes to {apdu[:4].hex()} (no status word)",
                              MSG_CARD_FAULT)
        resp = Response(rapdu[:-2], (rapdu[-2] << 8) | rapdu[-1])
        log.debug("apdu %s lc=%d -> sw %s, %d bytes", apdu[:4].hex(), max(0, len(apdu) - 5),
                  resp.sw_hex, len(resp.data))
        return resp

    def send(self, apdu: bytes) -> Response:
        resp = self._raw(apdu)
        if resp.sw >> 8 == 0x6C:           # wrong Le: resend the same command with Le = SW2
            resp = self._raw(with_le(apdu, resp.sw & 0xFF))
        data = resp.data
        rounds = 0
        while resp.sw >> 8 == 0x61:        # more data waiting: GET RESPONSE
            rounds += 1
            if rounds > MAX_CHAINED_RESPONSES:
                raise DeviceError(CompletionCode.HARDWARE_ERROR, "GET_RESPONSE_LOOP",
                                  "card keeps answering 61xx", MSG_CARD_FAULT)
            resp = self._raw(command(apdu[0] & 0x03, 0xC0, 0x00, 0x00, le=resp.sw & 0xFF))
            if resp.sw >> 8 == 0x6C:
                resp = self._raw(command(apdu[0] & 0x03, 0xC0, 0x00, 0x00, le=resp.sw & 0xFF))
            data += resp.data
        return Response(data, resp.sw)

    def select_by_name(self, name: bytes) -> Response:
        return self.send(command(0x00, 0xA4, 0x04, 0x00, name, le=0))

    def select_file(self, fid: int) -> Response:
        return self.send(command(0x00, 0xA4, 0x02, 0x00, fid.to_bytes(2, "big"), le=None))

    def read_record(self, record: int, sfi: int = 0) -> Response:
        p2 = (sfi << 3) | 0x04
        return self.send(command(0x00, 0xB2, record, p2, le=0))
