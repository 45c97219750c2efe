"""Helpers for tests/flows (persons, a chip bank card reader, the wired terminal, identities); fixtures are in
conftest.py."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Optional

from devices.base import CancelToken, CompletionCode, DeviceError, Usability
from kiosk.flows.adapters import NetworkSwitch
from kiosk.flows.ports import BankCard, Devices, IdentityDocument
from kiosk.flows.tasks import Tasks
from sync.client import HttpCenterClient
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
