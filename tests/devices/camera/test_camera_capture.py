"""Face capture through the real OpenCV capture on MJPG video files made from a real photograph."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from devices.base import CompletionCode, DeviceStatus
from devices.camera.camera import Camera
from devices.camera.quality import FaceQualityChecker, Gate

from .conftest import PATIENCE_S, SHORT_TRY_S

cv2 = pytest.importorskip("cv2")


def test_a_customer_in_front_of_the_camera_gets_a_portrait_photo_fit_for_the_real_person_check(
        videos, open_camera, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = []
    cam = open_camera(videos["good_face"])
    c = cam.capture_face(timeout=10, on_progress=seen.append).result(PATIENCE_S)
    assert c.ok, (c.error_code, c.description)
    face = c.value
    assert (face.width, face.height) == (720, 960)
    assert face.quality == 90 and 0 < face.size_bytes < 300_000
    photo = cv2.imdecode(np.frombuffer(bytes(face.jpeg), np.uint8), cv2.IMREAD_COLOR)
    assert photo.shape == (960, 720, 3)
    faces = FaceQualityChecker().check(cv2.resize(photo, (480, 640)))
    assert faces.faces == 1                                    # the face is in the photo, whole
    assert face.face_width_px >= 200
    assert face.report.ok and face.report.sharpness >= 100
    assert seen and all(r.phase == "quality" for r in seen) and seen[-1].ok
    assert face.summary()["quality"]["code"] == "OK"
    assert list(tmp_path.iterdir()) == []                      # nothing written to disk unasked
    buffer = face.jpeg
    face.wipe()
    assert face.size_bytes == 0 and not any(buffer)            # the JPEG bytes were overwritten


@pytest.mark.parametrize("scene, gate", [
    ("blurred", Gate.BLURRY), ("dark", Gate.TOO_DARK), ("no_face", Gate.NO_FACE),
    ("two_faces", Gate.MULTIPLE_FACES),
])
def test_a_capture_that_never_passes_ends_in_time_with_the_gate_that_kept_failing(videos, open_camera, scene, gate):
    guidance = []
    cam = open_camera(videos[scene])
    c = cam.capture_face(timeout=SHORT_TRY_S, on_progress=lambda r: guidance.append(r.guidance_zh)).result(PATIENCE_S)
    assert c.code is CompletionCode.TIMEOUT
    assert c.error_code == gate.value
    assert c.message == guidance[-1]                           # the same words the screen showed
    assert c.value.code is gate                                # the figures of the last frame tried


def test_a_blinking_customer_passes_the_blink_prompt_and_the_photo_is_taken_after_it(videos, open_camera):
    reports = []
    cam = open_camera(videos["blink"])
    c = cam.capture_face(timeout=12, liveness="blink", on_progress=reports.append).result(PATIENCE_S)
    assert c.ok, (c.error_code, c.description)
    assert c.value.liveness.passed and c.value.liveness.kind == "blink"
    assert c.value.liveness.certified is False
    prompts = [r.guidance_zh for r in reports if r.phase == "liveness"]
    assert "请眨眨眼" in prompts
    assert reports[-1].phase == "quality" and reports[-1].ok    # a good frame after the blink
    c.value.wipe()


def test_a_customer_who_turns_the_head_passes_the_turn_prompt(videos, open_camera):
    from devices.camera.liveness import HeadTurnChallenge
    cam = open_camera(videos["turn_head"])
    c = cam.capture_face(timeout=12, liveness=HeadTurnChallenge("right")).result(PATIENCE_S)
    assert c.ok, (c.error_code, c.description)
    assert c.value.liveness.kind == "turn_head" and c.value.liveness.passed
    c.value.wipe()


def test_a_photo_held_to_the_camera_does_not_pass_the_blink_prompt(videos, open_camera):
    cam = open_camera(videos["good_face"])
    c = cam.capture_face(timeout=3, liveness="blink").result(PATIENCE_S)
    assert c.code is CompletionCode.TIMEOUT
    assert c.error_code == "LIVENESS_NOT_PASSED"
    assert "工作人员" in c.message                              # the staffed fallback is offered


def test_an_unplugged_camera_is_reported_at_once_and_comes_back_online_by_itself(
        videos, open_camera, status_recorder, tmp_path):
    source = tmp_path / "camera.avi"                           # not there yet: the camera is unplugged
    cam = open_camera(source, reopen_interval=0.2)
    cam.status.subscribe(status_recorder)
    c = cam.capture_face(timeout=5).result(PATIENCE_S)
    assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "NO_DEVICE"
    assert "摄像头" in c.message
    assert cam.status.state.device is DeviceStatus.NO_DEVICE
    assert not cam.is_usable().ok and "camera.avi" in cam.is_usable().missing
    shutil.copy(videos["good_face"], source)                   # plugged back in
    status_recorder.wait_for(lambda s: s.device is DeviceStatus.ONLINE)
    c = cam.capture_face(timeout=10).result(PATIENCE_S)
    assert c.ok, (c.error_code, c.description)
    c.value.wipe()


def test_a_device_index_with_no_camera_is_not_usable_and_says_which(open_camera):
    cam = open_camera("7")
    usable = cam.is_usable()
    assert not usable.ok and "/dev/video7" in usable.missing
    st = cam.selftest()
    assert st.code is CompletionCode.DEVICE_NOT_READY and st.error_code == "NO_DEVICE"


def test_a_capture_waiting_for_the_customer_can_be_cancelled(videos, open_camera):
    cam = open_camera(videos["no_face"])
    started = threading.Event()
    handle = cam.capture_face(timeout=0, on_progress=lambda r: started.set())
    assert started.wait(PATIENCE_S)
    assert cam.status.state.device is DeviceStatus.BUSY
    handle.cancel()
    c = handle.result(PATIENCE_S)
    assert c.code is CompletionCode.CANCELED
    assert cam.status.state.device is DeviceStatus.ONLINE


def test_the_technician_selftest_reports_frame_size_and_rate(videos, open_camera):
    cam = open_camera(videos["good_face"])
    st = cam.selftest()
    assert st.ok, st.description
    assert (st.value["width"], st.value["height"]) == (640, 480)
    assert st.value["fps"] > 0
    assert Camera.is_usable().ok and cam.is_usable().ok


def test_the_screen_gets_preview_frames_as_plain_arrays(videos, open_camera):
    cam = open_camera(videos["good_face"])
    got, enough = [], threading.Event()

    def on_frame(frame):
        got.append(frame)
        if len(got) >= 3:
            enough.set()
    stop = cam.add_preview_listener(on_frame)
    assert enough.wait(PATIENCE_S)
    stop()
    assert all(isinstance(f, np.ndarray) and f.shape == (480, 640, 3) for f in got)
    assert got[0] is not got[1]


def test_a_closed_camera_stops_its_grabber_and_reports_offline(videos, open_camera):
    cam = open_camera(videos["good_face"])
    assert cam.is_usable().ok
    cam.close()
    assert not cam.grabber.running
    assert cam.status.state.device is DeviceStatus.OFFLINE


def test_a_network_camera_stream_url_is_captured_from(http_stream, open_camera):
    cam = open_camera(http_stream)
    c = cam.capture_face(timeout=10).result(PATIENCE_S)
    assert c.ok, (c.error_code, c.description)
    c.value.wipe()


def test_stream_credentials_never_reach_the_log_or_the_technician_screen():
    from devices.camera.source import describe_source
    text = describe_source("rtsp://admin:s3cret@192.168.1.64:554/Streaming/Channels/101")
    assert "s3cret" not in text and "admin" not in text and "192.168.1.64" in text
