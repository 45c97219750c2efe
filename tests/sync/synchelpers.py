"""Helpers for tests/sync (a terminal under test, payloads). Fixtures are in conftest.py."""
from __future__ import annotations

import itertools
import os
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from config import load_settings
from sync.client import HttpCenterClient, TerminalCredentials, credentials_file
from sync.journal import LOCAL_TZ, Journal
from sync.testing.faultproxy import FaultProxy
from sync.worker import SyncWorker

_serial = itertools.count(1)


def kiosk_env(data_dir: Path, terminal_id: str, url: str, **extra: str) -> dict[str, str]:
    env = {
        "HPF_KIOSK__PATHS__DATA_DIR": str(data_dir),
        "HPF_KIOSK__PATHS__LOG_DIR": str(data_dir / "log"),
        "HPF_KIOSK__TERMINAL__ID": terminal_id,
        "HPF_KIOSK__CENTER__URL": url,
        "HPF_KIOSK__CENTER__EMBEDDED": "false",
        "HPF_KIOSK__CENTER__CONNECT_TIMEOUT_S": "2",
        "HPF_KIOSK__CENTER__READ_TIMEOUT_S": "1",
        "HPF_KIOSK__SYNC__BACKOFF_BASE_S": "0.02",
        "HPF_KIOSK__SYNC__BACKOFF_CAP_S": "0.2",
        "HPF_KIOSK__SYNC__STAGGER_WINDOW_S": "0",
        "HPF_KIOSK__SYNC__IDLE_POLL_S": "0.1",
        "HPF_KIOSK__SYNC__BATCH_SIZE": "50",
    }
    env.update({k if k.startswith("HPF_") else "HPF_KIOSK__" + k.upper(): str(v) for k, v in extra.items()})
    return env


class Kiosk:
    """One terminal: settings, journal, a port to the center (possibly through a proxy), a worker."""

    def __init__(self, center, data_dir: Path, url: str | None = None, enroll: bool = True, **extra):
        self.center = center
        self.terminal_id = f"T{os.getpid() % 10000:04d}-{next(_serial):04d}"
        self.data_dir = data_dir
        self.env = kiosk_env(data_dir, self.terminal_id, url or center.url, **extra)
        self.settings = load_settings(profile="demo", env=self.env)
        self.secret = center.enroll(self.terminal_id) if enroll else None
        if enroll:
            TerminalCredentials(self.terminal_id, self.secret).save(credentials_file(self.settings))
        self.journal = Journal.open(self.settings)
        self._ports: list[HttpCenterClient] = []

    def port(self, secret: bytes | None = None) -> HttpCenterClient:
        p = HttpCenterClient.from_settings(
            self.settings, TerminalCredentials(self.terminal_id, secret if secret is not None else self.secret))
        self._ports.append(p)
        return p

    def worker(self, port=None, **kw) -> SyncWorker:
        return SyncWorker.from_settings(self.settings, self.journal, port or self.port(), **kw)

    def direct_port(self) -> HttpCenterClient:
        """Straight to the center (no proxy), for checking what it holds."""
        p = HttpCenterClient(self.center.url, TerminalCredentials(self.terminal_id, self.secret))
        self._ports.append(p)
        return p

    def center_accepted(self) -> set[str]:
        """What the center says it accepted from this terminal (today and yesterday, Asia/Shanghai)."""
        from datetime import datetime
        today = datetime.now(LOCAL_TZ).date()
        port = self.direct_port()
        out: set[str] = set()
        for d in (today - timedelta(days=1), today):
            out |= set(port.reconcile(d).accepted)
        return out

    def center_evaluation_comments(self) -> list[str]:
        """Raw rows in the center's evaluations table for this terminal (duplicates would show here)."""
        db = self.center.db_url.removeprefix("sqlite:///")
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [r[0] for r in conn.execute("SELECT comment FROM evaluations WHERE terminal_id = ?",
                                               (self.terminal_id,))]

    def close(self) -> None:
        for p in self._ports:
            p.close()
        self.journal.close()


def evaluation(n: int) -> dict:
    """A 好差评 payload the center always accepts; `n` makes each one distinguishable at the center."""
    return {"score": 1 + n % 5, "item_code": "query", "comment": f"n={n}"}
