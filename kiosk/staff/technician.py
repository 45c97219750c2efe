"""Technician mode: PIN unlock (with a lockout that survives restarts), then services — device status and
self-tests, configuration view/edit/rollback, enrollment, network check, queue view and retry, masked log
export, version and build info. Every action leaves an audit record (actor "technician").

    tech = TechnicianMode(settings, audit, config_file=Path("/etc/hpf-kiosk/kiosk.toml"))
    tech.unlock(pin)                 # StaffError PIN_WRONG / PIN_LOCKED / PIN_NOT_SET
    tech.selftest()                  # [{role, backend, ok, code, description, message_zh}, ...]

No Qt; each call may do device, disk or network I/O: screens run them on a worker thread."""
from __future__ import annotations

import logging
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from kiosk.staff.configedit import ConfigEditor
from kiosk.staff.errors import StaffError, from_center
from kiosk.staff.pin import PinGuard

log = logging.getLogger(__name__)

ACTOR = "technician"


class TechnicianMode:
    def __init__(self, settings, audit, *, config_file: "str | Path | None" = None,
                 clock: Callable[[], float] = time.time, client_factory=None):
        self.settings = settings
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

    def devices(self, *, run_selftest: bool = False) -> list[dict]:
        """Status of every device role (and its self-test when asked), each device opened and closed again."""
        self._need()
        from devices import registry
        out = []
        for role in registry.ROLES:
            built = registry.build(self.settings, role)
            row = {"role": role, "backend": built.backend, "usable": bool(built.usability.ok),
                   "missing": built.usability.missing, "status": None}
            try:
                if built.device is not None:
                    st = built.device.status.state
                    row["status"] = st.device.value
                    if run_selftest:
                        c = built.device.selftest()
                        row |= {"ok": c.code.value == "success", "code": c.code.value,
                                "description": c.description, "message_zh": c.message_zh}
                elif run_selftest:
                    row |= {"ok": built.backend == "none", "code": "disabled" if built.backend == "none" else
                            "deviceNotReady", "description": built.usability.missing,
                            "message_zh": "设备已停用" if built.backend == "none" else "设备不可用"}
            except Exception as exc:     # a device that breaks during its self-test is reported, not raised
                log.warning("self-test of %s failed: %s", role, exc)
                row |= {"ok": False, "code": "internalError", "description": str(exc), "message_zh": "设备自检失败"}
            finally:
                if built.device is not None:
                    built.device.close()
            out.append(row)
        if run_selftest:
            self._done("technician.selftest", details_summary(out))
        else:
            self._done("technician.devices")
        return out

    def selftest(self) -> list[dict]:
        return self.devices(run_selftest=True)

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
                "platform": platform.platform(), "terminal_id": s.terminal.id, "profile": s.profile,
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
