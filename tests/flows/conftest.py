"""Fixtures for the resident service flows: the real reference center (`hpf-center serve` subprocess on
loopback, SQLite in a temp dir, stopped by its PID), one enrolled terminal per test with its own journal,
sync's signed HTTP client, the real ESC/POS printer class talking to the simulated printer over TCP, the
file-backed A4 printer, and simulated ID card / camera / bank card readers. No Qt."""
from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass, field
from typing import Optional

import pytest

import shutil

from center.embedded import start_center
from config import load_settings
from devices.base import CancelToken, CompletionCode, DeviceError, Usability
from kiosk.flows.adapters import HttpIdentityCenter, NetworkSwitch, SwitchableCenterPort
from kiosk.flows.ports import BankCard, Devices, IdentityDocument
from kiosk.flows.services.registry import build_context
from kiosk.flows.services.ports import A4PrinterAdapter, ReceiptPrinterAdapter
from kiosk.flows.standins import SimCamera, SimIdCard
from kiosk.flows.tasks import Tasks
from sync.client import HttpCenterClient, TerminalCredentials
from sync.downward import CatalogCache
from sync.journal import Journal
from sync.worker import SyncWorker

_serial = itertools.count(1)

# Demo persons seeded by the reference center (center/README.md).
ZHANG = ("张建国", "330802198503151230")      # no loan, no home: rent withdrawal, certificates
LI = ("李秀英", "330802197807201247")         # loan being repaid: prepayment
WANG = ("王强", "330802197011021259")         # loan paid off: payoff certificate
ZHAO = ("赵敏", "330802198805091261")         # loan overdue: refusals
LIU = ("刘芳", "330802198309121281")          # account frozen
ZHOU = ("周婷", "330802199506181309")         # no account: flexible employment
WU = ("吴磊", "330802199002141311")           # transfer-in in progress


def luhn_pan(prefix: str = "6222020", length: int = 19) -> str:
    body = prefix + f"{next(_serial):0{length - len(prefix) - 1}d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return body + str((10 - total % 10) % 10)


class ChipCardReader:
    """A bank card reader whose cards carry the holder's ID on the chip (9F61). Controls: insert(), remove(),
    pull_during_read (the card leaves mid-read), never() (nobody inserts a card: the read times out)."""

    def __init__(self):
        self._cond = threading.Condition()
        self.card: Optional[BankCard] = None
        self._fresh = False
        self.pull_during_read = False
        self.reads = 0

    @property
    def simulator(self):
        return self

    def insert(self, holder: tuple[str, str], pan: Optional[str] = None) -> str:
        pan = pan or luhn_pan()
        with self._cond:
            self.card = BankCard(pan, "3012", holder[0], holder[1])
            self._fresh = True
            self._cond.notify_all()
        return pan

    def remove(self) -> None:
        with self._cond:
            self.card, self._fresh = None, False

    def usable(self) -> Usability:
        return Usability(True)

    def card_present(self) -> bool:
        return self.card is not None

    def read(self, token: CancelToken) -> BankCard:
        while True:
            with self._cond:
                if self.card is not None and self._fresh:
                    if self.pull_during_read:
                        self.pull_during_read = False
                        self.card, self._fresh = None, False
                        raise DeviceError(CompletionCode.USER_ERROR, "CARD_REMOVED", "card removed during read",
                                          "银行卡被拔出，请重新插入")
                    self._fresh = False
                    self.reads += 1
                    c = self.card
                    return BankCard(c.pan, c.expiry, c.holder_name, c.holder_id)
                self._cond.wait(0.02)
            token.check()


@pytest.fixture(scope="session")
def center_template(tmp_path_factory):
    """One migrated, seeded center database (and signing key), copied for every test."""
    d = tmp_path_factory.mktemp("center-template")
    c = start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, persons=5)
    c.stop()
    return d


@pytest.fixture
def center(center_template, tmp_path):
    """A fresh reference center for each test: its own copy of the seeded database, served over HTTP on a free
    loopback port (uvicorn), stopped at the end of the test."""
    d = tmp_path / "center"
    d.mkdir()
    for f in center_template.iterdir():
        if f.is_file():
            shutil.copy(f, d / f.name)
    c = start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, seed=False)
    try:
        yield c
    finally:
        c.stop()


@dataclass
class Kiosk:
    """One terminal wired for the service flows; `ctx` is what the flows get."""
    settings: object
    journal: Journal
    client: HttpCenterClient
    switch: NetworkSwitch
    tasks: Tasks
    devices: Devices
    receipt_device: object
    a4_device: object
    ctx: object
    worker: SyncWorker
    closers: list = field(default_factory=list)

    @property
    def printer_sim(self):
        return self.receipt_device.simulator

    def offline(self) -> None:
        self.switch.online = False

    def online(self) -> None:
        self.switch.online = True

    def drain(self):
        return self.worker.drain()

    def settle(self, flow, timeout: float = 20.0) -> None:
        """Run callbacks until the flow waits for the resident (or has finished)."""
        ok = self.tasks.run_until(lambda: not flow.busy and not self.tasks.busy, timeout)
        assert ok, f"flow {flow.code} stuck in {flow.state} (busy={flow.busy!r})"
        self.tasks.process()


def identity(person: tuple[str, str], level: int = 3, card: Optional[BankCard] = None):
    from kiosk.flows.services.base import VerifiedIdentity
    return VerifiedIdentity(IdentityDocument(name=person[0], id_number=person[1]), level,
                            frozenset({"id", "face"}), card)


@pytest.fixture
def kiosk(center, tmp_path):
    terminal_id = f"TF{os.getpid() % 1000:03d}-{next(_serial):04d}"
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
