"""Camera frame sources and the grabber thread.

A source is a device index (USB/V4L2 camera), a video file, or a stream URL, all opened with
cv2.VideoCapture. The `FrameGrabber` thread owns the capture: it reads continuously, keeps only the latest
frame (older ones are overwritten with zeros and dropped), and reopens the source when it disappears, so a
camera that is unplugged and plugged back comes online by itself. Callers never touch the capture: they
wait for a newer frame with a timeout and get their own copy.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Union

import numpy as np

log = logging.getLogger(__name__)

SourceSpec = Union[int, str]


class SourceUnavailable(Exception):
    """The source cannot be opened now (no such device, file missing, stream down). English text."""


class Capture(Protocol):
    pace_fps: Optional[float]     # deliver frames at this rate (files); None: read() itself waits (live)

    def read(self) -> tuple[bool, Optional[np.ndarray]]: ...

    def rewind(self) -> bool: ...

    def release(self) -> None: ...


def parse_source(text: SourceSpec) -> SourceSpec:
    """'0' -> 0 (device index); anything else stays a path or URL."""
    if isinstance(text, int):
        return text
    text = text.strip()
    if not text:
        raise ValueError("empty camera source")
    return int(text) if text.isdigit() else text


def describe_source(source: SourceSpec) -> str:
    if isinstance(source, int):
        return f"camera device {source} (/dev/video{source})"
    if "://" in source:
        scheme, rest = source.split("://", 1)
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]     # never log stream credentials
        return f"stream {scheme}://{host}/..."
    return f"video file {source}"


class CvCapture:
    """cv2.VideoCapture behind the Capture protocol."""

    OPEN_TIMEOUT_MS = 5000
    READ_TIMEOUT_MS = 5000

    def __init__(self, source: SourceSpec, width: int = 0, height: int = 0, loop: bool = True):
        import cv2
        self.source = source
        self.loop = loop
        self.pace_fps: Optional[float] = None
        if isinstance(source, int):
            if os.name == "posix" and not os.path.exists(f"/dev/video{source}"):
                raise SourceUnavailable(f"no /dev/video{source}")
            cap = cv2.VideoCapture(source)
            if cap.isOpened() and width and height:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            self._is_file = False
        elif "://" in source:
            cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.OPEN_TIMEOUT_MS,
                                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.READ_TIMEOUT_MS])
            self._is_file = False
        else:
            if not os.path.isfile(source):
                raise SourceUnavailable(f"video file not found: {source}")
            cap = cv2.VideoCapture(source)
            self._is_file = True
            fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0
            self.pace_fps = fps if 1 <= fps <= 120 else 15.0   # play a file at its own speed
        if not cap.isOpened():
            cap.release()
            raise SourceUnavailable(f"cannot open {describe_source(source)}")
        self._cap = cap

    def read(self) -> tuple[bool, Optional[np.ndarray]]:
        return self._cap.read()

    def rewind(self) -> bool:
        import cv2
        if not (self._is_file and self.loop) or not os.path.isfile(self.source):
            return False
        return bool(self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0))

    def release(self) -> None:
        self._cap.release()


@dataclass
class Frame:
    image: np.ndarray       # BGR, the caller's own copy
    seq: int                # increases by one per frame grabbed
    at: float               # time.monotonic() when grabbed


StateListener = Callable[[bool, str], None]     # (online, English detail)


class FrameGrabber:
    """Background reader keeping only the newest frame. Never blocks its callers beyond their timeout."""

    def __init__(self, opener: Callable[[], Capture], name: str = "camera", on_state: Optional[StateListener] = None,
                 reopen_interval: float = 0.5, max_reopen_interval: float = 3.0, read_fail_limit: int = 3):
        self.name = name
        self._opener = opener
        self._on_state = on_state
        self.reopen_interval = reopen_interval
        self.max_reopen_interval = max_reopen_interval
        self.read_fail_limit = read_fail_limit
        self._cond = threading.Condition()
        self._latest: Optional[np.ndarray] = None
        self._seq = 0
        self._at = 0.0
        self._stop = threading.Event()
        self._tried = threading.Event()     # set once the first open attempt has finished
        self._online: Optional[bool] = None
        self.detail = "not started"
        self._times: list[float] = []
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "FrameGrabber":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"grabber-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self, wait: float = 2.0) -> None:
        """Stop reading and wipe the last frame. A capture stuck inside a driver read is left to its
        daemon thread after `wait` seconds rather than blocking the caller."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)
        with self._cond:
            self._drop_latest()

    @property
    def online(self) -> bool:
        return bool(self._online)

    @property
    def tried(self) -> bool:
        """True once the first attempt to open the source has finished (either way)."""
        return self._tried.is_set()

    @property
    def seq(self) -> int:
        """The number of the newest frame grabbed so far."""
        return self._seq

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def fps(self) -> float:
        """Frames per second over the last frames grabbed (0 when unknown)."""
        with self._cond:
            t = list(self._times)
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0

    # -- for callers -----------------------------------------------------------------------------------------
    def wait_frame(self, after_seq: int = 0, timeout: float = 1.0) -> Optional[Frame]:
        """A copy of the first frame newer than after_seq, or None when none came within timeout."""
        end = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._seq <= after_seq or self._latest is None:
                left = end - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            return Frame(self._latest.copy(), self._seq, self._at)

    def latest(self) -> Optional[Frame]:
        with self._cond:
            return None if self._latest is None else Frame(self._latest.copy(), self._seq, self._at)

    def wait_online(self, timeout: float) -> bool:
        """True when a frame is (or becomes, within timeout) available; False at once when the first open
        attempt has already failed (no waiting on a camera that is not there)."""
        end = time.monotonic() + max(0.0, timeout)
        self._tried.wait(timeout)
        if not self._online:
            return False
        frame = self.wait_frame(0, max(0.0, end - time.monotonic()))
        if frame is None:
            return False
        frame.image.fill(0)
        return True

    # -- the thread ------------------------------------------------------------------------------------------
    def _set_state(self, online: bool, detail: str) -> None:
        changed = online != self._online
        self._online, self.detail = online, detail
        if changed:
            (log.info if online or self._stop.is_set() else log.warning)("%s source: %s", self.name, detail)
            if self._on_state:
                try:
                    self._on_state(online, detail)
                except Exception:
                    log.exception("camera %s: state listener failed", self.name)

    def _drop_latest(self) -> None:
        if self._latest is not None:
            self._latest.fill(0)        # no customer image lingers in memory longer than needed
            self._latest = None

    def _store(self, image: np.ndarray) -> None:
        now = time.monotonic()
        with self._cond:
            self._drop_latest()
            self._latest = image
            self._seq += 1
            self._at = now
            self._times.append(now)
            del self._times[:-30]
            self._cond.notify_all()

    def _run(self) -> None:
        cap: Optional[Capture] = None
        backoff = self.reopen_interval
        fails = 0
        next_at = 0.0
        while not self._stop.is_set():
            if cap is None:
                try:
                    cap = self._opener()
                except Exception as exc:       # SourceUnavailable, or a driver error: retry later
                    self._set_state(False, str(exc) or exc.__class__.__name__)
                    self._tried.set()
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_reopen_interval)
                    continue
                backoff, fails, next_at = self.reopen_interval, 0, time.monotonic()
            try:
                ok, image = cap.read()
            except Exception as exc:
                log.warning("camera %s: read failed: %s", self.name, exc)
                ok, image = False, None
            if not ok or image is None or image.size == 0:
                fails += 1
                if fails <= self.read_fail_limit and cap.rewind():
                    continue
                if fails >= self.read_fail_limit:
                    self._close(cap, "source stopped delivering frames")
                    self._tried.set()
                    cap = None
                else:
                    self._stop.wait(0.05)
                continue
            fails = 0
            self._store(image)
            if not self._online:
                self._set_state(True, "frames arriving")
                self._tried.set()
            pace = getattr(cap, "pace_fps", None)
            if pace:
                next_at = max(next_at + 1.0 / pace, time.monotonic() - 1.0 / pace)
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        if cap is not None:
            self._close(cap, "stopped")

    def _close(self, cap: Capture, why: str) -> None:
        try:
            cap.release()
        except Exception:
            pass
        with self._cond:
            self._drop_latest()
        self._set_state(False, why)
