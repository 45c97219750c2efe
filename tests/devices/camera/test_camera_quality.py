"""The quality gates judge one frame the way the kiosk screen will guide the customer."""
from __future__ import annotations

import numpy as np
import pytest

from devices.camera import scenes
from devices.camera.quality import FaceQualityChecker, Gate, QualityThresholds


@pytest.fixture(scope="module")
def checker() -> FaceQualityChecker:
    return FaceQualityChecker()


def test_a_customer_facing_the_camera_passes_every_gate_and_every_figure_is_reported(checker):
    for frame in scenes.scene_frames("good_face"):
        r = checker.check(frame)
        assert r.ok and r.code is Gate.OK, r.description
        assert r.faces == 1
        assert 0.25 <= r.size_ratio <= 0.6
        assert abs(r.centre_dx) <= 0.15 and abs(r.centre_dy) <= 0.2
        assert 70 <= r.mean <= 190 and r.std > 30 and r.clipped < 0.05
        assert r.sharpness >= 100
        x, y, w, h = r.face_box
        assert 0 <= x and x + w <= 640 and 0 <= y and y + h <= 480
        assert r.guidance_zh == "请保持不动，正在拍照"


@pytest.mark.parametrize("scene, gate, guidance", [
    ("no_face", Gate.NO_FACE, "请正对屏幕"),
    ("two_faces", Gate.MULTIPLE_FACES, "只有您一人"),
    ("too_far", Gate.TOO_FAR, "请靠近一些"),
    ("too_close", Gate.TOO_CLOSE, "请离远一些"),
    ("off_centre", Gate.OFF_CENTRE, "请正对屏幕"),
    ("dark", Gate.TOO_DARK, "光线太暗"),
    ("bright", Gate.TOO_BRIGHT, "光线太亮"),
    ("blurred", Gate.BLURRY, "请保持不动"),
])
def test_a_frame_that_fails_a_gate_names_that_gate_and_tells_the_customer_what_to_do(checker, scene, gate, guidance):
    for frame in scenes.scene_frames(scene):
        r = checker.check(frame)
        assert r.code is gate, r.description
        assert guidance in r.guidance_zh
        assert not r.ok


def test_two_faces_are_counted_and_no_figures_of_either_face_are_claimed(checker):
    r = checker.check(scenes.scene_frames("two_faces")[0])
    assert r.faces == 2 and r.face_box is None and r.sharpness is None


def test_a_blurred_face_is_measured_far_below_a_sharp_one(checker):
    sharp = checker.check(scenes.scene_frames("good_face")[0])
    cv2 = pytest.importorskip("cv2")
    soft = cv2.GaussianBlur(scenes.scene_frames("good_face")[0], (5, 5), 0)
    # exposure passes on a blurred face, so the sharpness gate is reached and measured
    r = checker.check(soft)
    assert r.code is Gate.BLURRY and r.sharpness < 100 < sharp.sharpness


def test_a_pitch_dark_room_says_too_dark_rather_than_no_face(checker):
    frame = (scenes.scene_frames("good_face")[0] * 0.08).astype(np.uint8)
    r = checker.check(frame)
    assert r.code is Gate.TOO_DARK and "光线太暗" in r.guidance_zh


def test_a_hd_camera_frame_is_checked_and_the_face_box_is_in_its_own_pixels(checker):
    r = checker.check(scenes.scene_frames("good_face", size=(1280, 720))[0])
    assert r.ok, r.description
    assert (r.frame_width, r.frame_height) == (1280, 720)
    x, y, w, h = r.face_box
    assert 0.25 * 1280 <= w <= 0.6 * 1280 and x + w <= 1280


def test_thresholds_are_configurable_per_camera():
    strict = FaceQualityChecker(QualityThresholds(sharpness_min=5000))
    r = strict.check(scenes.scene_frames("good_face")[0])
    assert r.code is Gate.BLURRY
    lenient = FaceQualityChecker(QualityThresholds(size_ratio_min=0.1))
    assert lenient.check(scenes.scene_frames("too_far")[0]).ok


@pytest.mark.parametrize("bad", [dict(min_neighbors=2), dict(size_ratio_min=0.7, size_ratio_max=0.6),
                                 dict(mean_min=200, mean_max=100), dict(scale_factor=1.0)])
def test_nonsense_thresholds_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError) as exc:
        QualityThresholds(**bad)
    assert "must" in str(exc.value) or "need" in str(exc.value)


@pytest.mark.parametrize("frame", [np.zeros((0, 0, 3), np.uint8), None, np.zeros(10, np.uint8)])
def test_a_broken_frame_is_refused_clearly(checker, frame):
    with pytest.raises(ValueError):
        checker.check(frame)


def test_a_grayscale_camera_frame_is_accepted(checker):
    cv2 = pytest.importorskip("cv2")
    gray = cv2.cvtColor(scenes.scene_frames("good_face")[0], cv2.COLOR_BGR2GRAY)
    assert checker.check(gray).ok
