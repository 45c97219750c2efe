"""The simulated card reader for the demo and UI tests: no pcscd, same commands, same status events.

The same card models as the vpcd virtual card (cards.py) answer the APDUs in-process, so the real EMV code
runs in the demo too. The demo panel and tests drive it through `reader.simulator`:

    reader = build_sim_card_reader(settings)
    reader.simulator.insert("unionpay", name="李四", id_number="330802199001011234", pan="6217...")
    reader.simulator.insert("unionpay", pull_after=3)     # the customer pulls it out mid-read
    reader.simulator.remove()
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Iterator, Optional, Union

from config import Settings
from devices.base import CancelToken, DeviceStatus, MediaState, Usability
from devices.pcsc.cards import CARD_DESCRIPTIONS_ZH, CARDS, CardHolder, CardModel, make_card
from devices.pcsc.common import SmartCardReader, card_mute, card_removed

log = logging.getLogger(__name__)


class CardSimulator:
    """Controls of the simulated reader: which card is in it."""

    def __init__(self, reader: "SimCardReader"):
        self._reader = reader
        self._lock = threading.Lock()
        self.card: Optional[CardModel] = None
        self.card_name: str = ""
        self.pull_after: Optional[int] = None
        self.apdus = 0
        self.holder = CardHolder()         # default holder for inserted cards (the demo person's data)

    @staticmethod
    def available() -> dict[str, str]:
        """Card name -> Chinese description, for the demo panel."""
        return {name: CARD_DESCRIPTIONS_ZH.get(name, name) for name in CARDS}

    def set_holder(self, **fields) -> None:
        """Emulate a given person's card: name, id_number, pan, expiry, ... (None = keep)."""
        from dataclasses import replace
        self.holder = replace(self.holder, **{k: v for k, v in fields.items() if v is not None})

    def insert(self, card: Union[str, CardModel] = "unionpay", pull_after: Optional[int] = None,
               **holder_fields) -> CardModel:
        model = card if isinstance(card, CardModel) else make_card(card, self.holder, **holder_fields)
        with self._lock:
            self.card, self.card_name = model, getattr(model, "name", str(card))
            self.pull_after, self.apdus = pull_after, 0
        self._reader._media(MediaState.PRESENT)
        return model

    def remove(self) -> None:
        with self._lock:
            self.card, self.card_name = None, ""
        self._reader._media(MediaState.NOT_PRESENT)

    @property
    def present(self) -> bool:
        return self.card is not None


class _SimTransport:
    def __init__(self, reader: "SimCardReader", model: CardModel, token: CancelToken):
        self.reader, self.model, self.token = reader, model, token

    def transmit(self, apdu: bytes) -> bytes:
        sim = self.reader.simulator
        if sim.card is not self.model:
            raise card_removed()
        sim.apdus += 1
        if sim.pull_after is not None and sim.apdus >= sim.pull_after:
            sim.remove()
            raise card_removed()
        answer = self.model.respond(apdu)
        if answer is None:                            # mute: wait as the real reader would, then give up
            end = time.monotonic() + self.reader.APDU_TIMEOUT_S
            while time.monotonic() < end:
                self.token.wait(0.05)
                if sim.card is not self.model:
                    raise card_removed()
            raise card_mute(f"no answer to {apdu[:4].hex()} within {self.reader.APDU_TIMEOUT_S:g} s")
        return answer


class SimCardReader(SmartCardReader):
    APDU_TIMEOUT_S = 5.0

    def __init__(self, role: Optional[str] = None):
        super().__init__(role)
        self.simulator = CardSimulator(self)
        self.status.update(device=DeviceStatus.ONLINE, media=MediaState.NOT_PRESENT, detail="simulated reader")

    @classmethod
    def is_usable(cls) -> Usability:
        return Usability(True)

    def _media(self, media: MediaState) -> None:
        if self.status.update(media=media):
            log.info("simulated card reader: media %s", media.value)

    @contextlib.contextmanager
    def _card_session(self, token: CancelToken, card_deadline: Optional[float]) -> Iterator[_SimTransport]:
        timeout = 0.0 if card_deadline is None else max(0.0, card_deadline - time.monotonic())
        self._wait_until(token, card_deadline, lambda: self.simulator.card is not None, lambda: None, timeout,
                         step=0.05)
        model = self.simulator.card
        if model is None:
            raise card_removed()
        model.reset()
        yield _SimTransport(self, model, token)


def build_sim_card_reader(settings: Settings) -> SimCardReader:
    return SimCardReader()
