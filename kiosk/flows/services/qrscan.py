"""Reading a receipt's QR code with the kiosk camera (办理进度查询 by scanning the 业务回单).

`scan_qr(camera, token, timeout_s)` takes frames from the camera port the kiosk already has (the real
devices.camera Camera behind kiosk.flows.adapters.CameraAdapter, whose frame grabber runs all the time; or the
stand-in kiosk.flows.standins.SimCamera) and decodes them with OpenCV's QRCodeDetector until a code is seen, the
deadline passes or the token is cancelled. It blocks: flows run it on their Tasks workers, never on the Qt thread.

`serial_from_qr(payload)` turns what a receipt carries ("progress:TQ2026..." since the withdrawal/loan/transfer
receipts, or a bare serial) into a serial number; a certificate's verification QR (a URL with code=) is named
as such so the resident is told which code to show."""
from __future__ import annotations

import logging
import re
import time
from typing import Optional

from devices.base import CancelToken
from kiosk.flows.ports import PortError

log = logging.getLogger(__name__)

SCAN_TIMEOUT_S = 15.0
SERIAL = re.compile(r"^[0-9A-Z-]{4,32}$")
CLIENT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class QrNotSeen(PortError):
    """No QR code was decoded before the deadline (nothing shown, too far, blurred)."""


class CameraUnavailable(PortError):
    """The camera cannot give pictures (unplugged, no OpenCV)."""


NOT_SEEN = ("QR_NOT_SEEN", "没有识别到二维码。请将回单上的二维码正对摄像头并保持不动，或直接输入流水号")
NO_CAMERA = ("CAMERA_UNAVAILABLE", "摄像头暂不可用，请直接输入回单上的流水号")


class _Frames:
    """Successive frames from whatever camera port the kiosk has."""

    def __init__(self, camera):
        self.camera = camera
        device = getattr(camera, "device", None)
        self.grabber = getattr(device, "grabber", None)
        self.seq = 0

    def next(self, token: CancelToken, wait_s: float):
        if self.grabber is not None:
            f = self.grabber.wait_frame(self.seq, wait_s)
            if f is None:
                if self.grabber.tried and not self.grabber.online:     # unplugged while looking
                    raise CameraUnavailable(NO_CAMERA[0], NO_CAMERA[1], f"QR scan: camera {self.grabber.detail}")
                return None
            self.seq = f.seq
            return f.image
        frame = getattr(self.camera, "frame", None)
        if callable(frame):                     # the stand-in camera: one picture of what it is shown
            token.wait(min(wait_s, getattr(self.camera, "frame_interval_s", 0.05)))
            return frame()
        raise CameraUnavailable(NO_CAMERA[0], NO_CAMERA[1], "camera port gives no frames")


def _decode(detector, image) -> str:
    import cv2
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    text, points, _ = detector.detectAndDecode(gray)
    if text:
        return text
    if points is not None:                      # seen but not read: try once more on a sharpened copy
        sharp = cv2.addWeighted(gray, 1.6, cv2.GaussianBlur(gray, (0, 0), 2), -0.6, 0)
        text, _, _ = detector.detectAndDecode(sharp)
    return text or ""


def scan_qr(camera, token: CancelToken, timeout_s: float = SCAN_TIMEOUT_S) -> str:
    """The text of the first QR code the camera sees. Raises QrNotSeen after timeout_s, CameraUnavailable
    when there is no usable camera, DeviceError(CANCELED) when the token is cancelled."""
    if camera is None or not camera.usable().ok:
        why = "no camera" if camera is None else camera.usable().missing
        raise CameraUnavailable(NO_CAMERA[0], NO_CAMERA[1], f"QR scan: {why}")
    try:
        import cv2
    except ImportError:
        raise CameraUnavailable(NO_CAMERA[0], NO_CAMERA[1], "QR scan: OpenCV not installed") from None
    detector = cv2.QRCodeDetector()
    frames = _Frames(camera)
    end = time.monotonic() + timeout_s
    tried = 0
    while True:
        token.check()
        left = end - time.monotonic()
        if left <= 0:
            log.info("QR scan: no code in %d frames within %.1f s", tried, timeout_s)
            raise QrNotSeen(NOT_SEEN[0], NOT_SEEN[1], f"no QR code decoded in {tried} frames ({timeout_s:.1f} s)")
        image = frames.next(token, min(0.5, left))
        if image is None:
            continue
        tried += 1
        try:
            text = _decode(detector, image)
        finally:
            image[...] = 0                      # the picture may show the resident: gone once looked at
        if text:
            log.info("QR scan: code read after %d frames", tried)
            return text


def serial_from_qr(payload: str) -> Optional[str]:
    """The serial number a receipt's QR carries ("progress:SERIAL" or the bare serial), else None."""
    text = (payload or "").strip()
    if text.lower().startswith("progress:"):
        text = text.split(":", 1)[1].strip()
    if CLIENT_ID.match(text):           # a receipt printed offline: the transaction's client id
        return text.lower()
    text = text.upper()
    return text if SERIAL.match(text) else None


def is_certificate_qr(payload: str) -> bool:
    return "code=" in (payload or "") and "://" in (payload or "")
