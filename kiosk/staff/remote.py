"""Remote commands from the center, applied on the next sync.

The center's catalog carries item switches, announcements and `commands` (e.g. {"kind": "upload_logs"} after
an operator's log-upload request); the heartbeat reply carries the same commands. `RemoteCommands.apply`
takes the cached catalog (sync.downward.CatalogCache) and:
  - records item switches and announcements once per catalog version (the kiosk and the teller screens read
    them from the catalog itself; this makes the change visible in the audit log),
  - performs the log upload: the masked log bundle POSTed to /v1/terminals/logs, which also clears the
    request at the center (so the next catalog no longer asks).
Every step leaves an audit record (actor "center"), and the terminal says so on screen: `notice(report)` is the
line the running kiosk shows (attach_to_kiosk wires it: the sync worker's events -> apply -> the terminal's
"remote_notice" event on the terminal's thread)."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from kiosk.flows.base import FlowMessage
from kiosk.staff.errors import from_center
from kiosk.staff.logexport import masked_bundle
from sync.client import CenterError

log = logging.getLogger(__name__)
NOTICE_S = 60.0          # what the center changed stays on screen this long (the shell's banner)


@dataclass
class RemoteReport:
    catalog_version: str = ""
    disabled_items: list[str] = field(default_factory=list)
    announcements: list[str] = field(default_factory=list)
    logs_uploaded: Optional[dict] = None
    errors: list[dict] = field(default_factory=list)
    new_version: bool = False
    first_version: bool = False      # the first catalog this terminal applies (install): nothing "changed"

    def view(self) -> dict:
        return dict(self.__dict__)


class RemoteCommands:
    def __init__(self, settings, port, audit):
        self.settings = settings
        self.port = port
        self.audit = audit
        self.state_file = Path(settings.paths.data_dir) / "remote-commands.json"
        self._lock = threading.Lock()
        self.last_report: Optional[RemoteReport] = None

    def attach(self, worker, cache=None, on_report=None) -> None:
        """Apply on the sync worker's own thread after each sync: its "catalog" event (a new catalog was
        cached) and its "commands" event (the heartbeat reply asked for something). Never raises into it.
        on_report(report) follows each application (on the sync thread)."""
        from sync.downward import CatalogCache
        cache = cache or CatalogCache.for_settings(self.settings)

        def on_event(ev) -> None:
            if ev.name not in ("catalog", "commands"):
                return
            try:
                cached = cache.load()
                if cached is None:
                    return
                extra = ev.data.get("commands") if ev.name == "commands" else None
                self.last_report = self.apply(cached.catalog, extra)
                if on_report is not None:
                    on_report(self.last_report)
            except Exception:    # a remote command must never stop the sync worker
                log.exception("applying the center's remote commands failed")
        worker.subscribe(on_event)

    def _last_version(self) -> str:
        try:
            return json.loads(self.state_file.read_text()).get("applied_version", "")
        except (OSError, ValueError):
            return ""

    def _remember(self, version: str) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump({"applied_version": version}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)

    def apply(self, catalog, extra_commands: list[dict] | None = None) -> RemoteReport:
        """`catalog`: sync.protocol.Catalog (cached); `extra_commands`: e.g. the heartbeat reply's commands."""
        with self._lock:
            return self._apply(catalog, extra_commands)

    def _apply(self, catalog, extra_commands) -> RemoteReport:
        rep = RemoteReport(catalog_version=catalog.version)
        rep.disabled_items = sorted(i.code for i in catalog.items if not i.enabled)
        rep.announcements = [a.id for a in catalog.announcements]
        last = self._last_version()
        if catalog.version != last:
            rep.new_version, rep.first_version = True, not last
            self.audit.append("center", "remote.catalog_applied", target=f"catalog:{catalog.version}",
                              details={"disabled_items": rep.disabled_items, "announcements": rep.announcements})
        kinds = {str(c.get("kind")) for c in [*catalog.commands, *(extra_commands or [])] if isinstance(c, dict)}
        if "upload_logs" in kinds:
            self._upload_logs(rep)
        for k in sorted(kinds - {"upload_logs"}):
            self.audit.append("center", "remote.command", target=k, result="unsupported")
            log.warning("remote command %r is not known to this terminal; ignored", k)
        if rep.new_version and not rep.errors:
            self._remember(catalog.version)
        return rep

    def _upload_logs(self, rep: RemoteReport) -> None:
        data = masked_bundle(self.settings)
        try:
            answer = self.port.upload_logs(data)
        except CenterError as exc:
            err = from_center(exc)
            rep.errors.append(err.as_dict())
            self.audit.append("center", "remote.upload_logs", result=f"failed:{err.code}",
                              details={"bytes": len(data)})
            log.warning("log upload requested by the center failed: %s %s (retried on the next sync)",
                        err.code, err.detail)
            return
        rep.logs_uploaded = {"bytes": len(data), "stored": answer.get("stored", "")}
        self.audit.append("center", "remote.upload_logs", details=rep.logs_uploaded)
        log.info("uploaded %d bytes of masked logs at the center's request", len(data))


def notice_parts(report: RemoteReport) -> dict[str, tuple[str, str]]:
    """What changed, by kind (catalog, logs): (Chinese, English). Empty when nothing changed."""
    parts: dict[str, tuple[str, str]] = {}
    if report.new_version and not report.first_version:
        z, e = [], []
        if report.disabled_items:
            z.append(f"暂停{len(report.disabled_items)}项业务")
            e.append(f"{len(report.disabled_items)} item(s) suspended")
        if report.announcements:
            z.append(f"公告{len(report.announcements)}条")
            e.append(f"{len(report.announcements)} announcement(s)")
        parts["catalog"] = ("中心通知：" + ("、".join(z) or "服务已更新"),
                            "Fund center: " + (", ".join(e) or "services updated"))
    if report.logs_uploaded:
        parts["logs"] = ("已按中心要求上传日志", "Logs uploaded (masked) at the center's request")
    elif report.errors:
        parts["logs"] = ("日志上传未成功，将在下次同步时重试", "Log upload failed; it is retried on the next sync")
    return parts


def notice(report: RemoteReport, earlier: Optional[dict] = None) -> Optional[FlowMessage]:
    """What the terminal says after applying the center's commands (what `earlier` said still stands, the latest
    word per kind wins); None when nothing changed."""
    new = notice_parts(report)
    if not new:
        return None
    parts = {**(earlier or {}), **new}
    return FlowMessage("REMOTE_APPLIED", "；".join(z for z, _e in parts.values()),
                       "; ".join(e for _z, e in parts.values()),
                       f"remote commands applied: catalog {report.catalog_version}, disabled {report.disabled_items}, "
                       f"logs {'uploaded' if report.logs_uploaded else 'no'}, errors {len(report.errors)}")


def attach_to_kiosk(settings, worker, terminal, audit, *, url: str, credentials, switch=None,
                    closers: Optional[list] = None) -> Optional[RemoteCommands]:
    """The running kiosk: apply the center's remote commands after each sync and say so on screen (the
    terminal's "remote_notice" event, posted to the terminal's thread). Needs the terminal's audit log."""
    if audit is None:
        log.error("remote commands not applied: no audit log")
        return None
    from kiosk.staff.center import StaffCenterClient
    client = StaffCenterClient(url, credentials, connect_timeout_s=settings.center.connect_timeout_s,
                               read_timeout_s=settings.center.read_timeout_s, verify_tls=settings.center.verify_tls)
    if closers is not None:
        closers.append(client.close)
    port = client
    if switch is not None:
        from kiosk.flows.adapters import SwitchableCenterPort
        port = SwitchableCenterPort(client, switch)
    remote = RemoteCommands(settings, port, audit)
    recent: dict = {"at": 0.0, "parts": {}}               # one sync may apply twice (heartbeat reply, catalog)

    def said(report: RemoteReport) -> None:              # the sync thread
        now = time.monotonic()
        earlier = recent["parts"] if now - recent["at"] < NOTICE_S else {}
        msg = notice(report, earlier)
        if msg is None:
            return
        recent["at"], recent["parts"] = now, {**earlier, **notice_parts(report)}
        log.info("%s", msg.log_line)
        terminal.tasks.post(lambda: terminal.events.emit("remote_notice", message=msg))
    remote.attach(worker, on_report=said)
    return remote
