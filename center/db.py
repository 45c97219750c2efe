"""Engine, sessions and migrations for the center. SQLite (default) and PostgreSQL (psycopg 3).

SQLite: WAL, a busy timeout and `BEGIN IMMEDIATE` for every transaction, so concurrent writers queue on the
database lock instead of failing with "database is locked" when a reader tries to upgrade; inside one process
they first queue on a gate (see _gated_connection_class) so the lock is handed over fairly under load."""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """`postgresql://...` means psycopg 3; a bare path means a SQLite file."""
    if "://" not in url:
        return f"sqlite:///{Path(url).resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _gated_connection_class():
    """sqlite3.Connection whose write transactions pass an in-process gate (one per engine) before
    BEGIN IMMEDIATE and leave it when COMMIT/ROLLBACK has run. Waiting on a lock hands the database over
    promptly; SQLite's own busy handler retries by sleeping, which lets unlucky requests starve under load."""
    gate = threading.Lock()

    class GatedConnection(sqlite3.Connection):
        _hpf_gated = False

        def acquire_gate(self) -> None:
            if not gate.acquire(timeout=60):
                raise sqlite3.OperationalError("database is locked (write gate not acquired within 60 s)")
            self._hpf_gated = True

        def release_gate(self) -> None:
            if self._hpf_gated:
                self._hpf_gated = False
                gate.release()

        def commit(self):
            try:
                super().commit()
            finally:
                self.release_gate()

        def rollback(self):
            try:
                super().rollback()
            finally:
                self.release_gate()

        def close(self):
            try:
                super().close()
            finally:
                self.release_gate()

    return GatedConnection


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60,
                                                  "isolation_level": None, "factory": _gated_connection_class()},
                               pool_size=20, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            dbapi_conn = conn.connection.dbapi_connection
            dbapi_conn.acquire_gate()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_gate()
                raise
        return engine
    return create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        with s.begin():
            yield s


def migrate(url: str) -> None:
    """Apply every Alembic migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
