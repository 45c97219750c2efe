"""Fixtures for the ID-card reader: a simulator on a real pty and the real IdCardReader connected to it.

Timeouts are shortened so fault stories (silence, truncation) finish quickly; waiting for an event uses a
generous bound that only matters when the code under test is broken (it is not a timing assertion)."""
from __future__ import annotations

import threading
from typing import Callable

import pytest

from devices.base import DeviceState
from devices.idcard.sim import IdCardSimulator, SimIdCardReader

FAST = dict(poll_interval_s=0.02, response_timeout_s=1.0, read_timeout_s=1.5, frame_slack_s=0.5,
            probe_interval_s=0.2)
PATIENCE_S = 10.0     # upper bound for waiting on an event that must happen


class StatusRecorder:
    """Collects (device, media) status events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[DeviceState] = []
        self._cond = threading.Condition()

    def __call__(self, role: str, state: DeviceState) -> None:
        with self._cond:
            self.events.append(state)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[DeviceState], bool], since: int = 0) -> DeviceState:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(predicate(e) for e in self.events[since:]), PATIENCE_S)
            assert ok, f"status never reached the expected state; events: {self.events[since:]}"
            return next(e for e in self.events[since:] if predicate(e))

    @property
    def devices(self) -> list[str]:
        return [e.device.value for e in self.events]


@pytest.fixture
def sim(tmp_path):
    s = IdCardSimulator(link=str(tmp_path / "ttyIDCARD"), pace=False).start()
    yield s
    s.stop()


@pytest.fixture
def make_reader(sim):
    made = []

    def make(**kw) -> SimIdCardReader:
        opts = dict(FAST, photo_decoder=sim.photo_decoder)
        opts.update(kw)
        r = SimIdCardReader(sim, **opts)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


@pytest.fixture
def reader(make_reader):
    return make_reader()


@pytest.fixture
def statuses(reader):
    rec = StatusRecorder()
    reader.status.subscribe(rec)
    return rec
