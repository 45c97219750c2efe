"""Fixtures for the card-reader tests.

`pcscd` starts one private pcscd (with the vpcd virtual reader) for the whole session and stops it by its PID;
tests that need it skip with the reason when pcscd/vpcd/pyscard are missing. `insert_card` puts a virtual card
into a vpcd slot and takes it out again at the end of the test.
"""
from __future__ import annotations

import pytest

from devices.base import MediaState
from devices.pcsc import testing
from devices.pcsc.cards import make_card
from devices.pcsc.testing import PORTS, SLOT0, wait_state
from devices.pcsc.vcard import VirtualCard


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory):
    reason = testing.missing()
    if reason:
        pytest.skip(f"real PC/SC tests need pcscd + vpcd: {reason}")
    daemon = testing.Pcscd(tmp_path_factory.mktemp("pcscd"))
    try:
        daemon.start()
    except testing.HarnessError as exc:
        pytest.skip(f"cannot start a private pcscd: {exc}")
    yield daemon
    daemon.stop()


@pytest.fixture
def pcsc_reader(pcscd):
    from devices.pcsc.reader import PcscCardReader
    reader = PcscCardReader(SLOT0)
    reader.APDU_TIMEOUT_S = 1.0          # the mute-card test waits this long per silent APDU
    wait_state(reader, lambda s: s.device.value == "online", "online")
    yield reader
    reader.close()


@pytest.fixture
def insert_card(pcscd):
    """insert_card("unionpay", slot=SLOT0, pull_after=None, **holder) -> VirtualCard (already seen by pcscd)."""
    from devices.pcsc.reader import PcscCardReader
    cards: list[VirtualCard] = []
    watchers: dict[str, PcscCardReader] = {}

    def watcher(slot):
        if slot not in watchers:
            watchers[slot] = PcscCardReader(slot)
        return watchers[slot]

    def insert(kind: str = "unionpay", slot: str = SLOT0, pull_after=None, wait: bool = True, **holder):
        w = watcher(slot)
        wait_state(w, lambda s: s.media is MediaState.NOT_PRESENT, "an empty slot")
        card = VirtualCard(make_card(kind, **holder), port=PORTS[slot], pull_after=pull_after).start()
        cards.append(card)
        if wait:
            wait_state(w, lambda s: s.media is MediaState.PRESENT, "card present")
        return card

    def remove(card: VirtualCard, slot: str = SLOT0):
        card.stop()
        wait_state(watcher(slot), lambda s: s.media is not MediaState.PRESENT, "card removed")

    insert.remove = remove
    yield insert
    for card in cards:
        card.stop()
    for slot, w in watchers.items():
        if pcscd.proc is not None:
            wait_state(w, lambda s: s.media is not MediaState.PRESENT, "slot empty after the test")
        w.close()
