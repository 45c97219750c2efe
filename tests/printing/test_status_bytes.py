"""DLE EOT replies as the reference lists them, mapped to what the customer and the technician are told."""
import pytest

from devices.base import CompletionCode, DeviceStatus, PaperState
from printing.escpos.status import PrinterStatus, valid_reply


@pytest.mark.parametrize("byte, ok", [(0x12, True), (0x1E, True), (0x72, True), (0x7E, True),
                                      (0x00, False), (0x93, False), (0x10, False), (0x03, False)])
def test_only_bytes_shaped_0xx1xx10_are_status_replies(byte, ok):
    assert valid_reply(byte) is ok


@pytest.mark.parametrize("status, code, device, paper", [
    (PrinterStatus(), None, None, PaperState.FULL),
    (PrinterStatus(paper_sensor=0x1E), None, None, PaperState.LOW),
    (PrinterStatus(paper_sensor=0x72), "PAPER_OUT", DeviceStatus.USER_ERROR, PaperState.OUT),
    (PrinterStatus(paper_sensor=0x7E, printer=0x1A), "PAPER_OUT", DeviceStatus.USER_ERROR, PaperState.OUT),
    (PrinterStatus(offline_cause=0x32), "PAPER_OUT", DeviceStatus.USER_ERROR, PaperState.OUT),
    (PrinterStatus(offline_cause=0x16, printer=0x1A), "COVER_OPEN", DeviceStatus.USER_ERROR, PaperState.FULL),
    (PrinterStatus(error_cause=0x1A), "CUTTER_ERROR", DeviceStatus.HARDWARE_ERROR, PaperState.FULL),
    (PrinterStatus(error_cause=0x32), "PRINTER_HARDWARE", DeviceStatus.HARDWARE_ERROR, PaperState.FULL),
    (PrinterStatus(error_cause=0x52), "PRINTER_HEAD_HOT", DeviceStatus.OFFLINE, PaperState.FULL),
    (PrinterStatus(printer=0x1A), "PRINTER_OFFLINE", DeviceStatus.OFFLINE, PaperState.FULL),
])
def test_status_bytes_map_to_a_code_a_device_state_and_a_paper_state(status, code, device, paper):
    problem = status.problem
    assert (problem.error_code if problem else None) == code
    assert (problem.device if problem else None) == device
    assert status.paper is paper
    if problem:
        assert problem.completion in (CompletionCode.USER_ERROR, CompletionCode.HARDWARE_ERROR,
                                      CompletionCode.DEVICE_NOT_READY)
        assert problem.message_zh and problem.description.isascii()


def test_cover_open_is_reported_before_paper_out_because_closing_it_comes_first():
    assert PrinterStatus(offline_cause=0x36, paper_sensor=0x72).problem.error_code == "COVER_OPEN"
