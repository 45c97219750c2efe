"""Real-time status (DLE EOT n, n = 1..4) and what it means for the customer and the technician.

A status read is a question with a deadline: if a reply does not come (a printer that never answers, a
write-only transport, a hung firmware) the answer is "unknown" and the caller prints anyway (Odoo #223525);
it never waits longer than its timeout (python-escpos #143, Odoo PR #67514)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Optional

from devices.base import CompletionCode, DeviceStatus, PaperState
from printing.escpos.transport import Transport, TransportError

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"     # transmit paper sensor status: an ordinary command, answered in turn


def wait_printed(transport: Transport, timeout: float) -> Optional[int]:
    """The print-completion fence: DLE EOT is answered the moment it arrives, even while the job is still in the
    printer's buffer, so a paper-out halfway through would go unseen. GS r 1 is processed in order, after the
    job's data, so its reply means the printer has worked through the job. A printer stopped by paper end
    (or not supporting GS r) does not answer: None after `timeout`."""
    if not transport.bidirectional:
        return None
    deadline = time.monotonic() + timeout
    try:
        transport.write(GS_R_PAPER, max(0.05, timeout))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = transport.read(1, remaining)
            if not data:
                return None
            if data[0] & 0x90 == 0:      # GS r reply 0xx0xxxx (a DLE EOT reply has bit 4 set)
                return data[0]
    except TransportError as exc:
        log.warning("receipt printer: print-completion read failed (%s): %s", exc.code, exc)
        return None


def valid_reply(b: int) -> bool:
    """A DLE EOT reply matches 0xx1xx10 (python-escpos: (b & 0x81) == 0 and (b & 0x12) == 0x12)."""
    return (b & 0x93) == 0x12


@dataclass(frozen=True)
class StatusProblem:
    """Why the printer cannot print now."""
    completion: CompletionCode
    error_code: str
    message_zh: str
    description: str
    device: DeviceStatus
    paper: PaperState = PaperState.UNKNOWN


@dataclass(frozen=True)
class PrinterStatus:
    printer: int = 0x12       # n=1
    offline_cause: int = 0x12  # n=2
    error_cause: int = 0x12   # n=3
    paper_sensor: int = 0x12  # n=4

    @property
    def offline(self) -> bool:
        return bool(self.printer & 0x08)

    @property
    def cover_open(self) -> bool:
        return bool(self.offline_cause & 0x04)

    @property
    def paper_out(self) -> bool:
        return bool(self.paper_sensor & 0x60 == 0x60) or bool(self.offline_cause & 0x20)

    @property
    def paper_near_end(self) -> bool:
        return bool(self.paper_sensor & 0x0C == 0x0C)

    @property
    def cutter_error(self) -> bool:
        return bool(self.error_cause & 0x08)

    @property
    def unrecoverable_error(self) -> bool:
        return bool(self.error_cause & 0x20)

    @property
    def auto_recoverable_error(self) -> bool:
        return bool(self.error_cause & 0x40)

    @property
    def paper(self) -> PaperState:
        if self.paper_out:
            return PaperState.OUT
        return PaperState.LOW if self.paper_near_end else PaperState.FULL

    @property
    def problem(self) -> Optional[StatusProblem]:
        if self.cover_open:
            return StatusProblem(CompletionCode.USER_ERROR, "COVER_OPEN", "打印机盖未合上，请联系工作人员",
                                 "printer cover is open", DeviceStatus.USER_ERROR, self.paper)
        if self.paper_out:
            return StatusProblem(CompletionCode.USER_ERROR, "PAPER_OUT", "打印纸已用完，请联系工作人员补充纸张",
                                 "receipt paper is out", DeviceStatus.USER_ERROR, PaperState.OUT)
        if self.cutter_error:
            return StatusProblem(CompletionCode.HARDWARE_ERROR, "CUTTER_ERROR", "打印机切纸刀故障，请联系工作人员",
                                 "autocutter error", DeviceStatus.HARDWARE_ERROR, self.paper)
        if self.unrecoverable_error:
            return StatusProblem(CompletionCode.HARDWARE_ERROR, "PRINTER_HARDWARE", "打印机故障，请联系工作人员",
                                 "unrecoverable printer error", DeviceStatus.HARDWARE_ERROR, self.paper)
        if self.auto_recoverable_error:
            return StatusProblem(CompletionCode.DEVICE_NOT_READY, "PRINTER_HEAD_HOT", "打印机暂时不可用，请稍后再试",
                                 "auto-recoverable error (print head temperature)", DeviceStatus.OFFLINE, self.paper)
        if self.offline:
            return StatusProblem(CompletionCode.DEVICE_NOT_READY, "PRINTER_OFFLINE", "打印机离线，请联系工作人员",
                                 "printer is offline", DeviceStatus.OFFLINE, self.paper)
        return None

    def describe(self) -> str:
        p = self.problem
        if p:
            return p.description
        return "ready, paper near end" if self.paper_near_end else "ready"


def read_status(transport: Transport, timeout: float) -> Optional[PrinterStatus]:
    """Ask DLE EOT 1..4 within `timeout` seconds in total. None = status unknown (no reply, or one-way link)."""
    if not transport.bidirectional:
        return None
    deadline = time.monotonic() + timeout
    try:
        transport.drain()
        replies = []
        for n in (1, 2, 3, 4):
            transport.write(DLE_EOT + bytes([n]), max(0.05, deadline - time.monotonic()))
            reply = _one_reply(transport, deadline)
            if reply is None:
                log.warning("receipt printer: no reply to DLE EOT %d within %.1f s; status unknown", n, timeout)
                return None
            replies.append(reply)
    except TransportError as exc:
        log.warning("receipt printer: status read failed (%s): %s", exc.code, exc)
        return None
    return PrinterStatus(*replies)


def _one_reply(transport: Transport, deadline: float) -> Optional[int]:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        data = transport.read(1, remaining)
        if not data:
            return None
        if valid_reply(data[0]):
            return data[0]
        # ASB block bytes or noise: skip and keep waiting for the real reply
