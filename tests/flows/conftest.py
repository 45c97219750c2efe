"""Fixtures for the resident service flows: the real reference center (FastAPI + uvicorn over HTTP on a free
loopback port, a fresh copy of one seeded SQLite database per test, stopped by the test), one enrolled terminal
per test with its own journal,
sync's signed HTTP client, the real ESC/POS printer class talking to the simulated printer over TCP, the
file-backed A4 printer, and simulated ID card / camera / bank card readers. No Qt."""
from __future__ import annotations

import itertools
import os

import pytest

from center.testing import center_from_template, seeded_template
from config import load_settings
from tests.flows.flowhelpers import ChipCardReader, Kiosk
from kiosk.flows.adapters import HttpIdentityCenter, NetworkSwitch, SwitchableCenterPort
from kiosk.flows.ports import Devices
from kiosk.flows.services.ports import A4PrinterAdapter, ReceiptPrinterAdapter
from kiosk.flows.services.registry import build_context
from kiosk.flows.standins import SimCamera, SimIdCard
from kiosk.flows.tasks import Tasks
from sync.client import HttpCenterClient, TerminalCredentials
from sync.downward import CatalogCache
from sync.journal import Journal
from sync.worker import SyncWorker

_terminals = itertools.count(1)


@pytest.fixture(scope="session")
def center_template(tmp_path_factory):
    """One migrated, seeded center database (and signing key), copied for every test."""
    return seeded_template(tmp_path_factory.mktemp("center-template"))


@pytest.fixture
def center(center_template, tmp_path):
    """A fresh reference center for each test: its own copy of the seeded database, served over HTTP on a free
    loopback port (uvicorn), stopped at the end of the test."""
    c = center_from_template(center_template, tmp_path / "center")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def kiosk(center, tmp_path):
    terminal_id = f"TF{os.getpid() % 1000:03d}-{next(_terminals):04d}"
    env = {"HPF_KIOSK__PATHS__DATA_DIR": str(tmp_path / "data"), "HPF_KIOSK__PATHS__LOG_DIR": str(tmp_path / "log"),
           "HPF_KIOSK__TERMINAL__ID": terminal_id, "HPF_KIOSK__CENTER__URL": center.url,
           "HPF_KIOSK__CENTER__EMBEDDED": "false", "HPF_KIOSK__CENTER__CONNECT_TIMEOUT_S": "2",
           "HPF_KIOSK__CENTER__READ_TIMEOUT_S": "5", "HPF_KIOSK__SYNC__STAGGER_WINDOW_S": "0",
           "HPF_KIOSK__SYNC__BACKOFF_BASE_S": "0.02", "HPF_KIOSK__SYNC__BACKOFF_CAP_S": "0.2"}
    settings = load_settings(profile="demo", env=env)
    secret = center.enroll(terminal_id)
    creds = TerminalCredentials(terminal_id, secret)
    journal = Journal.open(settings)
    client = HttpCenterClient(center.url, creds, connect_timeout_s=2, read_timeout_s=5)
    switch = NetworkSwitch()
    tasks = Tasks()
    cache = CatalogCache.for_settings(settings)
    cache.refresh(client)                        # the catalog a real kiosk would have synced
    from printing.cups import FilePrinter
    from printing.escpos.device import build_sim_escpos_printer
    from printing.jobs import PrintJournal
    receipt = build_sim_escpos_printer(settings)
    a4 = FilePrinter(tmp_path / "pdf", journal=PrintJournal(tmp_path / "a4_jobs.sqlite3"))
    devices = Devices(idcard=SimIdCard(), camera=SimCamera(frame_interval_s=0.005), cardreader=ChipCardReader())
    ident = HttpIdentityCenter(center.url, terminal_id, secret, (2.0, 10.0), switch)
    worker = SyncWorker.from_settings(settings, journal, SwitchableCenterPort(client, switch))
    ctx = build_context(settings, client=client, journal=journal, tasks=tasks, devices=devices,
                        identity_center=ident, receipt_printer=ReceiptPrinterAdapter(receipt),
                        a4_printer=A4PrinterAdapter(a4), catalog=lambda: cache.load().catalog,
                        online=lambda: switch.online, switch=switch, card_timeout_s=3.0)
    k = Kiosk(settings, journal, client, switch, tasks, devices, receipt, a4, ctx, worker)
    yield k
    tasks.shutdown()
    receipt.close()
    a4.close()
    client.close()
    journal.close()
