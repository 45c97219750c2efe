"""The journal's SQLite engine: WAL, synchronous=FULL, IMMEDIATE write transactions, migrations on open."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

HEAD = "head"
_SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    return cfg


def create_journal_engine(path: Path) -> sa.Engine:
    """An engine whose every connection is WAL + synchronous=FULL (each commit is fsynced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only from the first byte; SQLite gives the -wal and -shm files the database file's mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "isolation_level": None},
                              pool_size=4, max_overflow=4)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoints fsync the database file; the sync worker runs them (Journal.checkpoint) off the enqueue
        # path. This larger automatic threshold (~16 MB of WAL) is only the safety net.
        cur.execute("PRAGMA wal_autocheckpoint=4000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock up front so two processes never deadlock upgrading a read lock.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate(engine: sa.Engine, revision: str = HEAD) -> None:
    """Bring the schema to `revision` (default: head) inside one IMMEDIATE transaction."""
    cfg = alembic_config()
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        cfg.attributes["connection"] = conn
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(cfg, revision)
        after = MigrationContext.configure(conn).get_current_revision()
    if before != after:
        log.info("journal schema migrated from %s to %s", before or "empty", after)
