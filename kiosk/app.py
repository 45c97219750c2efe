"""Composition root: settings -> devices (devices.registry) -> center port -> journal + sync -> Terminal,
and the single call into the GUI (run_gui). Qt is imported only inside run_gui.

Start-up is progressive: the Terminal (with the last cached catalog) exists at once, so the window can show
the home screen while a worker connects the devices, the center, the journal and the sync worker; then
Terminal.attach() makes the tiles live. build_app() does the same synchronously (selftest, tests).

Pieces other teams are still finishing fall back, role by role, to stand-ins (kiosk.flows.standins) when
the configured backend is the simulator and the real simulator cannot be built; a real backend that fails
is left out (the flows then tell the customer and offer staff help)."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from config import Settings
from kiosk.flows.home import LOCAL_CATALOG
from kiosk.flows.ports import CenterOffline, Devices
from kiosk.flows.tasks import Tasks
from kiosk.session import Terminal
from kiosk.voice import build_voice
from sync.protocol import Catalog

log = logging.getLogger(__name__)


def _role_ports():
    from kiosk.flows import standins
    from kiosk.flows.adapters import CameraAdapter, CardReaderAdapter, EscposPrinterAdapter, IdCardAdapter
    # role in devices.registry -> (attribute on Devices, adapter for the real device, stand-in factory)
    return [
        ("idcard", "idcard", IdCardAdapter, standins.SimIdCard),
        ("cardreader", "cardreader", CardReaderAdapter, standins.SimCardReader),
        ("camera", "camera", CameraAdapter, standins.SimCamera),
        ("receipt_printer", "printer", EscposPrinterAdapter, standins.SimPrinter),
    ]


@dataclass
class KioskApp:
    terminal: Terminal
    switch: Any = None
    embedded_center: Any = None
    sync_worker: Any = None
    notes: list[str] = field(default_factory=list)      # what was stood in or left out, for doctor/selftest
    begin: Callable[[], None] = lambda: None             # start connecting (start_app: after the first paint)
    startup_done: threading.Event = field(default_factory=threading.Event)
    startup_parts: Optional[tuple] = None
    connecting: bool = False
    services: Any = None                                 # ServiceContext for the resident service flows
    audit_log: Any = None                                # the shared AuditLog when the caller opened it
    teller: Any = None                                   # kiosk.staff.teller.TellerMode on a bank-teller terminal

    def close(self, startup_wait_s: float = 60.0) -> None:
        """Stop everything. If the window closed while start-up was still connecting, wait for it and take
        what it built, so no device, center or sync thread is left running while Python exits."""
        if self.connecting and not self.startup_done.wait(startup_wait_s):
            log.error("start-up still running after %.0f s at shutdown", startup_wait_s)
        if self.terminal.starting and self.startup_parts:
            self.terminal.attach(*self.startup_parts)
        self.terminal.close()


class _NoCenterYet:
    """The center port until start-up has connected the real one."""

    def __getattr__(self, name):
        def refuse(*_a, **_k):
            raise CenterOffline("terminal still starting")
        return refuse


def cached_catalog(settings: Settings) -> Optional[Catalog]:
    """The catalog sync last stored (sync.downward.CatalogCache's file), read without importing the sync
    stack so the first screen does not wait for it."""
    path = Path(settings.paths.data_dir) / "catalog.json"
    try:
        return Catalog.model_validate(json.loads(path.read_text(encoding="utf-8"))["catalog"])
    except FileNotFoundError:
        return None
    except Exception as exc:
        log.warning("cached catalog %s unreadable (%s); showing local items until the center answers", path, exc)
        return None


def build_devices(settings: Settings, notes: list[str]) -> Devices:
    """Every configured device, built in parallel (an ID reader probe, a camera warming up and a printer
    status read do not wait for each other)."""
    from concurrent.futures import ThreadPoolExecutor

    from devices import registry
    roles = _role_ports()
    with ThreadPoolExecutor(max_workers=len(roles), thread_name_prefix="device-build") as pool:
        built_all = list(pool.map(lambda r: registry.build(settings, r[0]), roles))
    devices = Devices()
    for (role, attr, adapter, standin), built in zip(roles, built_all):
        port = None
        if built.device is not None and adapter is not None:
            port = adapter(built.device)
            devices.raw[role] = built.device
        elif built.backend == "sim":
            if built.device is not None:
                built.device.close()
            port = standin()
            notes.append(f"{role}: stand-in simulator ({built.usability.missing or 'no kiosk adapter yet'})")
        else:
            notes.append(f"{role}: not available ({built.usability.missing})")
        if port is not None and not port.usable().ok:
            notes.append(f"{role}: {port.usable().missing}")
        setattr(devices, attr, port)
    for n in notes:
        log.warning("devices: %s", n)
    return devices


def open_audit_log(settings: Settings):
    """The terminal's one AuditLog (one writer on the hash chain, shared by the kiosk and technician mode);
    None when it cannot be opened (the kiosk still serves; the log line says why)."""
    try:
        from kiosk.audit.log import AuditLog
        return AuditLog.open(settings)
    except Exception as exc:
        log.error("audit log unavailable (%s); audit events go to the log only", exc)
        return None


def _audit_sink(settings: Settings, tasks: Tasks, closers: list, audit=None) -> Callable[..., None]:
    """Audit records are written (fsync) on a worker, never on the caller's (Qt) thread."""
    if audit is None:
        audit = open_audit_log(settings)
        if audit is not None:
            closers.append(audit.close)
    if audit is None:
        return lambda event, **fields: log.warning("audit (unlogged) %s %s", event, fields)

    def record(event: str, **fields) -> None:
        tasks.run("audit", lambda _t: audit.append("kiosk", event, fields.get("session", ""), fields),
                  lambda _r: None, lambda exc: log.error("audit append failed: %s", exc))
    return record


def new_terminal(settings: Settings) -> Terminal:
    """The Terminal as it is at power-on: cached catalog, no devices or center yet (starting)."""
    return Terminal(settings, Devices(), _NoCenterYet(), Tasks(), voice=build_voice(settings.ui.voice),
                    catalog=cached_catalog(settings) or LOCAL_CATALOG, starting=True)


def assemble(settings: Settings, terminal: Terminal, app: KioskApp, start_sync: bool = True, services: bool = True):
    """Connect devices, the center, the journal and sync (slow: run it on a worker). Returns what
    Terminal.attach needs; the caller attaches on the terminal's thread. With `services`, the resident service
    flows open after identification (terminal.services); without, the kiosk identifies and prints a slip."""
    from kiosk.flows.adapters import HttpIdentityCenter, NetworkSwitch
    from sync.client import NotEnrolled, TerminalCredentials, credentials_file
    from concurrent.futures import ThreadPoolExecutor
    closers: list[Callable[[], None]] = []
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devices")
    devices_future = pool.submit(build_devices, settings, app.notes)     # meanwhile: center, journal, sync
    pool.shutdown(wait=False)
    switch = app.switch = NetworkSwitch()
    url = str(settings.center.url).rstrip("/")
    if settings.center.embedded:
        from center.embedded import start_center
        app.embedded_center = start_center()
        closers.append(app.embedded_center.stop)
        url = app.embedded_center.url
        creds = TerminalCredentials(settings.terminal.id,
                                    app.embedded_center.enroll(settings.terminal.id, settings.terminal.channel.value))
    else:
        try:
            creds = TerminalCredentials.load(credentials_file(settings))
        except (NotEnrolled, FileNotFoundError, OSError, ValueError, KeyError) as exc:
            app.notes.append(f"center: terminal not enrolled ({exc}); run `hpf-kiosk enroll --code CODE`")
            creds = TerminalCredentials(settings.terminal.id, b"")
    timeouts = (settings.center.connect_timeout_s, settings.center.read_timeout_s)
    center = HttpIdentityCenter(url, creds.terminal_id, creds.secret, timeouts, switch)
    if app.audit_log is None:      # teller mode and the center's remote commands write to the AuditLog itself
        app.audit_log = open_audit_log(settings)
        if app.audit_log is not None:
            closers.append(app.audit_log.close)
    audit = _audit_sink(settings, terminal.tasks, closers, app.audit_log)
    try:
        if creds.secret:
            from kiosk.staff.remote import attach_to_kiosk          # item switches, announcements, log upload
            app.sync_worker = _start_sync(settings, url, creds, switch, terminal, closers, start_sync,
                                          before_start=lambda w: attach_to_kiosk(
                                              settings, w, terminal, app.audit_log, url=url, credentials=creds,
                                              switch=switch, closers=closers))
    finally:
        devices = devices_future.result()
        closers[:0] = [d.close for d in devices.raw.values()]
    if creds.secret and services:
        _attach_services(settings, terminal, app, devices, center, url, creds, switch, closers)
    if _is_teller(settings):          # also unenrolled: the sign-in page then says why the center refuses
        _attach_teller(settings, terminal, app, url, creds, closers)
    return devices, center, audit, list(reversed(closers))


def _is_teller(settings: Settings) -> bool:
    return getattr(settings.terminal.role, "value", settings.terminal.role) == "teller"


def _attach_teller(settings, terminal, app, url, creds, closers) -> None:
    """Bank counter (role teller): TellerMode over the service flows' journal, the terminal's one audit log and a
    signed staff client; the desk then stamps every transaction with the signed-in teller and branch."""
    if app.audit_log is None:
        app.notes.append("teller: not available (needs the audit log)")
        log.error("teller mode unavailable: no audit log")
        return
    try:
        from kiosk.staff.center import StaffCenterClient
        from kiosk.staff.teller import TellerMode
        client = StaffCenterClient(url, creds, connect_timeout_s=settings.center.connect_timeout_s,
                                   read_timeout_s=settings.center.read_timeout_s, verify_tls=settings.center.verify_tls)
        closers.append(client.close)
        if app.services is not None:
            journal = app.services.desk.journal
        else:
            from sync.journal import Journal
            journal = Journal.open(settings)
            closers.append(journal.close)
        app.teller = TellerMode(settings, client, journal, app.audit_log, catalog=lambda: terminal.catalog)
        if app.services is not None:
            app.services.desk.staff = app.teller
    except Exception as exc:
        log.error("teller mode unavailable: %s: %s", type(exc).__name__, exc)
        app.notes.append(f"teller: not available ({exc})")


class _AttachingTerminal:
    """The terminal as it will be once attached (the devices and center just built); everything else live."""

    def __init__(self, terminal: Terminal, devices: Devices, center):
        self._terminal, self.devices, self.center = terminal, devices, center

    def __getattr__(self, name):
        return getattr(self._terminal, name)


def _attach_services(settings, terminal, app, devices, center, url, creds, switch, closers) -> None:
    """The resident service flows' context (kiosk.flows.services): the screens open an item's flow through
    terminal.open_service(). Without it the kiosk still identifies residents (services stay closed)."""
    from kiosk.flows.services.registry import context_for_terminal
    try:
        worker = app.sync_worker
        app.services = context_for_terminal(settings, _AttachingTerminal(terminal, devices, center), base_url=url,
                                            credentials=creds, switch=switch,
                                            wake=worker.wake if worker else None, closers=closers)
        terminal.services = app.services
    except Exception as exc:
        log.error("service flows unavailable: %s: %s", type(exc).__name__, exc)
        app.notes.append(f"services: not available ({exc})")


def build_app(settings: Settings, *, start_sync: bool = True, services: bool = False) -> KioskApp:
    """Everything connected before returning (selftest, tests). The selftest walks identification per level,
    so the service flows are opt-in here (`services=True`); the running kiosk (start_app) always has them."""
    terminal = new_terminal(settings)
    app = KioskApp(terminal)
    terminal.attach(*assemble(settings, terminal, app, start_sync, services))
    app.startup_done.set()
    return app


def _start_sync(settings, url, creds, switch, terminal: Terminal, closers, start: bool, before_start=None):
    from kiosk.flows.adapters import SwitchableCenterPort
    from sync.client import HttpCenterClient
    from sync.downward import CatalogCache
    from sync.journal import Journal
    from sync.worker import SyncWorker
    tasks = terminal.tasks
    journal = Journal.open(settings)
    closers.append(journal.close)
    client = HttpCenterClient(url, creds, connect_timeout_s=settings.center.connect_timeout_s,
                              read_timeout_s=settings.center.read_timeout_s, verify_tls=settings.center.verify_tls)
    closers.append(client.close)
    worker = SyncWorker.from_settings(settings, journal, SwitchableCenterPort(client, switch),
                                      devices=lambda: {r: d.status.state.device.value
                                                       for r, d in terminal.devices.raw.items()})
    cache = CatalogCache.for_settings(settings)

    def on_sync(ev) -> None:               # on the sync thread: hand over to the terminal's thread
        if ev.name == "link":
            tasks.post(lambda: terminal.set_network(bool(ev.data.get("online"))))
        elif ev.name == "queue":
            tasks.post(lambda: terminal.set_network(terminal.online, int(ev.data.get("depth", 0))))
        elif ev.name == "catalog":
            cached = cache.load()
            if cached:
                tasks.post(lambda: terminal.set_catalog(cached.catalog))
    worker.subscribe(on_sync)
    if before_start is not None:
        before_start(worker)
    if start:
        worker.start(initial_delay_s=0)
        closers.append(worker.stop)
    return worker


def start_app(settings: Settings) -> KioskApp:
    """Power-on: the Terminal now, the devices and the center on a worker (attached when connected)."""
    terminal = new_terminal(settings)
    app = KioskApp(terminal)

    def failed(exc: BaseException) -> None:
        log.error("start-up failed: %s: %s", type(exc).__name__, exc)
        terminal.attach(Devices(), _NoCenterYet())      # home stays up; identification will say why
        terminal.call_staff("startup")

    def work(_token):
        try:
            app.startup_parts = assemble(settings, terminal, app)
            return app.startup_parts
        finally:
            app.startup_done.set()

    def begin() -> None:
        if app.connecting:
            return
        app.connecting = True
        terminal.tasks.run("startup", work, lambda parts: terminal.attach(*parts) if terminal.starting else None,
                           failed)
    app.begin = begin
    return app


def run_gui(settings: Settings, config_file: Optional[str] = None) -> int:
    """`hpf-kiosk run`: the one call from the core into screens/."""
    from screens.app import display_problem
    problem = display_problem()
    if problem:
        import sys
        print(problem, file=sys.stderr)
        return 3
    app = start_app(settings)
    app.audit_log = open_audit_log(settings)      # before start-up connects: kiosk and technician share it
    try:
        from screens.app import run
        return run(app.terminal, after_show=app.begin, audit=app.audit_log, config_file=config_file,
                   teller=(lambda: app.teller) if _is_teller(settings) else None)
    finally:
        app.close()
        if app.audit_log is not None:
            app.audit_log.close()
