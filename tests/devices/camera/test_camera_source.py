"""The grabber: only the newest frame is kept, old ones are wiped, a stuck or failing driver never blocks."""
from __future__ import annotations

import threading

import numpy as np

from devices.base import CompletionCode, DeviceStatus
from devices.camera.camera import Camera, CaptureOptions
from devices.camera.source import FrameGrabber, SourceUnavailable, parse_source

from .conftest import PATIENCE_S


class CountingCapture:
    """A live camera delivering numbered frames; keeps every frame it handed out."""
    pace_fps = 200.0

    def __init__(self):
        self.handed = []

    def read(self):
        frame = np.full((48, 64, 3), len(self.handed) % 250 + 1, np.uint8)
        self.handed.append(frame)
        return True, frame

    def rewind(self):
        return False

    def release(self):
        pass


class StuckCapture:
    """A driver whose read never returns (a hung USB camera)."""
    pace_fps = None

    def __init__(self):
        self.release_called = threading.Event()
        self._never = threading.Event()

    def read(self):
        self._never.wait()
        return False, None

    def rewind(self):
        return False

    def release(self):
        self._never.set()
        self.release_called.set()


def test_a_slow_reader_gets_the_newest_frame_and_dropped_frames_are_wiped():
    cap = CountingCapture()
    grabber = FrameGrabber(lambda: cap).start()
    try:
        first = grabber.wait_frame(0, PATIENCE_S)
        assert first is not None
        later = grabber.wait_frame(first.seq + 20, PATIENCE_S)       # the reader was busy meanwhile
        assert later is not None and later.seq > first.seq + 20
        dropped = cap.handed[:later.seq - 1]
        assert dropped and all(not f.any() for f in dropped)          # overwritten with zeros
        assert later.image.any()                                       # the reader's own copy is intact
    finally:
        grabber.stop()


def test_a_source_that_cannot_be_opened_is_retried_until_it_appears():
    attempts, states = [], []
    ready = threading.Event()

    def opener():
        attempts.append(1)
        if len(attempts) < 3:
            raise SourceUnavailable("no /dev/video0")
        return CountingCapture()

    grabber = FrameGrabber(opener, on_state=lambda online, detail: (states.append((online, detail)),
                                                                       online and ready.set()),
                           reopen_interval=0.05).start()
    try:
        assert ready.wait(PATIENCE_S)
        assert states[0] == (False, "no /dev/video0") and states[-1][0] is True
        assert grabber.wait_frame(0, PATIENCE_S) is not None
    finally:
        grabber.stop()


def test_a_hung_camera_driver_ends_the_capture_as_not_ready_instead_of_hanging():
    stuck = StuckCapture()
    cam = Camera(lambda: stuck, "hung test camera", options=CaptureOptions(no_frame_s=0.5))
    try:
        c = cam.capture_face(timeout=5).result(PATIENCE_S)
        assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code in ("NO_FRAME", "NO_DEVICE")
        assert "工作人员" in c.message
        assert not cam.is_usable().ok
    finally:
        cam.close()
        stuck.release()          # let the test's fake driver thread end
    assert cam.status.state.device is DeviceStatus.OFFLINE


def test_camera_sources_are_read_from_configuration_text():
    assert parse_source("0") == 0 and parse_source(2) == 2
    assert parse_source(" /var/lib/kiosk/demo.avi ") == "/var/lib/kiosk/demo.avi"
    assert parse_source("rtsp://127.0.0.1:8554/cam") == "rtsp://127.0.0.1:8554/cam"
