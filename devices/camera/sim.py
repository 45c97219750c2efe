"""Simulated kiosk camera: plays synthetic footage made from a real photograph (see scenes.py).

    camera = build_sim_camera(settings)
    camera.simulator.show("two_faces")     # what the customer does in front of the camera
    camera.simulator.show("unplugged")     # the USB cable is pulled: status goes noDevice
    camera.simulator.show("good_face")     # plugged back: online again by itself

The simulated camera is the real Camera (same grabber, gates, liveness and JPEG code); only the capture
object is replaced by one that serves in-memory frames at 15 fps.
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np

from devices.camera import scenes
from devices.camera.camera import Camera
from devices.camera.source import SourceUnavailable

SCENES = scenes.SCENES + ("unplugged",)


class CameraSimulator:
    """The controls a demo or a UI test uses to change what the camera sees."""

    def __init__(self, size: tuple[int, int] = (640, 480), scene: str = "good_face", fps: float = scenes.FPS):
        self.size = size
        self.fps = fps
        self._lock = threading.Lock()
        self._scene = ""
        self._frames: list[np.ndarray] = []
        self._pos = 0
        self._generation = 0
        self.show(scene)

    @property
    def scene(self) -> str:
        return self._scene

    @property
    def scenes(self) -> tuple[str, ...]:
        return SCENES

    def show(self, scene: str) -> None:
        if scene not in SCENES:
            raise KeyError(f"unknown camera scene {scene!r}; known: {', '.join(SCENES)}")
        frames = [] if scene == "unplugged" else list(scenes._cached_scene(scene, tuple(self.size)))
        with self._lock:
            self._scene, self._frames, self._pos = scene, frames, 0
            self._generation += 1

    def unplug(self) -> None:
        self.show("unplugged")

    def show_picture(self, image: np.ndarray, name: str = "picture") -> None:
        """Hold a still picture (BGR, any size) in front of the camera, e.g. a receipt's QR code; served at the
        frame size with a little sensor noise per frame, looping like the other scenes."""
        import cv2
        W, H = self.size
        img = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        img = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)
        rng = np.random.default_rng(7)
        frames = [np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
                  for _ in range(4)]
        with self._lock:
            self._scene, self._frames, self._pos = name, frames, 0
            self._generation += 1

    def show_qr(self, payload: str) -> None:
        """A printed receipt held up to the camera: its QR code (payload) on white paper on a grey counter,
        slightly turned, as a resident would show it."""
        self.show_picture(receipt_picture(payload, self.size), "receipt_qr")

    def open(self) -> "SimCapture":
        with self._lock:
            if self._scene == "unplugged":
                raise SourceUnavailable("simulated camera unplugged")
            return SimCapture(self, self._generation)

    def next_frame(self, generation: int) -> Optional[np.ndarray]:
        with self._lock:
            if self._scene == "unplugged":
                return None
            frame = self._frames[self._pos % len(self._frames)]
            self._pos += 1
            return frame.copy()


def receipt_picture(payload: str, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A camera's view of a receipt slip carrying `payload` as a QR code (BGR, `size`)."""
    import cv2
    W, H = size
    qr = cv2.QRCodeEncoder.create().encode(payload)
    module = max(3, int(0.5 * H) // qr.shape[0])
    qr = cv2.resize(qr, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    pad = 4 * module
    slip = np.full((qr.shape[0] + 2 * pad + 40, qr.shape[1] + 2 * pad), 245, np.uint8)
    slip[pad:pad + qr.shape[0], pad:pad + qr.shape[1]] = np.where(qr > 127, 245, 20).astype(np.uint8)
    cv2.line(slip, (pad, slip.shape[0] - 24), (slip.shape[1] - pad, slip.shape[0] - 24), 90, 2)
    frame = np.full((H, W), 120, np.uint8)
    rot = cv2.getRotationMatrix2D((slip.shape[1] / 2, slip.shape[0] / 2), 7, 1.0)
    rot[0, 2] += (W - slip.shape[1]) / 2
    rot[1, 2] += (H - slip.shape[0]) / 2
    frame = cv2.warpAffine(slip, rot, (W, H), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


class SimCapture:
    """The Capture protocol over the simulator's current scene (looping)."""

    def __init__(self, sim: CameraSimulator, generation: int):
        self._sim = sim
        self._generation = generation
        self.pace_fps = sim.fps

    def read(self):
        frame = self._sim.next_frame(self._generation)
        return (frame is not None), frame

    def rewind(self) -> bool:
        return False

    def release(self) -> None:
        pass


def build_simulated_camera(size: tuple[int, int] = (640, 480), scene: str = "good_face", **kw) -> Camera:
    sim = CameraSimulator(size, scene)
    camera = Camera(sim.open, "simulated camera", reopen_interval=kw.pop("reopen_interval", 0.2), **kw)
    camera.simulator = sim
    return camera


def build_sim_camera(settings) -> Camera:
    cfg = settings.devices.camera
    return build_simulated_camera((cfg.width, cfg.height))
