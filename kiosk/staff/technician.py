"""Technician mode: PIN unlock (with a lockout that survives restarts), then services — device status and
self-tests, configuration view/edit/rollback, enrollment, network check, queue view and retry, masked log
export, version and build info. Every action leaves an audit record (actor "technician").

    tech = TechnicianMode(settings, audit, config_file=Path("/etc/hpf-kiosk/kiosk.toml"))
    tech.unlock(pin)                 # StaffError PIN_WRONG / PIN_LOCKED / PIN_NOT_SET
    tech.selftest()                  # [{role, backend, ok, code, description, message_zh}, ...]
    tech.selftest("camera")          # one device
    tech.test_print()                # a short ESC/POS test slip on the receipt printer
    tech.read_card("idcard", token)  # masked name + number (bank card: masked PAN)
    p = tech.camera_preview(on_frame); ...; p.stop()   # frames + face box + quality figures

In the running kiosk `devices` is the terminal's own devices (role -> device, e.g. lambda: terminal.devices.raw):
technician mode then talks to the same device objects the kiosk uses (one handle per port). A role the terminal
has no device for is built from the settings for the call and closed again.

No Qt; each call may do device, disk or network I/O: screens run them on a worker thread."""
from __future__ import annotations

import contextlib
import logging
import platform
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from kiosk.staff.configedit import ConfigEditor
from kiosk.staff.errors import StaffError, from_center
from kiosk.staff.pin import PinGuard

log = logging.getLogger(__name__)

ACTOR = "technician"


class TechnicianMode:
    def __init__(self, settings, audit, *, config_file: "str | Path | None" = None,
                 clock: Callable[[], float] = time.time, client_factory=None,
                 devices: Union[None, dict, Callable[[], dict]] = None):
        self.settings = settings
        self._devices = devices
        self.audit = audit
        self.config_file = Path(config_file) if config_file else None
        self.clock = clock
        self.guard = PinGuard.from_settings(settings, clock=clock, audit=audit)
        self.unlocked = False
        self._client_factory = client_factory

    # --- access ------------------------------------------------------------------------------------

    def unlock(self, pin: str) -> None:
        self.guard.verify(pin)
        self.unlocked = True

    def lock(self) -> None:
        if self.unlocked:
            self.audit.append(ACTOR, "technician.lock")
        self.unlocked = False

    def _need(self) -> None:
        if not self.unlocked:
            raise StaffError("TECH_LOCKED", "请先输入维护密码", "technician mode is locked")

    def _done(self, action: str, target: str = "", result: str = "ok", **details) -> None:
        self.audit.append(ACTOR, action, target=target, result=result, details=details)

    # --- devices -----------------------------------------------------------------------------------

    def terminal_device(self, role: str):
        """The terminal's own device for `role` (None when the terminal has none)."""
        d = self._devices() if callable(self._devices) else self._devices
        return (d or {}).get(role)

    def _backend(self, role: str) -> str:
        cfg = getattr(self.settings.devices, role, None)
        return str(getattr(cfg, "backend", "")) if cfg is not None else ""

    @contextlib.contextmanager
    def _device(self, role: str) -> Iterator[tuple[Any, str, Any]]:
        """(device or None, backend, usability) — the terminal's device, else one built for this call."""
        dev = self.terminal_device(role)
        if dev is not None:
            yield dev, self._backend(role), _usable(dev)
            return
        from devices import registry
        built = registry.build(self.settings, role)
        try:
            yield built.device, built.backend, built.usability
        finally:
            if built.device is not None:
                built.device.close()

    def _row(self, role: str, run_selftest: bool) -> dict:
        with self._device(role) as (dev, backend, usable):
            row = {"role": role, "backend": backend, "usable": bool(usable.ok), "missing": usable.missing,
                   "status": None, "shared": self.terminal_device(role) is not None}
            try:
                if dev is not None:
                    row["status"] = dev.status.state.device.value
                    if run_selftest:
                        c = dev.selftest()
                        row |= {"ok": c.code.value == "success", "code": c.code.value,
                                "description": c.description, "message_zh": c.message_zh or
                                ("自检通过" if c.code.value == "success" else "设备自检未通过")}
                        row["status"] = dev.status.state.device.value
                elif run_selftest:
                    row |= {"ok": backend == "none", "code": "disabled" if backend == "none" else
                            "deviceNotReady", "description": usable.missing,
                            "message_zh": "设备已停用" if backend == "none" else "设备不可用"}
            except Exception as exc:     # a device that breaks during its self-test is reported, not raised
                log.warning("self-test of %s failed: %s", role, exc)
                row |= {"ok": False, "code": "internalError", "description": str(exc), "message_zh": "设备自检失败"}
        return row

    def devices(self, *, run_selftest: bool = False) -> list[dict]:
        """Status of every device role (and its self-test when asked)."""
        self._need()
        from devices import registry
        out = [self._row(role, run_selftest) for role in registry.ROLES]
        if run_selftest:
            self._done("technician.selftest", details_summary(out))
        else:
            self._done("technician.devices")
        return out

    def selftest(self, role: Optional[str] = None) -> Union[list[dict], dict]:
        """Every device's self-test (one audit record naming each result), or one device's (its own record)."""
        if role is None:
            return self.devices(run_selftest=True)
        self._need()
        from devices import registry
        if role not in registry.ROLES:
            raise StaffError("DEVICE_UNKNOWN", "没有该设备", f"unknown device role {role!r}")
        row = self._row(role, True)
        self._done("technician.selftest", role, "ok" if row.get("ok") else f"failed:{row.get('code')}",
                   backend=row["backend"], description=str(row.get("description") or "")[:200])
        return row

    def test_print(self, timeout_s: float = 30.0) -> dict:
        """A short ESC/POS test slip (no personal data) on the receipt printer; what the paper shows when the
        printer is the simulator."""
        self._need()
        with self._device("receipt_printer") as (dev, backend, usable):
            if dev is None or not hasattr(dev, "print_receipt"):
                self._done("technician.test_print", "receipt_printer", "refused:DEVICE_UNAVAILABLE")
                raise StaffError("DEVICE_UNAVAILABLE", "凭条打印机不可用，无法打印测试页",
                                 f"receipt printer ({backend}) unavailable: {usable.missing or 'no device'}")
            sim = getattr(dev, "simulator", None)
            before = len(sim.jobs) if sim is not None else 0
            c = dev.print_receipt(test_slip(self.settings)).result(timeout_s)
            text = ""
            if c.ok and sim is not None:
                jobs = sim.wait_for_jobs(before + 1, timeout=2.0)
                text = jobs[-1].text if len(jobs) > before else ""
            job_id = getattr(c.value, "job_id", "") if c.ok else ""
            state = dev.status.state
        out = {"ok": c.ok, "code": c.code.value, "error_code": c.error_code, "description": c.description,
               "message_zh": "测试页已打印" if c.ok else (c.message_zh or "测试页未能打印"), "job_id": job_id,
               "text": text, "paper": state.paper.value, "status": state.device.value}
        self._done("technician.test_print", "receipt_printer",
                   "ok" if c.ok else f"failed:{c.error_code or c.code.value}", job_id=job_id, paper=out["paper"])
        return out

    def read_card(self, role: str, token=None, timeout_s: float = 30.0) -> dict:
        """Wait for a card on the ID reader (`idcard`) or the bank-card reader (`cardreader`) and show what was
        read, masked. `token` (devices.base.CancelToken) stops the wait (the technician left the page)."""
        self._need()
        from devices.base import CancelToken, DeviceError
        from kiosk.domain.masking import mask_card, mask_id_number, mask_name
        from kiosk.flows.adapters import await_handle
        if role not in ("idcard", "cardreader"):
            raise StaffError("DEVICE_UNKNOWN", "该设备不能读卡", f"{role} cannot read cards")
        token = token or CancelToken(timeout_s)
        with self._device(role) as (dev, backend, usable):
            if dev is None:
                self._done("technician.read_card", role, "refused:DEVICE_UNAVAILABLE")
                raise StaffError("DEVICE_UNAVAILABLE", "读卡器不可用",
                                 f"{role} ({backend}) unavailable: {usable.missing or 'no device'}")
            try:
                if role == "idcard":
                    data = await_handle(dev.read_card(timeout=timeout_s), token)
                    out = {"role": role, "masked_name": mask_name(data.name),
                           "masked_id": mask_id_number(data.id_number),
                           "card_type": getattr(data.card_type, "value", str(data.card_type)),
                           "valid_to": data.valid_to.isoformat() if data.valid_to else "长期"}
                else:
                    data = await_handle(dev.start_read_bank_card(timeout=timeout_s), token)
                    out = {"role": role, "masked_pan": mask_card(data.pan), "kind_zh": data.kind_zh,
                           "expiry": data.expiry.strftime("%Y-%m") if data.expiry else ""}
            except DeviceError as exc:
                code = exc.completion.error_code or exc.completion.code.value
                self._done("technician.read_card", role, f"failed:{code}")
                raise StaffError(code or "READ_FAILED", exc.completion.message_zh or "读卡失败",
                                 exc.completion.description or str(exc)) from None
        self._done("technician.read_card", role, "ok",
                   **({"card_type": out["card_type"]} if role == "idcard" else {"kind": out["kind_zh"]}))
        return out

    def camera_preview(self, on_frame: Callable[[Any, dict], None], fps: float = 4.0) -> "CameraPreview":
        """Start the camera preview: on_frame(frame, figures) a few times a second on the camera's preview
        thread, each frame analysed there by the camera's own quality gates. stop() ends it (audited)."""
        self._need()
        dev = self.terminal_device("camera")
        owned = None
        if dev is None:
            from devices import registry
            built = registry.build(self.settings, "camera")
            dev = owned = built.device
            if dev is None:
                self._done("technician.camera_preview", "camera", "refused:DEVICE_UNAVAILABLE")
                raise StaffError("DEVICE_UNAVAILABLE", "摄像头不可用",
                                 f"camera ({built.backend}) unavailable: {built.usability.missing}")
        if not hasattr(dev, "add_preview_listener"):
            self._done("technician.camera_preview", "camera", "refused:DEVICE_UNAVAILABLE")
            raise StaffError("DEVICE_UNAVAILABLE", "摄像头不支持预览", f"{type(dev).__name__} has no preview")
        preview = CameraPreview(self, dev, on_frame, fps, owned)
        preview.start()
        self._done("technician.camera_preview", "camera", "started", fps=fps)
        return preview

    # --- configuration -----------------------------------------------------------------------------

    def editor(self) -> ConfigEditor:
        if self.config_file is None:
            raise StaffError("CONFIG_NO_FILE", "本终端未指定设置文件，不能在此修改",
                             "no configuration file (--config or HPF_KIOSK_CONFIG)")
        return ConfigEditor(self.config_file, profile=self.settings.profile)

    def config_view(self) -> dict:
        self._need()
        from config.loader import masked_dump
        data = self.editor().view() if self.config_file else masked_dump(self.settings)
        self._done("technician.config_view")
        return data

    def config_set(self, key: str, value) -> dict:
        self._need()
        return self.editor().set(key, value, audit=self.audit, actor=ACTOR)

    def config_rollback(self) -> None:
        self._need()
        self.editor().rollback(audit=self.audit, actor=ACTOR)

    # --- center link -------------------------------------------------------------------------------

    def _client(self, credentials=None):
        if self._client_factory is not None:
            return self._client_factory(credentials)
        from kiosk.staff.center import StaffCenterClient
        return StaffCenterClient.from_settings(self.settings, credentials=credentials)

    def enroll(self, code: str, *, force: bool = False) -> str:
        """Exchange the center's one-time code for the terminal secret (sync's enroll path)."""
        self._need()
        from sync.client import CenterError, TerminalCredentials, credentials_file
        path = credentials_file(self.settings)
        tid = self.settings.terminal.id
        if path.exists() and not force:
            raise StaffError("ALREADY_ENROLLED", "本终端已登记；如需重新登记请确认替换", f"{path} exists")
        code = (code or "").strip()
        if not code:
            raise StaffError("ENROLL_CODE_MISSING", "请输入中心提供的一次性登记码", "empty enrollment code")
        client = self._client(TerminalCredentials(tid, b""))
        try:
            creds = client.enroll(tid, code)
        except CenterError as exc:
            err = from_center(exc)
            self._done("technician.enroll", tid, f"refused:{err.code}")
            raise err from None
        finally:
            client.close()
        try:
            creds.save(path)
        except OSError as exc:
            raise StaffError("CREDENTIALS_WRITE_FAILED", "终端密钥无法保存", f"{path}: {exc.strerror}") from None
        self._done("technician.enroll", tid, center=str(self.settings.center.url))
        return creds.terminal_id

    def netcheck(self) -> dict:
        """Reachability, clock skew from the center's Date header, and a signed request."""
        self._need()
        from sync.client import CenterError
        from sync.protocol import MAX_CLOCK_SKEW_S
        out = {"center": str(self.settings.center.url), "reachable": False, "rtt_ms": None, "clock_skew_s": None,
               "clock_ok": None, "signed_ok": False, "problems": []}
        try:
            client = self._client()
        except CenterError as exc:      # not enrolled: reachability still worth knowing
            out["problems"].append(from_center(exc).as_dict())
            from sync.client import TerminalCredentials
            client = self._client(TerminalCredentials(self.settings.terminal.id, b""))
        try:
            try:
                out["rtt_ms"] = round(client.healthz(), 1)
                out["reachable"] = True
            except CenterError as exc:
                out["problems"].append(from_center(exc).as_dict())
            if out["reachable"] and client.credentials and client.credentials.secret:
                try:
                    status, skew = client.signed_probe()
                    out["signed_ok"] = status in (200, 304)
                    if skew is not None:
                        out["clock_skew_s"] = round(skew, 1)
                        out["clock_ok"] = abs(skew) < MAX_CLOCK_SKEW_S / 2
                        if not out["clock_ok"]:
                            out["problems"].append({"code": "CLOCK_SKEW", "message_zh": "终端时钟与中心相差过大，请校准时间"})
                except CenterError as exc:
                    out["problems"].append(from_center(exc).as_dict())
        finally:
            client.close()
        out["ok"] = out["reachable"] and out["signed_ok"] and out["clock_ok"] is not False
        self._done("technician.netcheck", result="ok" if out["ok"] else "problems",
                   problems=[p["code"] for p in out["problems"]])
        return out

    # --- queue -------------------------------------------------------------------------------------

    def queue(self, journal) -> dict:
        self._need()
        from sync.journal import State
        f = journal.figures()
        review = journal.list(state=State.NEEDS_REVIEW, limit=50)
        oldest = journal.list(state=State.QUEUED, limit=1, newest_first=False)
        self._done("technician.queue_view")
        return {"depth": f.depth, "queued_amount_fen": f.queued_amount_fen, "oldest_age_s": f.oldest_age_s,
                "oldest": oldest[0].client_id if oldest else None, "by_state": dict(f.by_state),
                "needs_review": [{"client_id": e.client_id, "kind": e.kind, "amount_fen": e.amount_fen,
                                  "code": e.last_code, "message_zh": e.last_message} for e in review]}

    def retry(self, journal, client_id: str) -> None:
        self._need()
        from sync.journal import JournalError
        try:
            journal.retry(journal.find(client_id).client_id, by=ACTOR)
        except JournalError as exc:
            self._done("technician.queue_retry", client_id, f"refused:{exc.code}")
            raise StaffError(exc.code, exc.message_zh, exc.detail) from None
        self._done("technician.queue_retry", client_id)

    # --- logs and info -----------------------------------------------------------------------------

    def export_logs(self, dest: "str | Path") -> dict:
        self._need()
        from kiosk.staff.logexport import export_logs
        try:
            res = export_logs(self.settings, dest)
        except StaffError as exc:
            self._done("technician.export_logs", str(dest), f"refused:{exc.code}")
            raise
        self._done("technician.export_logs", str(res.folder), files=len(res.files), lines=res.lines)
        return res.view()

    def info(self) -> dict:
        """Version and build info (no PIN needed: nothing secret, useful before unlocking)."""
        from sync.client import credentials_file, software_version
        s = self.settings
        self._done("technician.info")
        return {"software_version": software_version(), "build": _build_id(), "python": sys.version.split()[0],
                "qt": _dist_version("PySide6-Essentials") or _dist_version("PySide6"),
                "platform": platform.platform(), "terminal_id": s.terminal.id, "profile": s.profile,
                "config_file": str(self.config_file) if self.config_file else "（无，使用配置档默认值与环境变量）",
                "role": getattr(s.terminal.role, "value", s.terminal.role), "branch": s.terminal.branch,
                "center": str(s.center.url), "enrolled": credentials_file(s).exists(),
                "data_dir": str(s.paths.data_dir), "log_dir": str(s.paths.log_dir),
                "audit_head_seq": self.audit.head()[0]}


def details_summary(rows: list[dict]) -> str:
    return ",".join(f"{r['role']}={'ok' if r.get('ok') else r.get('code')}" for r in rows)


def _build_id() -> str:
    """The git commit the software was built from, when it runs from a checkout (else '')."""
    root = Path(__file__).resolve().parents[2]
    head = root / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (root / ".git" / ref[5:]).read_text().strip()[:12]
        return ref[:12]
    except OSError:
        return ""


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return ""


def _usable(device):
    from devices.base import Usability
    try:
        try:
            u = device.is_usable()
        except TypeError:
            u = type(device).is_usable()
        return u if isinstance(u, Usability) else Usability(bool(u))
    except Exception as exc:
        return Usability(False, str(exc))


def test_slip(settings):
    """The technician's test slip: Chinese text, the terminal, the time — and no personal data."""
    from printing.documents import Receipt
    now = datetime.now(timezone.utc)
    return Receipt(center_name=settings.terminal.center_name, terminal_id=settings.terminal.id, issued_at=now,
                   serial_no=f"TEST-{now:%Y%m%d-%H%M%S}", client_id="technician-test-print", item="打印测试",
                   fields=(("用途", "维护人员打印测试"), ("纸宽", f"{settings.devices.receipt_printer.width_mm} 毫米")),
                   status_line="打印正常", notes=("本凭条为设备测试，不是业务回单。",), title="打印测试凭条")


test_slip.__test__ = False      # not a pytest test


class CameraPreview:
    """Live frames from the camera with the face box and quality figures; analysis on the preview thread."""

    def __init__(self, tech: TechnicianMode, device, on_frame: Callable[[Any, dict], None], fps: float,
                 owned=None):
        self.tech, self.device, self.on_frame, self.fps, self._owned = tech, device, on_frame, fps, owned
        self._unsubscribe: Optional[Callable[[], None]] = None
        self._checker = None
        self._lock = threading.Lock()
        self.frames = 0
        self.last: Optional[dict] = None
        self.stopped = False

    def start(self) -> None:
        self._unsubscribe = self.device.add_preview_listener(self._frame, fps=self.fps)

    def _frame(self, frame) -> None:                # the camera's preview thread
        if self.stopped:
            return
        figures = self.analyse(frame)
        with self._lock:
            self.frames += 1
            self.last = figures
        self.on_frame(frame, figures)

    def analyse(self, frame) -> dict:
        from devices.camera.quality import FaceQualityChecker, QualityThresholds
        if self._checker is None:       # one per thread (OpenCV cascades keep state): only this thread uses it
            self._checker = FaceQualityChecker(getattr(self.device, "thresholds", None) or QualityThresholds())
        r = self._checker.check(frame)
        sharp = r.sharpness
        if sharp is None:                           # the gates stopped before sharpness: measure it anyway
            sharp = _sharpness(frame, r.face_box)
        mean = r.mean if r.mean is not None else float(frame.mean())
        return {"ok": r.ok, "code": r.code.value, "guidance_zh": r.guidance_zh, "faces": r.faces,
                "face_box": tuple(r.face_box) if r.face_box else None, "width": r.frame_width,
                "height": r.frame_height, "brightness": round(mean, 1), "sharpness": round(sharp, 1),
                "face_size": round(r.size_ratio, 3) if r.size_ratio is not None else None}

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._owned is not None:
            self._owned.close()
        last = self.last or {}
        self.tech._done("technician.camera_preview", "camera", "ok" if self.frames else "failed:NO_FRAME",
                        frames=self.frames, last_verdict=last.get("code", ""))


def _sharpness(frame, box) -> float:
    import cv2
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if box:
        x, y, w, h = box
        gray = gray[max(0, y):y + h, max(0, x):x + w] if w > 8 and h > 8 else gray
    roi = cv2.resize(gray, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(roi, cv2.CV_64F).var())
