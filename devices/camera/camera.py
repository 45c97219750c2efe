"""The kiosk camera: face capture with quality gates, optional liveness, portrait JPEG for 实人认证.

    camera = build_opencv_camera(settings)            # or Camera(lambda: CvCapture("clip.avi"), "clip.avi")
    handle = camera.capture_face(timeout=20, liveness="random", on_progress=show_guidance)
    completion = handle.result()                      # never on the Qt thread
    if completion.ok:
        with completion.value as face:                # FaceCapture; wiped when the block ends
            send(face.jpeg)

Device work runs on the device worker; frames come from the grabber thread (source.py). Every customer image
this module holds (frames, candidates, JPEG bytes) is overwritten with zeros when it is no longer needed.
Nothing is written to disk unless the caller asks (`out_path` / FaceCapture.save).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from devices.base import (Canceled, Completion, CompletionCode, Device, DeviceError, DeviceStatus, Usability,
                          CommandHandle, CancelToken)
from devices.camera.liveness import LivenessChallenge, LivenessResult, LivenessStatus, make_challenge
from devices.camera.quality import (GUIDANCE_ZH, CameraSetupError, FaceQualityChecker, Gate, QualityReport,
                                    QualityThresholds, load_cascade)
from devices.camera.source import (Capture, CvCapture, Frame, FrameGrabber, SourceSpec, describe_source,
                                   parse_source)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[QualityReport], None]
PreviewCallback = Callable[[np.ndarray], None]

MSG_NO_DEVICE = "摄像头未连接，请联系工作人员"
MSG_NOT_READY = "摄像头未就绪，请联系工作人员"
MSG_NO_FRAME = "摄像头无画面，请联系工作人员"
MSG_LIVENESS = "未完成动作检测，请按提示操作或联系工作人员办理"
MSG_JPEG = "照片生成失败，请重试"


def wipe(buf) -> None:
    """Overwrite an image or byte buffer with zeros (best effort: read-only buffers are left alone)."""
    if isinstance(buf, np.ndarray):
        if buf.flags.writeable:
            buf.fill(0)
    elif isinstance(buf, bytearray):
        memoryview(buf)[:] = bytes(len(buf))


@dataclass(frozen=True)
class CaptureOptions:
    consecutive_passes: int = 3         # gates must pass this many frames in a row; the best of them is kept
    jpeg_width: int = 720               # portrait output for real-person check services
    jpeg_height: int = 960
    jpeg_quality: int = 90
    jpeg_min_quality: int = 70          # lowered in steps of 5 only if the file would exceed jpeg_max_bytes
    jpeg_max_bytes: int = 300_000
    face_width_in_photo: float = 0.5    # face width / photo width wanted in the portrait crop
    no_frame_s: float = 3.0             # no frame this long -> deviceNotReady
    recent_reports: int = 15            # the timeout's gate code is the most common among these

    def __post_init__(self):
        if self.consecutive_passes < 1:
            raise ValueError("consecutive_passes must be >= 1")
        if self.jpeg_height <= self.jpeg_width:
            raise ValueError("the photo must be portrait (jpeg_height > jpeg_width)")
        if not 50 <= self.jpeg_min_quality <= self.jpeg_quality <= 100:
            raise ValueError("need 50 <= jpeg_min_quality <= jpeg_quality <= 100")


@dataclass
class FaceCapture:
    """The captured face: a portrait JPEG in memory, the quality figures of its frame and the liveness result.
    Call wipe() (or use `with`) when done; save() only when the law or the customer's consent requires it."""
    jpeg: bytearray
    width: int
    height: int
    quality: int
    face_width_px: int                  # face width in the JPEG
    report: QualityReport
    liveness: Optional[LivenessResult] = None
    frames_checked: int = 0

    @property
    def size_bytes(self) -> int:
        return len(self.jpeg)

    def wipe(self) -> None:
        wipe(self.jpeg)
        self.jpeg = bytearray()

    def save(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.write_bytes(bytes(self.jpeg))
        return path

    def summary(self) -> dict:
        """Figures only (no image), for logs, the CLI and the journal."""
        return {"width": self.width, "height": self.height, "jpeg_quality": self.quality,
                "size_bytes": self.size_bytes, "face_width_px": self.face_width_px,
                "frames_checked": self.frames_checked, "quality": self.report.as_dict(),
                "liveness": self.liveness.as_dict() if self.liveness else None}

    def __enter__(self) -> "FaceCapture":
        return self

    def __exit__(self, *exc) -> None:
        self.wipe()


def portrait_crop_box(frame_w: int, frame_h: int, face: tuple[int, int, int, int], width_share: float,
                      aspect: float) -> tuple[int, int, int, int]:
    """A portrait rectangle (w/h = aspect) around the face, the face about `width_share` of its width,
    eyes in the upper half; as large as the frame allows. May reach outside the frame (then padded)."""
    x, y, w, h = face
    cw = w / width_share
    ch = cw / aspect
    if ch > frame_h:                    # a 4:3 landscape camera: take the full height
        ch = float(frame_h)
        cw = max(ch * aspect, w * 1.1)
        ch = cw / aspect
    cx, cy = x + w / 2, y + h / 2
    left = min(max(cx - cw / 2, 0), max(frame_w - cw, 0)) if cw <= frame_w else cx - cw / 2
    top = min(max(cy - ch * 0.45, 0), max(frame_h - ch, 0)) if ch <= frame_h else cy - ch * 0.45
    return int(round(left)), int(round(top)), int(round(cw)), int(round(ch))


def portrait_jpeg(frame: np.ndarray, face: tuple[int, int, int, int], opts: CaptureOptions) -> tuple[bytearray, int, int]:
    """(JPEG bytes, quality used, face width in the photo) of a portrait crop around the face."""
    import cv2
    H, W = frame.shape[:2]
    aspect = opts.jpeg_width / opts.jpeg_height
    left, top, cw, ch = portrait_crop_box(W, H, face, opts.face_width_in_photo, aspect)
    pad_l, pad_t = max(0, -left), max(0, -top)
    pad_r, pad_b = max(0, left + cw - W), max(0, top + ch - H)
    src = frame
    if pad_l or pad_t or pad_r or pad_b:
        src = cv2.copyMakeBorder(frame, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    crop = src[top + pad_t:top + pad_t + ch, left + pad_l:left + pad_l + cw]
    interp = cv2.INTER_AREA if cw > opts.jpeg_width else cv2.INTER_CUBIC
    photo = cv2.resize(crop, (opts.jpeg_width, opts.jpeg_height), interpolation=interp)
    if src is not frame:
        wipe(src)
    face_px = int(round(face[2] * opts.jpeg_width / cw))
    try:
        quality = opts.jpeg_quality
        while True:
            ok, enc = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise DeviceError(CompletionCode.INTERNAL_ERROR, "JPEG_ENCODE", "JPEG encoding failed", MSG_JPEG)
            if enc.size <= opts.jpeg_max_bytes or quality - 5 < opts.jpeg_min_quality:
                break
            wipe(enc)
            quality -= 5
        if enc.size > opts.jpeg_max_bytes:
            wipe(enc)
            raise DeviceError(CompletionCode.INTERNAL_ERROR, "JPEG_TOO_LARGE",
                              f"portrait JPEG over {opts.jpeg_max_bytes} bytes even at quality {quality}", MSG_JPEG)
        data = bytearray(enc.tobytes())
        wipe(enc)
        return data, quality, face_px
    finally:
        wipe(photo)


class _UsabilityDescriptor:
    """Camera.is_usable() checks OpenCV and the Haar files; camera.is_usable() also checks that the source
    delivers frames (the registry calls it on the built device)."""

    def __get__(self, obj, owner):
        if obj is None:
            return owner.library_usable
        return obj._instance_usable


class Camera(Device):
    role = "camera"
    capabilities = frozenset({"preview", "capture_face", "liveness", "selftest"})
    OPEN_WAIT_S = 3.0

    is_usable = _UsabilityDescriptor()

    def __init__(self, opener: Callable[[], Capture], source_label: str = "camera",
                 thresholds: QualityThresholds = QualityThresholds(), options: CaptureOptions = CaptureOptions(),
                 role: Optional[str] = None, reopen_interval: float = 0.5):
        super().__init__(role)
        self.source_label = source_label
        self.thresholds = thresholds
        self.options = options
        self._lock = threading.Lock()
        self._online = False
        self._busy = False
        self._detail = "starting"
        self._checker: Optional[FaceQualityChecker] = None     # built on the worker thread, used only there
        self._preview: list[tuple[PreviewCallback, float]] = []
        self._preview_thread: Optional[threading.Thread] = None
        self._closed = threading.Event()
        self.status.update(device=DeviceStatus.OFFLINE, detail="starting")
        try:        # load OpenCV once on this thread before the grabber and the worker use it
            import cv2  # noqa: F401
            import cv2.data  # noqa: F401
        except ImportError:
            pass    # is_usable() names what is missing
        self.grabber = FrameGrabber(opener, name=self.role, on_state=self._on_source_state,
                                    reopen_interval=reopen_interval).start()

    # -- status ----------------------------------------------------------------------------------------------
    def _on_source_state(self, online: bool, detail: str) -> None:
        with self._lock:
            self._online, self._detail = online, detail
        self._publish()

    def _publish(self) -> None:
        with self._lock:
            if self._closed.is_set():
                dev = DeviceStatus.OFFLINE
            elif not self._online:
                dev = DeviceStatus.NO_DEVICE
            else:
                dev = DeviceStatus.BUSY if self._busy else DeviceStatus.ONLINE
            detail = f"{self.source_label}: {self._detail}"
        self.status.update(device=dev, detail=detail)

    def _set_busy(self, busy: bool) -> None:
        with self._lock:
            self._busy = busy
        self._publish()

    # -- usability / selftest --------------------------------------------------------------------------------
    @classmethod
    def library_usable(cls) -> Usability:
        try:
            load_cascade(QualityThresholds().cascade)
            load_cascade("haarcascade_eye_tree_eyeglasses.xml")
        except CameraSetupError as exc:
            return Usability(False, str(exc))
        return Usability(True)

    def _instance_usable(self) -> Usability:
        lib = self.library_usable()
        if not lib.ok:
            return lib
        if not self.grabber.wait_online(self.OPEN_WAIT_S):
            return Usability(False, f"{self.source_label}: {self.grabber.detail}")
        return Usability(True)

    def selftest(self) -> Completion:
        return self.worker.call("selftest", self._selftest, timeout=10)

    def _selftest(self, token: CancelToken) -> Completion:
        lib = self.library_usable()
        if not lib.ok:
            raise DeviceError(CompletionCode.DEVICE_NOT_READY, "NO_OPENCV", lib.missing, MSG_NOT_READY)
        first = None
        if self.grabber.wait_online(min(self.OPEN_WAIT_S, token.remaining or self.OPEN_WAIT_S)):
            first = self.grabber.wait_frame(0, 1.0)
        if first is None:
            raise DeviceError(CompletionCode.DEVICE_NOT_READY, "NO_DEVICE",
                              f"{self.source_label}: {self.grabber.detail}", MSG_NO_DEVICE)
        h, w = first.image.shape[:2]
        wipe(first.image)
        seq, count, t0 = first.seq, 0, time.monotonic()
        while time.monotonic() - t0 < 1.0:              # count frames for one second
            token.check()
            f = self.grabber.wait_frame(seq, 0.5)
            if f is None:
                break
            seq = f.seq
            count += 1
            wipe(f.image)
        fps = round(count / max(1e-6, time.monotonic() - t0), 1)
        if count == 0:
            raise DeviceError(CompletionCode.HARDWARE_ERROR, "NO_FRAME",
                              f"{self.source_label}: one frame, then none for a second", MSG_NO_FRAME)
        return Completion(CompletionCode.SUCCESS, {"width": w, "height": h, "fps": fps},
                          description=f"{self.source_label}: {w}x{h} at {fps} fps")

    # -- preview ---------------------------------------------------------------------------------------------
    def add_preview_listener(self, callback: PreviewCallback, fps: float = 15.0) -> Callable[[], None]:
        """callback(frame) with a fresh BGR numpy array per frame, at most `fps` times a second, on a
        background thread (screens/ converts and hands it to Qt). Returns the unsubscribe function."""
        entry = (callback, 1.0 / max(1.0, fps))
        with self._lock:
            self._preview.append(entry)
            if self._preview_thread is None or not self._preview_thread.is_alive():
                self._preview_thread = threading.Thread(target=self._preview_loop, name="camera-preview",
                                                        daemon=True)
                self._preview_thread.start()

        def unsubscribe():
            with self._lock:
                if entry in self._preview:
                    self._preview.remove(entry)
        return unsubscribe

    def _preview_loop(self) -> None:
        seq, last = 0, collections.defaultdict(float)
        while not self._closed.is_set():
            with self._lock:
                listeners = list(self._preview)
            if not listeners:
                return
            f = self.grabber.wait_frame(seq, 0.5)
            if f is None:
                continue
            seq = f.seq
            now = time.monotonic()
            for cb, period in listeners:
                if now - last[id(cb)] < period * 0.9:
                    continue
                last[id(cb)] = now
                try:
                    cb(f.image.copy())
                except Exception:
                    log.exception("camera preview listener failed")
            wipe(f.image)

    # -- face capture ----------------------------------------------------------------------------------------
    def capture_face(self, timeout: float = 20.0, liveness: Union[None, str, LivenessChallenge] = None,
                     on_progress: Optional[ProgressCallback] = None,
                     out_path: Union[None, str, Path] = None) -> CommandHandle:
        """Start a capture on the device worker. The Completion's value is a FaceCapture on success.

        liveness: None (no challenge), "blink", "turn_head", "random", or a LivenessChallenge (e.g. a certified
        SDK's adapter). on_progress gets every QualityReport while trying (on the worker thread).
        On timeout the Completion is TIMEOUT with error_code = the gate that kept failing (e.g. FACE_TOO_DARK)
        or LIVENESS_NOT_PASSED, message_zh = what to tell the customer, value = the last QualityReport."""
        challenge = make_challenge(liveness) if isinstance(liveness, str) else liveness
        return self.worker.submit("capture_face",
                                  lambda token: self._capture(token, challenge, on_progress, out_path), timeout)

    def _emit(self, cb: Optional[ProgressCallback], report: QualityReport) -> None:
        if cb:
            try:
                cb(report)
            except Exception:
                log.exception("camera progress listener failed")

    def _capture(self, token: CancelToken, challenge: Optional[LivenessChallenge],
                 on_progress: Optional[ProgressCallback], out_path) -> Completion:
        if self._checker is None:
            try:
                self._checker = FaceQualityChecker(self.thresholds)
            except CameraSetupError as exc:
                raise DeviceError(CompletionCode.DEVICE_NOT_READY, "NO_OPENCV", str(exc), MSG_NOT_READY)
        if challenge is not None:
            challenge.reset()
        self._set_busy(True)
        streak: list[tuple[float, Frame, QualityReport]] = []
        recent: collections.deque = collections.deque(maxlen=self.options.recent_reports)
        phase = "quality"
        last_report: Optional[QualityReport] = None
        seq, checked, last_frame_at = self.grabber.seq, 0, time.monotonic()
        try:
            while True:
                if token.stopped:
                    if token.remaining is None or token.remaining > 0:
                        raise Canceled()
                    return self._timed_out(phase, recent, last_report, challenge, checked)
                wait = 0.25 if token.remaining is None else min(0.25, token.remaining)
                frame = self.grabber.wait_frame(seq, wait)
                if frame is None:
                    if time.monotonic() - last_frame_at > self.options.no_frame_s or \
                            (self.grabber.tried and not self.grabber.online and time.monotonic() - last_frame_at > 0.5):
                        online = self.grabber.online
                        raise DeviceError(CompletionCode.DEVICE_NOT_READY, "NO_FRAME" if online else "NO_DEVICE",
                                          f"{self.source_label}: {self.grabber.detail}",
                                          MSG_NO_FRAME if online else MSG_NO_DEVICE)
                    continue
                seq, last_frame_at = frame.seq, time.monotonic()
                checked += 1
                analysis = self._checker.analyse(frame.image)
                report = last_report = analysis.report
                gray, analysis.gray = analysis.gray, None
                if phase == "liveness":
                    single = analysis.face_work if report.faces == 1 else None
                    status = challenge.feed(gray, single)
                    guidance = challenge.prompt_zh if report.faces == 1 else report.guidance_zh
                    report = last_report = replace(report, phase="liveness", guidance_zh=guidance)
                    recent.append(report.code)
                    self._emit(on_progress, report)
                    wipe(frame.image)
                    wipe(gray)
                    if status is LivenessStatus.PASSED:
                        log.info("camera: liveness %s passed (not certified)", challenge.kind)
                        phase, recent = "final", collections.deque(maxlen=self.options.recent_reports)
                    elif status is LivenessStatus.FAILED:
                        return self._liveness_failed(challenge, report, checked)
                    continue
                wipe(gray)
                recent.append(report.code)
                self._emit(on_progress, report)
                if not report.ok:
                    wipe(frame.image)
                    for _, f, _ in streak:
                        wipe(f.image)
                    streak = []
                    continue
                score = report.sharpness * (1.0 - abs(report.centre_dx) - abs(report.centre_dy))
                streak.append((score, frame, report))
                if len(streak) < self.options.consecutive_passes:
                    continue
                if phase == "quality" and challenge is not None:
                    for _, f, _ in streak:
                        wipe(f.image)
                    streak = []
                    phase = "liveness"
                    log.info("camera: quality gates passed, liveness challenge %s", challenge.kind)
                    continue
                return self._finish(streak, challenge, checked, out_path)
        finally:
            for _, f, _ in streak:
                wipe(f.image)
            self._set_busy(False)

    def _finish(self, streak, challenge, checked, out_path) -> Completion:
        _, best, report = max(streak, key=lambda s: s[0])
        data, quality, face_px = portrait_jpeg(best.image, report.face_box, self.options)
        result = FaceCapture(data, self.options.jpeg_width, self.options.jpeg_height, quality, face_px, report,
                             challenge.result() if challenge else None, checked)
        if out_path:
            result.save(out_path)
            log.info("camera: face photo written to %s at the caller's request", out_path)
        log.info("camera: face captured after %d frames (%s); JPEG %dx%d q%d %d bytes", checked,
                 report.description, result.width, result.height, quality, result.size_bytes)
        return Completion(CompletionCode.SUCCESS, result, "OK", f"face captured: {report.description}")

    def _timed_out(self, phase, recent, last_report, challenge, checked) -> Completion:
        if phase == "liveness":
            res = challenge.result()
            log.warning("camera: liveness %s not passed within the time allowed: %s", challenge.kind, res.detail)
            return Completion(CompletionCode.TIMEOUT, last_report, "LIVENESS_NOT_PASSED",
                              f"liveness {challenge.kind} not passed: {res.detail} ({checked} frames)",
                              MSG_LIVENESS)
        if not recent:
            return Completion(CompletionCode.TIMEOUT, None, "NO_FRAME", "no frame checked before the deadline",
                              MSG_NO_FRAME)
        failing = [c for c in recent if c is not Gate.OK] or list(recent)
        code = collections.Counter(failing).most_common(1)[0][0]
        desc = last_report.description if last_report else ""
        log.warning("camera: no face passed the gates in time; mostly %s (last: %s)", code.value, desc)
        return Completion(CompletionCode.TIMEOUT, last_report, code.value,
                          f"no face passed the quality gates ({checked} frames): mostly {code.value}; last {desc}",
                          GUIDANCE_ZH[code])

    def _liveness_failed(self, challenge, report, checked) -> Completion:
        res = challenge.result()
        log.warning("camera: liveness %s failed: %s", challenge.kind, res.detail)
        return Completion(CompletionCode.USER_ERROR, report, "LIVENESS_FAILED",
                          f"liveness {challenge.kind} failed: {res.detail} ({checked} frames)", MSG_LIVENESS)

    def close(self) -> None:
        self._closed.set()
        super().close()
        self.grabber.stop()
        self._publish()


def build_camera(source: SourceSpec, width: int = 640, height: int = 480, **kw) -> Camera:
    source = parse_source(source)
    return Camera(lambda: CvCapture(source, width, height), describe_source(source), **kw)


def build_opencv_camera(settings) -> Camera:
    cfg = settings.devices.camera
    return build_camera(cfg.source, cfg.width, cfg.height)
