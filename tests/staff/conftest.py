"""Fixtures for teller and technician mode: the real reference center (embedded uvicorn on a free loopback
port, a fresh copy of one seeded database per test, stopped at the end of the test), a bank-teller terminal
enrolled with it (its own data and log dirs under tmp_path), its journal and audit log. No Qt."""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest

from center.testing import center_from_template, seeded_template
from config import load_settings
from kiosk.audit import AuditLog
from kiosk.staff.center import StaffCenterClient
from kiosk.staff.teller import TellerMode
from sync.client import TerminalCredentials, credentials_file
from sync.journal import Journal

_serial = itertools.count(1)



@pytest.fixture(scope="session")
def center_template(tmp_path_factory):
    return seeded_template(tmp_path_factory.mktemp("center-template"))


@pytest.fixture
def center(center_template, tmp_path):
    c = center_from_template(center_template, tmp_path / "center")
    try:
        yield c
    finally:
        c.stop()


def terminal_env(tmp_path, center_url: str, terminal_id: str) -> dict:
    return {"HPF_KIOSK__PATHS__DATA_DIR": str(tmp_path / "data"), "HPF_KIOSK__PATHS__LOG_DIR": str(tmp_path / "log"),
            "HPF_KIOSK__TERMINAL__ID": terminal_id, "HPF_KIOSK__CENTER__URL": center_url,
            "HPF_KIOSK__CENTER__CONNECT_TIMEOUT_S": "2", "HPF_KIOSK__CENTER__READ_TIMEOUT_S": "10"}


class FakeClock:
    """Wall clock the test moves by hand (idle sign-out without waiting)."""

    def __init__(self, t: float = 1_900_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@dataclass
class Counter:
    settings: object
    client: StaffCenterClient
    journal: Journal
    audit: AuditLog
    mode: TellerMode
    clock: FakeClock
    center: object
    env: dict

    def actions(self) -> list:
        return [(r.actor, r.action, r.result, r.details) for r in self.audit.tail(1000)]


@pytest.fixture
def counter(center, tmp_path):
    """A bank counter terminal (bank-teller profile, sim-free: the teller core needs no devices)."""
    terminal_id = f"QZB{os.getpid() % 1000:03d}-{next(_serial):04d}"
    env = terminal_env(tmp_path, center.url, terminal_id)
    settings = load_settings(profile="bank-teller", env=env)
    secret = center.enroll(terminal_id, channel="bank_counter")
    creds = TerminalCredentials(terminal_id, secret)
    creds.save(credentials_file(settings))
    client = StaffCenterClient(center.url, creds, connect_timeout_s=2, read_timeout_s=10)
    audit = AuditLog.open(settings)
    journal = Journal.open(settings, audit=audit.sink("journal"))
    clock = FakeClock()
    mode = TellerMode(settings, client, journal, audit, clock=clock)
    c = Counter(settings, client, journal, audit, mode, clock, center, env)
    try:
        yield c
    finally:
        client.close()
        journal.close()
        audit.close()


@pytest.fixture(scope="session")
def pin_hash():
    from kiosk.staff.pin import hash_pin
    return hash_pin("246810")


@dataclass
class Site:
    """A terminal on site: its settings file (what the technician edits), settings, audit log."""
    config_file: object
    settings: object
    audit: AuditLog
    clock: FakeClock
    tmp: object

    def reload(self):
        self.settings = load_settings(file=self.config_file, env={})
        return self.settings

    def technician(self, **kw):
        from kiosk.staff.technician import TechnicianMode
        return TechnicianMode(self.settings, self.audit, config_file=self.config_file, clock=self.clock, **kw)

    def actions(self) -> list:
        return [(r.actor, r.action, r.target, r.result, r.details) for r in self.audit.tail(1000)]


@pytest.fixture
def site(tmp_path, pin_hash):
    """A demo-profile terminal whose settings come from a TOML file with a technician PIN set."""
    cfg = tmp_path / "kiosk.toml"
    terminal_id = f"TECH{os.getpid() % 1000:03d}-{next(_serial):04d}"
    cfg.write_text(f'''profile = "demo"
[terminal]
id = "{terminal_id}"
[center]
url = "http://127.0.0.1:9"
connect_timeout_s = 2.0
read_timeout_s = 10.0
[paths]
data_dir = "{tmp_path / 'data'}"
log_dir = "{tmp_path / 'log'}"
[security]
technician_pin_hash = "{pin_hash}"
max_pin_attempts = 3
lockout_s = 600
''', encoding="utf-8")
    settings = load_settings(file=cfg, env={})
    audit = AuditLog.open(settings)
    s = Site(cfg, settings, audit, FakeClock(), tmp_path)
    try:
        yield s
    finally:
        audit.close()
