"""Composition root: settings -> devices (devices.registry) -> center port -> journal + sync -> Terminal,
and the single call into the GUI (run_gui). Qt is imported only inside run_gui.

Pieces other teams are still finishing fall back, role by role, to stand-ins (kiosk.flows.standins) when
the configured backend is the simulator and the real simulator cannot be built; a real backend that fails
is left out (the flows then tell the customer and offer staff help)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from config import Settings
from kiosk.flows import standins
from kiosk.flows.adapters import (CardReaderAdapter, EscposPrinterAdapter, HttpIdentityCenter, IdCardAdapter,
                                  NetworkSwitch, SwitchableCenterPort)
from kiosk.flows.home import LOCAL_CATALOG
from kiosk.flows.ports import Devices
from kiosk.flows.tasks import Tasks
from kiosk.session import Terminal
from kiosk.voice import build_voice

log = logging.getLogger(__name__)

# role in devices.registry -> (attribute on Devices, adapter for the real device, stand-in factory)
ROLE_PORTS: list[tuple[str, str, Optional[Callable], Callable]] = [
    ("idcard", "idcard", IdCardAdapter, standins.SimIdCard),
    ("cardreader", "cardreader", CardReaderAdapter, standins.SimCardReader),
    ("camera", "camera", None, standins.SimCamera),          # adapter added when devices/camera lands
    ("receipt_printer", "printer", EscposPrinterAdapter, standins.SimPrinter),
]


@dataclass
class KioskApp:
    terminal: Terminal
    switch: NetworkSwitch
    embedded_center: Any = None
    sync_worker: Any = None
    notes: list[str] = field(default_factory=list)      # what was stood in or left out, for doctor/selftest


def build_devices(settings: Settings, notes: list[str]) -> Devices:
    from devices import registry
    devices = Devices()
    for role, attr, adapter, standin in ROLE_PORTS:
        built = registry.build(settings, role)
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


def _audit_sink(settings: Settings, tasks: Tasks, closers: list) -> Callable[..., None]:
    """Audit records are written (fsync) on a worker, never on the caller's (Qt) thread."""
    try:
        from kiosk.audit.log import AuditLog
        audit = AuditLog.open(settings)
        closers.append(audit.close)
    except Exception as exc:        # the kiosk still serves; the log line says why there is no audit
        log.error("audit log unavailable (%s); audit events go to the log only", exc)
        return lambda event, **fields: log.warning("audit (unlogged) %s %s", event, fields)

    def record(event: str, **fields) -> None:
        tasks.run("audit", lambda _t: audit.append("kiosk", event, fields.get("session", ""), fields),
                  lambda _r: None, lambda exc: log.error("audit append failed: %s", exc))
    return record


def build_app(settings: Settings, *, start_sync: bool = True) -> KioskApp:
    notes: list[str] = []
    closers: list[Callable[[], None]] = []
    tasks = Tasks()
    switch = NetworkSwitch()
    devices = build_devices(settings, notes)
    closers += [d.close for d in devices.raw.values()]

    embedded = None
    from sync.client import HttpCenterClient, NotEnrolled, TerminalCredentials, credentials_file
    url = str(settings.center.url).rstrip("/")
    if settings.center.embedded:
        from center.embedded import start_center
        embedded = start_center()
        closers.append(embedded.stop)
        url = embedded.url
        creds = TerminalCredentials(settings.terminal.id,
                                    embedded.enroll(settings.terminal.id, settings.terminal.channel.value))
    else:
        try:
            creds = TerminalCredentials.load(credentials_file(settings))
        except (NotEnrolled, FileNotFoundError, OSError, ValueError, KeyError) as exc:
            notes.append(f"center: terminal not enrolled ({exc}); run `hpf-kiosk enroll --code CODE`")
            creds = TerminalCredentials(settings.terminal.id, b"")
    timeouts = (settings.center.connect_timeout_s, settings.center.read_timeout_s)
    center = HttpIdentityCenter(url, creds.terminal_id, creds.secret, timeouts, switch)

    from sync.downward import CatalogCache
    cached = CatalogCache.for_settings(settings).load()
    terminal = Terminal(settings, devices, center, tasks, voice=build_voice(settings.ui.voice),
                        audit=_audit_sink(settings, tasks, closers),
                        catalog=cached.catalog if cached else LOCAL_CATALOG)
    app = KioskApp(terminal, switch, embedded, None, notes)

    if creds.secret:
        worker = _start_sync(settings, url, creds, switch, terminal, tasks, closers, start_sync)
        app.sync_worker = worker
    terminal.closers.extend(reversed(closers))
    return app


def _start_sync(settings, url, creds, switch, terminal: Terminal, tasks: Tasks, closers, start: bool):
    from sync.client import HttpCenterClient
    from sync.downward import CatalogCache
    from sync.journal import Journal
    from sync.worker import SyncWorker
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
    if start:
        worker.start(initial_delay_s=0)
        closers.append(worker.stop)
    return worker


def run_gui(settings: Settings) -> int:
    """`hpf-kiosk run`: the one call from the core into screens/."""
    from screens.app import display_problem
    problem = display_problem()
    if problem:
        import sys
        print(problem, file=sys.stderr)
        return 3
    app = build_app(settings)
    try:
        from screens.app import run
        return run(app.terminal)
    finally:
        app.terminal.close()
