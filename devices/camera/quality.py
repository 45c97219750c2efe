"""Face quality gates for a kiosk camera frame (Haar detection + simple image measures, no models).

The frame is scaled to about 640 px wide, turned to equalised grayscale and searched with OpenCV's
frontal-face Haar cascade. Then the gates run in this order and the first that fails names the problem:

    exactly one face -> face size -> face centred -> exposure (dark / bright / flat) -> sharpness

Exposure comes before sharpness on purpose: a dark face also has a low Laplacian variance, and "光线太暗"
is the advice that helps there, not "请保持不动". Thresholds are starting values from
reference/device-protocols.md §5; calibrate them per camera through `QualityThresholds`.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np

Box = tuple[int, int, int, int]   # x, y, w, h


class CameraSetupError(RuntimeError):
    """OpenCV or its Haar cascade files are missing."""


class Gate(str, Enum):
    """The outcome of the quality check: OK or the first gate that failed (device-specific error code)."""
    OK = "OK"
    NO_FACE = "FACE_NOT_FOUND"
    MULTIPLE_FACES = "FACE_MULTIPLE"
    TOO_FAR = "FACE_TOO_FAR"
    TOO_CLOSE = "FACE_TOO_CLOSE"
    OFF_CENTRE = "FACE_OFF_CENTRE"
    TOO_DARK = "FACE_TOO_DARK"
    TOO_BRIGHT = "FACE_TOO_BRIGHT"
    LOW_CONTRAST = "FACE_LOW_CONTRAST"
    BLURRY = "FACE_BLURRY"


# Plain Chinese for the screen and the voice prompt.
GUIDANCE_ZH = {
    Gate.OK: "请保持不动，正在拍照",
    Gate.NO_FACE: "请正对屏幕，将面部对准摄像头",
    Gate.MULTIPLE_FACES: "请确保镜头前只有您一人",
    Gate.TOO_FAR: "请靠近一些",
    Gate.TOO_CLOSE: "请离远一些",
    Gate.OFF_CENTRE: "请正对屏幕，将面部移到框内",
    Gate.TOO_DARK: "光线太暗，请到光线充足处",
    Gate.TOO_BRIGHT: "光线太亮，请避开强光",
    Gate.LOW_CONTRAST: "光线不均匀，请正对屏幕",
    Gate.BLURRY: "画面模糊，请保持不动",
}

GUIDANCE_EN = {
    Gate.OK: "face passes all quality gates",
    Gate.NO_FACE: "no face found",
    Gate.MULTIPLE_FACES: "more than one face in view",
    Gate.TOO_FAR: "face too small (too far from the camera)",
    Gate.TOO_CLOSE: "face too large (too close to the camera)",
    Gate.OFF_CENTRE: "face not centred",
    Gate.TOO_DARK: "face too dark",
    Gate.TOO_BRIGHT: "face too bright",
    Gate.LOW_CONTRAST: "face contrast too low",
    Gate.BLURRY: "face blurred",
}


@dataclass(frozen=True)
class QualityThresholds:
    """Gate thresholds. Defaults: reference/device-protocols.md §5 (starting values, calibrate on site)."""
    work_width: int = 640               # frames are scaled to about this width before detection
    scale_factor: float = 1.2
    min_neighbors: int = 5              # >= 5: 1.05/6 gave a false positive on the reference photo
    min_face_px: int = 80
    min_face_height_ratio: float = 0.2  # Haar minSize = max(min_face_px, ratio * H)
    cascade: str = "haarcascade_frontalface_default.xml"
    size_ratio_min: float = 0.25        # face width / frame width
    size_ratio_max: float = 0.60
    centre_tolerance_x: float = 0.15    # face centre offset / frame width
    centre_tolerance_y: float = 0.20    # face centre offset / frame height
    sharpness_roi_px: int = 200         # Laplacian variance on the face resized to this square
    sharpness_min: float = 100.0
    mean_min: float = 70.0
    mean_max: float = 190.0
    clip_low: int = 5
    clip_high: int = 250
    clipped_max: float = 0.05           # share of face pixels at or beyond clip_low/clip_high
    std_min: float = 30.0
    dark_scene_mean: float = 45.0       # no face found and the whole frame this dark: say "too dark"
    bright_scene_mean: float = 225.0

    def __post_init__(self):
        problems = []
        if not 160 <= self.work_width <= 1920:
            problems.append("work_width must be 160..1920")
        if not 1.01 <= self.scale_factor <= 2.0:
            problems.append("scale_factor must be 1.01..2.0")
        if self.min_neighbors < 3:
            problems.append("min_neighbors must be >= 3")
        if not 0 < self.size_ratio_min < self.size_ratio_max <= 1:
            problems.append("need 0 < size_ratio_min < size_ratio_max <= 1")
        if not 0 < self.mean_min < self.mean_max < 255:
            problems.append("need 0 < mean_min < mean_max < 255")
        if not 0 <= self.clipped_max <= 1:
            problems.append("clipped_max must be 0..1")
        if self.sharpness_roi_px < 32:
            problems.append("sharpness_roi_px must be >= 32")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class QualityReport:
    """Every measured figure of one frame, the first failing gate and what to tell the customer."""
    code: Gate
    guidance_zh: str
    faces: int
    frame_width: int
    frame_height: int
    face_box: Optional[Box] = None      # in the frame's own pixels
    size_ratio: Optional[float] = None
    centre_dx: Optional[float] = None   # signed offset of the face centre, fraction of frame width
    centre_dy: Optional[float] = None   # ... of frame height
    mean: Optional[float] = None        # of the face (or of the whole frame when no face)
    std: Optional[float] = None
    clipped: Optional[float] = None
    sharpness: Optional[float] = None
    elapsed_ms: float = 0.0
    phase: str = "quality"              # "quality" or "liveness" (then guidance_zh is the challenge prompt)

    @property
    def ok(self) -> bool:
        return self.code is Gate.OK

    @property
    def description(self) -> str:
        """English, for the log."""
        figs = ", ".join(f"{k} {v:.3g}" for k, v in (("size", self.size_ratio), ("dx", self.centre_dx),
                                                      ("dy", self.centre_dy), ("mean", self.mean),
                                                      ("std", self.std), ("clipped", self.clipped),
                                                      ("sharpness", self.sharpness)) if v is not None)
        return f"{GUIDANCE_EN[self.code]} (faces {self.faces}{', ' + figs if figs else ''})"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["code"] = self.code.value
        d["ok"] = self.ok
        return d


@dataclass
class Analysis:
    """A report plus what liveness needs: the equalised working image and the face in its pixels."""
    report: QualityReport
    gray: np.ndarray
    face_work: Optional[Box]
    scale: float                        # working pixels per frame pixel
    faces_work: list = field(default_factory=list)


def haar_path(name: str) -> Path:
    import cv2
    import cv2.data  # noqa: F401
    return Path(cv2.data.haarcascades) / name


def load_cascade(name: str):
    """A loaded CascadeClassifier, or CameraSetupError naming what is missing."""
    try:
        import cv2
    except ImportError as exc:
        raise CameraSetupError(f"OpenCV (cv2) not installed: {exc}") from exc
    try:
        import cv2.data  # noqa: F401  (a submodule: not always loaded by `import cv2`)
    except ImportError:
        pass
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        raise CameraSetupError("this OpenCV build has no Haar cascades (need opencv-python-headless<5)")
    path = haar_path(name)
    if not path.is_file():
        raise CameraSetupError(f"Haar cascade file missing: {path}")
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise CameraSetupError(f"Haar cascade file unreadable: {path}")
    return cascade


class FaceQualityChecker:
    """Checks frames against the gates. Not thread-safe (one per thread): OpenCV cascades keep state."""

    def __init__(self, thresholds: QualityThresholds = QualityThresholds()):
        self.t = thresholds
        self._cascade = load_cascade(thresholds.cascade)

    def check(self, frame: np.ndarray) -> QualityReport:
        return self.analyse(frame).report

    def analyse(self, frame: np.ndarray) -> Analysis:
        import cv2
        t0 = time.perf_counter()
        t = self.t
        if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or frame.size == 0:
            raise ValueError("frame must be a non-empty grayscale or BGR image")
        H, W = frame.shape[:2]
        scale = min(1.0, t.work_width / W)
        small = frame if scale == 1.0 else cv2.resize(frame, (round(W * scale), round(H * scale)),
                                                      interpolation=cv2.INTER_AREA)
        raw = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(raw)
        h_work = gray.shape[0]
        side = max(t.min_face_px, int(t.min_face_height_ratio * h_work))
        found = self._cascade.detectMultiScale(gray, scaleFactor=t.scale_factor, minNeighbors=t.min_neighbors,
                                               minSize=(side, side), flags=cv2.CASCADE_SCALE_IMAGE)
        faces = [tuple(int(v) for v in f) for f in found]
        base = dict(faces=len(faces), frame_width=W, frame_height=H)

        def done(code: Gate, face_work: Optional[Box] = None, **figs) -> Analysis:
            figs = {k: (round(float(v), 4) if v is not None else None) for k, v in figs.items()}
            box = None
            if face_work is not None:
                box = tuple(int(round(v / scale)) for v in face_work)
            rep = QualityReport(code, GUIDANCE_ZH[code], face_box=box,
                                elapsed_ms=round((time.perf_counter() - t0) * 1000, 2), **base, **figs)
            return Analysis(rep, gray, face_work, scale, faces)

        if not faces:
            mean = float(raw.mean())
            code = Gate.TOO_DARK if mean < t.dark_scene_mean else \
                Gate.TOO_BRIGHT if mean > t.bright_scene_mean else Gate.NO_FACE
            return done(code, mean=mean)
        if len(faces) > 1:
            return done(Gate.MULTIPLE_FACES)
        x, y, w, h = faces[0]
        ww = gray.shape[1]
        size_ratio = w / ww
        dx = (x + w / 2 - ww / 2) / ww
        dy = (y + h / 2 - h_work / 2) / h_work
        geo = dict(size_ratio=size_ratio, centre_dx=dx, centre_dy=dy)
        if size_ratio < t.size_ratio_min:
            return done(Gate.TOO_FAR, faces[0], **geo)
        if size_ratio > t.size_ratio_max:
            return done(Gate.TOO_CLOSE, faces[0], **geo)
        if abs(dx) > t.centre_tolerance_x or abs(dy) > t.centre_tolerance_y:
            return done(Gate.OFF_CENTRE, faces[0], **geo)
        roi = raw[y:y + h, x:x + w]
        mean, std = cv2.meanStdDev(roi)
        mean, std = float(mean[0][0]), float(std[0][0])
        low = int(np.count_nonzero(roi <= t.clip_low))
        high = int(np.count_nonzero(roi >= t.clip_high))
        clipped = (low + high) / roi.size
        expo = dict(geo, mean=mean, std=std, clipped=clipped)
        if mean < t.mean_min or (clipped > t.clipped_max and low >= high):
            return done(Gate.TOO_DARK, faces[0], **expo)
        if mean > t.mean_max or clipped > t.clipped_max:
            return done(Gate.TOO_BRIGHT, faces[0], **expo)
        if std < t.std_min:
            return done(Gate.LOW_CONTRAST, faces[0], **expo)
        n = t.sharpness_roi_px
        sharp_roi = cv2.resize(roi, (n, n), interpolation=cv2.INTER_AREA if w >= n else cv2.INTER_LINEAR)
        sharpness = float(cv2.Laplacian(sharp_roi, cv2.CV_64F).var())
        if sharpness < t.sharpness_min:
            return done(Gate.BLURRY, faces[0], **expo, sharpness=sharpness)
        return done(Gate.OK, faces[0], **expo, sharpness=sharpness)
