"""Fixtures for the center's tests.

- `center_process`: a real `hpf-center serve` subprocess (SQLite in a temp dir), one per session.
- `any_center`: the same on SQLite and on a private PostgreSQL cluster (scripts/pg_harness.py), so a module
  that uses it runs every test on both databases. PostgreSQL tests are skipped with the reason when the
  server binaries are missing."""
from __future__ import annotations

import itertools
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from center.testing import run_center
from kiosk.domain.clientid import new_client_id

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from scripts.pg_harness import postgres_missing_reason, start_postgres  # noqa: E402

_db_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    reason = postgres_missing_reason()
    if reason:
        pytest.skip(reason)
    pg = start_postgres()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def center_process(tmp_path_factory):
    """One real center subprocess (SQLite) shared by this area's modules; each test uses its own terminal
    ids and demo persons, so the tests do not see each other's effects."""
    c = run_center(tmp_path_factory.mktemp("center"))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_center(request, tmp_path_factory):
    work = tmp_path_factory.mktemp(f"center-{request.param}")
    db_url = None
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        db_url = pg.create_database(f"center_{next(_db_counter)}")
    c = run_center(work, db_url=db_url)
    c.backend = request.param
    try:
        yield c
    finally:
        c.stop()


def tx(kind: str, payload: dict, client_id: str | None = None, **kw) -> dict:
    """One TransactionIn as the terminal sends it."""
    return {"client_id": client_id or new_client_id(), "kind": kind,
            "created_at": datetime.now(timezone.utc).isoformat(), "payload": payload, **kw}


@pytest.fixture
def make_tx():
    return tx
