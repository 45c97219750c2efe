"""Fixtures for the camera: real photographs turned into MJPG .avi files with cv2.VideoWriter, played back
through the real OpenCV capture by the real Camera.

Waiting for an event uses a generous bound that only matters when the code under test is broken
(it is not a timing assertion)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest

from devices.base import DeviceState
from devices.camera import scenes

PATIENCE_S = 15.0
SHORT_TRY_S = 1.5     # how long a capture is given when it is expected to fail a gate


class StatusRecorder:
    """Collects status events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[DeviceState] = []
        self._cond = threading.Condition()

    def __call__(self, role: str, state: DeviceState) -> None:
        with self._cond:
            self.events.append(state)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[DeviceState], bool]) -> DeviceState:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(predicate(e) for e in self.events), PATIENCE_S)
            assert ok, f"status never reached the expected state; events: {self.events}"
            return next(e for e in self.events if predicate(e))


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """One .avi per scene (good face, no face, two faces, dark, blurred, blink, head turn, ...)."""
    d = tmp_path_factory.mktemp("camera-videos")
    return {name: scenes.write_avi(d / f"{name}.avi", scenes.scene_frames(name)) for name in scenes.SCENES}


@pytest.fixture
def open_camera():
    """Builds real cameras on a source and closes them after the test."""
    from devices.camera.camera import build_camera
    made = []

    def make(source, **kw):
        cam = build_camera(str(source), **kw)
        made.append(cam)
        return cam
    yield make
    for cam in made:
        cam.close()


@pytest.fixture
def status_recorder() -> StatusRecorder:
    return StatusRecorder()


@pytest.fixture
def http_stream(videos):
    """The good-face video served over HTTP on loopback (a network camera / stream URL), by a process this
    fixture starts and stops by its PID."""
    import re
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
                            cwd=videos["good_face"].parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"port (\d+)", line)
        assert m, f"http.server did not start: {line!r}"
        yield f"http://127.0.0.1:{m.group(1)}/{videos['good_face'].name}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
