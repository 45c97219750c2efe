"""Fixtures for the journal / exactly-once sync tests.

The center is the real one (`hpf-center serve` subprocess via center.testing.run_center, SQLite in a temp
dir, stopped by its PID). Each test gets its own enrolled terminal id, so per-terminal sets never mix."""
from __future__ import annotations

import pytest

from center.testing import run_center
from sync.testing.faultproxy import FaultProxy
from tests.sync.synchelpers import Kiosk


@pytest.fixture(scope="session")
def center(tmp_path_factory):
    """One center for the whole sync area (each test uses its own terminal id, so sets never mix)."""
    c = run_center(tmp_path_factory.mktemp("center"), seed=None)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def make_kiosk(center, tmp_path):
    made: list[Kiosk] = []

    def _make(url: str | None = None, enroll: bool = True, **extra) -> Kiosk:
        k = Kiosk(center, tmp_path / f"kiosk{len(made)}", url, enroll=enroll, **extra)
        made.append(k)
        return k

    yield _make
    for k in made:
        k.close()


@pytest.fixture
def kiosk(make_kiosk) -> Kiosk:
    return make_kiosk()


@pytest.fixture
def proxy(center):
    p = FaultProxy("127.0.0.1", center.port, seed=1234).start()
    try:
        yield p
    finally:
        p.stop()


