"""The center's schema comes from Alembic only: the services_extra tables (once created at start-up) and the
case history are revisions 0002 and 0003. A database at the previous head (0001) is upgraded in place, on SQLite
and on PostgreSQL, and keeps the rows an older center had put into the start-up tables."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, insert, select, text

from center.api.services_extra import META, passwords, statements
from center.db import MIGRATIONS_DIR, make_engine, normalize_url
from center.models import Base

_n = itertools.count(1)
ADOPTED = {"svc_query_passwords", "svc_statements", "svc_loan_repayment_accounts"}


def _upgrade(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'center.sqlite3'}"
    return request.getfixturevalue("pg_cluster").create_database(f"center_mig_{next(_n)}")


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_upgrading_a_database_at_the_previous_head_adds_the_tables(db_url):
    _upgrade(db_url, "0001")
    assert not (_tables(db_url) & (ADOPTED | {"case_events"}))
    _upgrade(db_url, "head")
    assert ADOPTED | {"case_events"} <= _tables(db_url)
    assert _revision(db_url) == "0003"
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:     # the migrated schema is exactly what the code declares
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                     [Base.metadata, META])
        assert diffs == []
    finally:
        engine.dispose()


def test_tables_an_older_center_created_at_start_up_are_adopted_with_their_rows(db_url):
    _upgrade(db_url, "0001")
    engine = make_engine(db_url)
    now = datetime.now(timezone.utc)
    try:
        META.create_all(engine)             # what services_extra.install did at every start before 0002
        with engine.begin() as conn:
            conn.execute(insert(passwords).values(person_id=7, salt=b"s" * 16, hash=b"h" * 64, failures=2,
                                                  updated_at=now))
            conn.execute(insert(statements).values(verification_code="ABCD-EFGH-JKLM", serial="MX1", person_id=7,
                                                   payload={"a": 1}, signature="sig", issued_at=now))
    finally:
        engine.dispose()
    _upgrade(db_url, "head")
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(passwords.c.failures).where(passwords.c.person_id == 7)).scalar() == 2
            assert conn.execute(select(statements.c.payload)).scalar() == {"a": 1}
            assert conn.execute(text("SELECT count(*) FROM case_events")).scalar() == 0
    finally:
        engine.dispose()
    assert _revision(db_url) == "0003"


def test_start_up_no_longer_creates_tables_outside_the_migrations(tmp_path, caplog):
    from center.app import create_app
    from center.config import CenterConfig
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    with caplog.at_level("WARNING", logger="center.api.services_extra"):
        app = create_app(CenterConfig.from_env(env={}, db_url=url, data_dir=tmp_path))
    app.state.engine.dispose()
    assert ADOPTED <= _tables(url)
    assert not [r for r in caplog.records if "not created by any center migration" in r.getMessage()]
