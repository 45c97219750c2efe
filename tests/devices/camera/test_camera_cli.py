"""`hpf-kiosk devices capture-face` for the technician: figures printed, exit 0 only with a good face."""
from __future__ import annotations

import json

import numpy as np
import pytest

from kiosk.cli.main import main

cv2 = pytest.importorskip("cv2")


def test_capture_face_from_a_video_file_prints_the_figures_and_saves_the_photo_when_asked(videos, tmp_path, capsys):
    out = tmp_path / "face.jpg"
    rc = main(["devices", "capture-face", "--source", str(videos["good_face"]), "--timeout", "10", "--json",
               "--out", str(out)])
    result = json.loads(capsys.readouterr().out)
    assert rc == 0, result
    assert result["result"] == "success" and result["code"] == "OK"
    assert result["quality"]["sharpness"] >= 100 and result["quality"]["faces"] == 1
    assert result["size_bytes"] == out.stat().st_size < 300_000
    photo = cv2.imdecode(np.fromfile(str(out), np.uint8), cv2.IMREAD_COLOR)
    assert photo.shape == (960, 720, 3)


def test_capture_face_with_nobody_in_view_exits_1_with_the_gate_code(videos, capsys):
    rc = main(["devices", "capture-face", "--source", str(videos["no_face"]), "--timeout", "1.5"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FACE_NOT_FOUND" in out and "未采集" in out


def test_capture_face_on_a_missing_camera_exits_1_and_says_so(tmp_path, capsys):
    rc = main(["devices", "capture-face", "--source", str(tmp_path / "nothing.avi"), "--timeout", "2", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert result["result"] == "deviceNotReady" and result["code"] == "NO_DEVICE"


def test_capture_face_uses_the_configured_simulated_camera_of_the_demo(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HPF_KIOSK_PROFILE", "demo")
    rc = main(["devices", "capture-face", "--timeout", "10"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "已采集" in out and "720x960" in out
    assert list(tmp_path.glob("*.jpg")) == []               # no photo written without --out
