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
