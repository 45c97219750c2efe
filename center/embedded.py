"""An embedded center in a background thread on a free loopback port (kiosk demo, other areas' tests).

    from center.embedded import start_center
    c = start_center()                 # temp SQLite, migrated, seeded with the demo persons
    secret = c.enroll("KIOSK-0001")    # bytes: the terminal's HMAC secret
    ... requests to c.url ...
    c.stop()
"""
from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import uvicorn

from center.config import CenterConfig

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedCenter:
    url: str
    host: str
    port: int
    config: CenterConfig
    app: object
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _tmpdir: Optional[str] = field(default=None, repr=False)

    @property
    def db_url(self) -> str:
        return self.config.db_url

    @property
    def operator_token(self) -> str:
        return self.config.operator_token

    def enroll_code(self, terminal_id: str, channel: str = "self_service") -> str:
        from center import security
        return security.issue_enroll_code(self.app.state.db, terminal_id, self.config.enroll_code_ttl_s, channel)

    def enroll(self, terminal_id: str, channel: str = "self_service") -> bytes:
        """Issues a one-time code and redeems it at once: returns the terminal's secret."""
        from center import security
        return security.enroll(self.app.state.db, terminal_id, self.enroll_code(terminal_id, channel))

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_center(db_url: str | None = None, seed: bool = True, *, port: int = 0, host: str = "127.0.0.1",
                 data_dir: str | Path | None = None, persons: int = 20, **config) -> EmbeddedCenter:
    """Starts a center on host:port (0 = a free port) and returns when it answers. `db_url=None` uses a
    temporary SQLite file removed by stop(). `seed=True` adds the demo persons (center/README.md) once."""
    from center.app import create_app
    tmp = None
    if db_url is None or data_dir is None:
        tmp = tempfile.mkdtemp(prefix="hpf-center-")
    data_dir = Path(data_dir) if data_dir else Path(tmp)
    db_url = db_url or f"sqlite:///{Path(tmp) / 'center.sqlite3'}"
    cfg = CenterConfig.from_env(db_url=db_url, data_dir=data_dir, **config)
    app = create_app(cfg)
    if seed:
        from center.seed import seed_if_empty
        seed_if_empty(app.state.db, persons=persons)
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           access_log=False))
    server.install_signal_handlers = lambda: None          # not the main thread
    th = threading.Thread(target=server.run, name=f"hpf-center-{port}", daemon=True)
    th.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not th.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"embedded center did not start on {host}:{port}")
        time.sleep(0.02)
    log.info("embedded center listening on http://%s:%d", host, port)
    return EmbeddedCenter(url=f"http://{host}:{port}", host=host, port=port, config=cfg, app=app, _server=server,
                          _thread=th, _tmpdir=tmp)
