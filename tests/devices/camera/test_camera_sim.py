"""The simulated camera the demo and the UI tests use: the real Camera fed with footage from a real photo."""
from __future__ import annotations

import pytest

from config import load_settings
from devices import registry
from devices.base import CompletionCode, DeviceStatus
from devices.camera.sim import SCENES

from .conftest import PATIENCE_S, SHORT_TRY_S


@pytest.fixture
def sim_camera():
    settings = load_settings(profile="demo", env={})
    built = registry.build(settings, "camera")
    assert built.backend == "sim" and built.device is not None
    yield built
    built.device.close()


def test_the_demo_terminal_has_a_usable_simulated_camera_with_every_scene(sim_camera):
    assert sim_camera.usability.ok, sim_camera.usability.missing
    for scene in ("good_face", "no_face", "two_faces", "dark", "blurred", "blink", "turn_head", "unplugged"):
        assert scene in SCENES
    assert sim_camera.device.simulator.scene == "good_face"


def test_a_ui_test_switches_what_the_camera_sees(sim_camera):
    cam = sim_camera.device
    cam.simulator.show("two_faces")
    c = cam.capture_face(timeout=SHORT_TRY_S).result(PATIENCE_S)
    assert c.code is CompletionCode.TIMEOUT and c.error_code == "FACE_MULTIPLE"
    cam.simulator.show("good_face")
    c = cam.capture_face(timeout=10).result(PATIENCE_S)
    assert c.ok, c.description
    c.value.wipe()


def test_unplugging_the_simulated_camera_goes_nodevice_and_plugging_it_back_recovers(sim_camera, status_recorder):
    cam = sim_camera.device
    cam.status.subscribe(status_recorder)
    cam.simulator.show("unplugged")
    status_recorder.wait_for(lambda s: s.device is DeviceStatus.NO_DEVICE)
    c = cam.capture_face(timeout=5).result(PATIENCE_S)
    assert c.code is CompletionCode.DEVICE_NOT_READY and c.error_code == "NO_DEVICE"
    status_recorder.events.clear()
    cam.simulator.show("good_face")
    status_recorder.wait_for(lambda s: s.device is DeviceStatus.ONLINE)
    assert cam.selftest().ok


def test_the_simulated_blink_passes_a_blink_prompt(sim_camera):
    cam = sim_camera.device
    cam.simulator.show("blink")
    c = cam.capture_face(timeout=12, liveness="blink").result(PATIENCE_S)
    assert c.ok, c.description
    assert c.value.liveness.passed
    c.value.wipe()


def test_an_unknown_scene_is_refused_with_the_list_of_known_ones(sim_camera):
    with pytest.raises(KeyError) as exc:
        sim_camera.device.simulator.show("three_faces")
    assert "good_face" in str(exc.value)
