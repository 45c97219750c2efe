"""Synthetic camera footage made from a real photograph (scikit-image's `astronaut`, a frontal portrait).

Used by the simulated camera, the tests and the bench. Every scene is a short list of BGR frames at the
requested frame size; sequences (blink, head turn) loop. The frames imitate a webcam: the photo is scaled so
the face has a realistic size, sharpened as a camera ISP does, with a little sensor noise and jitter.

Nothing here is a face of a real customer; the photo is public-domain NASA material shipped with scikit-image.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

SCENES = ("good_face", "no_face", "two_faces", "dark", "bright", "blurred", "too_far", "too_close",
          "off_centre", "blink", "turn_head")
FPS = 15.0


@dataclass(frozen=True)
class _Portrait:
    image: np.ndarray                       # BGR, 512x512
    face: tuple[int, int, int, int]         # x, y, w, h in the photo
    eyes: tuple[tuple[int, int, int, int], ...]   # boxes in the photo


@functools.lru_cache(maxsize=1)
def _portrait() -> _Portrait:
    import cv2
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - scikit-image is a test/demo dependency
        raise RuntimeError("scikit-image is needed for the simulated camera footage") from exc
    img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    gray = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    faces = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml") \
        .detectMultiScale(gray, 1.1, 5, minSize=(60, 60))
    x, y, w, h = (int(v) for v in max(faces, key=lambda f: f[2])) if len(faces) else (177, 67, 93, 93)
    roi = gray[y:y + int(h * 0.55), x:x + w]
    eyes = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye_tree_eyeglasses.xml") \
        .detectMultiScale(roi, 1.1, 3, minSize=(w // 8, w // 8))
    eye_boxes = tuple((x + int(ex), y + int(ey), int(ew), int(eh)) for ex, ey, ew, eh in eyes) or \
        ((x + 14, y + 22, 24, 24), (x + 61, y + 25, 22, 22))
    img.setflags(write=False)
    return _Portrait(img, (x, y, w, h), eye_boxes)


def _closed_eyes(p: _Portrait) -> np.ndarray:
    """The photo with both eyelids shut: skin-coloured lids with a lash line over the eyes."""
    import cv2
    img = p.image.copy()
    x, y, w, h = p.face
    skin = img[y + int(0.62 * h):y + int(0.72 * h), x + int(0.3 * w):x + int(0.6 * w)].reshape(-1, 3).mean(0)
    for ex, ey, ew, eh in p.eyes:
        cx, cy = ex + ew // 2, ey + eh // 2
        cv2.ellipse(img, (cx, cy), (ew // 2 + 1, eh // 2 - 2), 0, 0, 360, skin.tolist(), -1)
        cv2.line(img, (cx - ew // 2 + 2, cy + 2), (cx + ew // 2 - 2, cy + 2), (70, 60, 60), 1)
    return img


def _webcam_frame(photo: np.ndarray, p: _Portrait, size: tuple[int, int], face_ratio: float,
                  dx: float = 0.0, dy: float = 0.0, seed: int = 0) -> np.ndarray:
    """Place the portrait in a frame so the face is `face_ratio` of the frame width, shifted by dx/dy
    (fractions of the frame width/height), then sharpen and add sensor noise like a webcam does."""
    import cv2
    W, H = size
    x, y, w, h = p.face
    scale = face_ratio * W / w
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    cx, cy = (x + w / 2) * scale - dx * W, (y + h / 2) * scale - dy * H
    x0, y0 = int(round(cx - W / 2)), int(round(cy - H / 2))
    out = np.empty((H, W, 3), np.uint8)
    out[:] = big[-1, -1]
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(big.shape[1], x0 + W), min(big.shape[0], y0 + H)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = big[sy0:sy1, sx0:sx1]
    blurred = cv2.GaussianBlur(out, (0, 0), 1.5 * max(1.0, W / 640))
    out = cv2.addWeighted(out, 2.0, blurred, -1.0, 0)
    noise = np.random.default_rng(seed).normal(0, 3, out.shape)
    return np.clip(out.astype(np.int16) + noise.astype(np.int16), 0, 255).astype(np.uint8)


GOOD_RATIO = 0.36   # face width / frame width of a customer at ~50 cm


def _jitter(i: int) -> float:
    return ((i * 7) % 5 - 2) / 640.0     # +-2 px of hand/body sway


def scene_frames(name: str, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """The frames of one scene (a fresh list; the caller may wipe them)."""
    return [f.copy() for f in _cached_scene(name, tuple(size))]


@functools.lru_cache(maxsize=12)
def _cached_scene(name: str, size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    import cv2
    p = _portrait()
    W, H = size

    def good(i, photo=p.image, ratio=GOOD_RATIO, dx=0.0, dy=0.0):
        return _webcam_frame(photo, p, size, ratio, dx + _jitter(i), dy, seed=i)

    if name == "good_face":
        frames = [good(i) for i in range(8)]
    elif name == "no_face":
        # the lower part of the same photo (space suit, flag): a real scene with nobody's face in it
        body = p.image[300:512, 0:512]
        frames = [_webcam_frame(body, _Portrait(body, (0, 0, 512, 212), ()), size, 1.0, _jitter(i), 0, i)
                  for i in range(4)]
    elif name == "two_faces":
        half = (W // 2, H)
        frames = []
        for i in range(4):
            left = _webcam_frame(p.image, p, half, 0.45, _jitter(i), 0, seed=i)
            right = cv2.flip(_webcam_frame(p.image, p, half, 0.45, -_jitter(i), 0, seed=i + 50), 1)
            frames.append(np.ascontiguousarray(np.hstack([left, right])[:, :W]))
    elif name == "dark":
        frames = [(good(i).astype(np.float32) * 0.25).astype(np.uint8) for i in range(4)]
    elif name == "bright":
        frames = [cv2.convertScaleAbs(good(i), alpha=1.0, beta=110) for i in range(4)]
    elif name == "blurred":
        frames = [cv2.GaussianBlur(good(i), (9, 9), 0) for i in range(4)]
    elif name == "too_far":
        frames = [good(i, ratio=0.17) for i in range(4)]
    elif name == "too_close":
        frames = [good(i, ratio=0.68) for i in range(4)]
    elif name == "off_centre":
        frames = [good(i, dx=0.3) for i in range(4)]
    elif name == "blink":
        closed = _closed_eyes(p)
        frames = [good(i) for i in range(8)] + [good(8 + i, photo=closed) for i in range(3)] + \
                 [good(11 + i) for i in range(8)]
    elif name == "turn_head":
        # the face swings sideways by ~0.4 face widths and comes back (a head turn seen by the camera)
        swing = [0.0] * 6 + [0.03, 0.07, 0.11, 0.14, 0.14, 0.14, 0.11, 0.07, 0.03] + [0.0] * 6
        frames = [good(i, dx=s) for i, s in enumerate(swing)]
    else:
        raise KeyError(f"unknown camera scene {name!r}; known: {', '.join(SCENES)}")
    for f in frames:
        f.setflags(write=False)
    return tuple(frames)


def write_avi(path: Path | str, frames: Iterable[np.ndarray], fps: float = FPS) -> Path:
    """Write frames as an MJPG .avi (what a technician would record from a kiosk camera)."""
    import cv2
    path = Path(path)
    frames = list(frames)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {path}")
    try:
        for f in frames:
            writer.write(f)
    finally:
        writer.release()
    return path
