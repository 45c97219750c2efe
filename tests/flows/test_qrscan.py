"""Reading a receipt's QR code with the kiosk camera (kiosk.flows.services.qrscan) on the real devices.camera
Camera class over its simulator, as the kiosk wires it (kiosk.flows.adapters.CameraAdapter). No Qt."""
from __future__ import annotations

import threading

import pytest

from devices.base import CancelToken, DeviceError
from devices.camera.sim import build_simulated_camera
from kiosk.flows.adapters import CameraAdapter
from kiosk.flows.services.qrscan import (CameraUnavailable, QrNotSeen, is_certificate_qr, scan_qr,
                                         serial_from_qr)


@pytest.fixture
def camera():
    device = build_simulated_camera()
    try:
        yield CameraAdapter(device)
    finally:
        device.close()


def test_a_receipt_held_up_to_the_camera_is_read(camera):
    camera.device.simulator.show_qr("progress:TQ2026112200000001")
    assert scan_qr(camera, CancelToken(20), timeout_s=15) == "progress:TQ2026112200000001"


def test_no_code_in_view_ends_at_the_deadline_with_a_plain_message(camera):
    camera.device.simulator.show("good_face")            # a face, no QR code
    with pytest.raises(QrNotSeen) as e:
        scan_qr(camera, CancelToken(20), timeout_s=0.5)
    assert e.value.code == "QR_NOT_SEEN" and "二维码" in e.value.message_zh and "流水号" in e.value.message_zh


def test_an_unplugged_camera_says_so_and_a_cancelled_scan_stops(camera):
    camera.device.simulator.show("no_face")
    token = CancelToken(20)
    threading.Timer(0.3, token.cancel).start()           # the resident leaves while the camera looks
    with pytest.raises(DeviceError):
        scan_qr(camera, token, timeout_s=15)
    camera.device.simulator.unplug()                     # pulled while looking: told at once, not at the deadline
    with pytest.raises(CameraUnavailable) as e:
        scan_qr(camera, CancelToken(30), timeout_s=15)
    assert e.value.code == "CAMERA_UNAVAILABLE" and "摄像头" in e.value.message_zh
    with pytest.raises(CameraUnavailable):
        scan_qr(None, CancelToken(5), timeout_s=1)


@pytest.mark.parametrize("payload, serial", [
    ("progress:TQ2026112200000001", "TQ2026112200000001"),
    ("  progress: dk2026112200000002 ", "DK2026112200000002"),
    ("C330802611220001", "C330802611220001"),
    # a receipt printed offline carries the transaction's client id (UUIDv7) until the center gives a serial
    ("progress:01A2015D-0EA1-70BE-9E07-F87AAA7DD9CE", "01a2015d-0ea1-70be-9e07-f87aaa7dd9ce"),
    ("progress:01a2015d-0ea1-70be-9e07-f87aaa7dd9ce-ff", None),
    ("https://gjj.example.gov.cn/verify?code=ABCD-EFGH-JKLM", None),
    ("progress:'; DROP TABLE --", None),
    ("", None),
])
def test_what_a_qr_code_carries_becomes_a_serial_or_nothing(payload, serial):
    assert serial_from_qr(payload) == serial


def test_a_certificates_verification_qr_is_told_apart():
    assert is_certificate_qr("https://gjj.example.gov.cn/verify?code=ABCD-EFGH-JKLM")
    assert not is_certificate_qr("progress:TQ2026112200000001")
