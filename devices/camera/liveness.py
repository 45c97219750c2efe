"""Liveness challenges: prove a moving person is in front of the camera, not a printed photo.

`LivenessChallenge` is the interface a certified liveness SDK replaces. The two simple implementations here
(blink, head turn) follow reference/device-protocols.md §5. THEY ARE NOT CERTIFIED LIVENESS: a replayed
video defeats them. They only stop the crudest attack (a photo held up to the camera) and give the customer
the familiar prompt; the authoritative check is the center's real-person service (实人认证).

A challenge is fed one analysed frame at a time: the equalised grayscale working image and the single face
box in it (None when there is no single face). It answers PENDING, PASSED or FAILED.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import Optional

import numpy as np

from devices.camera.quality import Box, load_cascade


class LivenessStatus(str, Enum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class LivenessResult:
    kind: str
    passed: bool
    certified: bool
    frames: int
    detail: str          # English, for the log

    def as_dict(self) -> dict:
        return {"kind": self.kind, "passed": self.passed, "certified": self.certified, "frames": self.frames,
                "detail": self.detail}


class LivenessChallenge(ABC):
    """One prompt the customer must act on. Replace with a certified SDK's adapter in production."""

    kind: str = "liveness"
    prompt_zh: str = ""
    certified: bool = False

    @abstractmethod
    def reset(self) -> None:
        """Start again (a new attempt)."""

    @abstractmethod
    def feed(self, gray: np.ndarray, face: Optional[Box]) -> LivenessStatus:
        """Take one frame; face is the single face box in `gray` pixels, or None."""

    @abstractmethod
    def result(self) -> LivenessResult:
        """What happened so far."""


class BlinkChallenge(LivenessChallenge):
    """Eyes seen for >= min_open frames, then not seen for 1..max_closed frames, then seen again.

    Eyes are looked for with haarcascade_eye_tree_eyeglasses on the top 55 % of the face. Open eyes are found,
    closed ones usually are not. A face lost for a moment while the eyes are shut counts as "eyes not seen"
    (the face detector sometimes drops a face with closed eyes); a face lost while the eyes are open restarts."""

    kind = "blink"
    prompt_zh = "请眨眨眼"
    ROI_WIDTH = 96

    def __init__(self, min_open: int = 3, max_closed: int = 4, eye_cascade: str = "haarcascade_eye_tree_eyeglasses.xml"):
        self.min_open = min_open
        self.max_closed = max_closed
        self._eyes = load_cascade(eye_cascade)
        self.reset()

    def reset(self) -> None:
        self._open_run = 0
        self._closed_run = 0
        self._stage = "open"      # open -> closed -> passed
        self._frames = 0
        self._blinks_too_long = 0

    def eyes_seen(self, gray: np.ndarray, face: Box) -> bool:
        import cv2
        x, y, w, h = face
        roi = gray[y:y + int(h * 0.55), x:x + w]
        if w > self.ROI_WIDTH:          # eyes need no more pixels than this; keeps a check ~5x cheaper
            roi = cv2.resize(roi, (self.ROI_WIDTH, round(roi.shape[0] * self.ROI_WIDTH / w)),
                             interpolation=cv2.INTER_AREA)
        side = max(8, roi.shape[1] // 8)
        big = max(side + 1, roi.shape[1] // 3)
        return len(self._eyes.detectMultiScale(roi, 1.1, 3, minSize=(side, side), maxSize=(big, big))) > 0

    def feed(self, gray: np.ndarray, face: Optional[Box]) -> LivenessStatus:
        if self._stage == "passed":
            return LivenessStatus.PASSED
        self._frames += 1
        seen = face is not None and self.eyes_seen(gray, face)
        if self._stage == "open":
            if face is None:
                if self._open_run >= self.min_open:     # face dropped as the eyes shut
                    self._stage, self._closed_run = "closed", 1
                else:
                    self._open_run = 0
            elif seen:
                self._open_run += 1
            elif self._open_run >= self.min_open:
                self._stage, self._closed_run = "closed", 1
            else:
                self._open_run = 0
        elif self._stage == "closed":
            if seen:
                self._stage = "passed"
                return LivenessStatus.PASSED
            self._closed_run += 1
            if self._closed_run > self.max_closed:       # eyes shut too long (or looking away): not a blink
                self._blinks_too_long += 1
                self._stage, self._open_run, self._closed_run = "open", 0, 0
        return LivenessStatus.PENDING

    def result(self) -> LivenessResult:
        passed = self._stage == "passed"
        detail = "blink seen" if passed else \
            f"no blink seen (open run {self._open_run}, closed too long {self._blinks_too_long}x)"
        return LivenessResult(self.kind, passed, self.certified, self._frames, detail)


class HeadTurnChallenge(LivenessChallenge):
    """The face centre moves sideways by more than `min_shift` face widths and comes back, tracked in every
    frame. The prompt names a direction; both directions are accepted because a camera may be mirrored."""

    kind = "turn_head"

    def __init__(self, direction: str = "left", min_shift: float = 0.20, back_within: float = 0.08,
                 baseline_frames: int = 3):
        if direction not in ("left", "right"):
            raise ValueError("direction must be 'left' or 'right'")
        self.direction = direction
        self.prompt_zh = "请向左转头，再转回来" if direction == "left" else "请向右转头，再转回来"
        self.min_shift = min_shift
        self.back_within = back_within
        self.baseline_frames = baseline_frames
        self.reset()

    def reset(self) -> None:
        self._baseline: list[float] = []
        self._stage = "baseline"      # baseline -> toward -> away -> passed
        self._base = 0.0
        self._frames = 0
        self._max_shift = 0.0

    def feed(self, gray: np.ndarray, face: Optional[Box]) -> LivenessStatus:
        if self._stage == "passed":
            return LivenessStatus.PASSED
        self._frames += 1
        if face is None:              # the face must be tracked all the way: start over
            self._baseline, self._stage = [], "baseline"
            return LivenessStatus.PENDING
        x, _, w, _ = face
        cx = x + w / 2
        if self._stage == "baseline":
            self._baseline.append(cx)
            if len(self._baseline) >= self.baseline_frames:   # where the face rests, fixed from here on
                self._base = float(np.median(self._baseline))
                self._stage = "toward"
            return LivenessStatus.PENDING
        shift = abs(cx - self._base) / w
        self._max_shift = max(self._max_shift, shift)
        if self._stage == "toward":
            if shift > self.min_shift:
                self._stage = "away"
            return LivenessStatus.PENDING
        if shift < self.back_within:
            self._stage = "passed"
            return LivenessStatus.PASSED
        return LivenessStatus.PENDING

    def result(self) -> LivenessResult:
        passed = self._stage == "passed"
        detail = f"head turn {'seen' if passed else 'not completed'} (max shift {self._max_shift:.2f} face widths)"
        return LivenessResult(self.kind, passed, self.certified, self._frames, detail)


def random_challenge(rng: Optional[random.Random] = None) -> LivenessChallenge:
    """A randomised prompt (blink, turn left, turn right) so a prepared recording is less likely to fit."""
    rng = rng or random.SystemRandom()
    pick = rng.choice(("blink", "left", "right"))
    return BlinkChallenge() if pick == "blink" else HeadTurnChallenge(pick)


def make_challenge(kind: str, rng: Optional[random.Random] = None) -> LivenessChallenge:
    """'blink', 'turn_head' (direction random), or 'random'."""
    if kind == "blink":
        return BlinkChallenge()
    if kind == "turn_head":
        return HeadTurnChallenge((rng or random.SystemRandom()).choice(("left", "right")))
    if kind == "random":
        return random_challenge(rng)
    raise ValueError(f"unknown liveness challenge {kind!r} (blink, turn_head, random)")
