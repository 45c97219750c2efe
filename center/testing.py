"""Test helpers other areas import: a real `hpf-center serve` subprocess on a free loopback port (stopped by
its PID) and a signing HTTP client.

    from center.testing import center_process, SignedClient     # center_process is a pytest fixture

    def test_something(center_process):
        secret = center_process.enroll("KIOSK-0001")
        c = SignedClient(center_process.url, "KIOSK-0001", secret)
        r = c.post("/v1/transactions", {...}, idempotency_key=client_id)

or without pytest: `with run_center(tmpdir) as center: ...`."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests

from center.embedded import free_port
from sync import protocol as P


class SignedClient:
    """requests-based client that signs every request as terminal `terminal_id` (sync.protocol)."""

    def __init__(self, base_url: str, terminal_id: str, secret: bytes, teller_token: str | None = None,
                 timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.secret = secret
        self.teller_token = teller_token
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None,
                headers: dict | None = None, raw: bytes | None = None, content_type: str = "application/json",
                now: float | None = None, nonce: str | None = None) -> requests.Response:
        """`path` includes the query string. `body` is JSON-encoded unless `raw` bytes are given."""
        data = raw if raw is not None else (b"" if body is None else
                                            json.dumps(body, ensure_ascii=False).encode("utf-8"))
        h = P.signed_headers(self.terminal_id, self.secret, method, path, data, now=now, nonce=nonce)
        if data:
            h["Content-Type"] = content_type
        if idempotency_key:
            h[P.HEADER_IDEMPOTENCY] = idempotency_key
        if self.teller_token:
            h[P.HEADER_TELLER_TOKEN] = self.teller_token
        h.update(headers or {})
        return self.session.request(method, self.base_url + path, data=data, headers=h, timeout=self.timeout)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> requests.Response:
        return self.request("POST", path, body, **kw)

    def post_multipart(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]],
                       **kw) -> requests.Response:
        """Multipart form (e.g. face-verify): the exact encoded body is what gets signed."""
        prepared = requests.Request("POST", "http://x" + path, data=fields, files=files).prepare()
        return self.request("POST", path, raw=prepared.body, content_type=prepared.headers["Content-Type"], **kw)


@dataclass
class CenterProcess:
    url: str
    port: int
    pid: int
    db_url: str
    operator_token: str
    data_dir: Path
    _proc: subprocess.Popen = field(repr=False)
    log_path: Optional[Path] = None

    def admin(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None) -> requests.Response:
        h = {"Authorization": f"Bearer {self.operator_token}"}
        if method != "GET":
            h[P.HEADER_IDEMPOTENCY] = idempotency_key or secrets.token_hex(16)
        return requests.request(method, self.url + path, json=body, headers=h, timeout=30)

    def enroll_code(self, terminal_id: str, channel: str = "self_service") -> str:
        r = self.admin("POST", f"/v1/admin/terminals/{terminal_id}/enroll-code?channel={channel}")
        r.raise_for_status()
        return r.json()["code"]

    def enroll(self, terminal_id: str, channel: str = "self_service") -> bytes:
        code = self.enroll_code(terminal_id, channel)
        r = requests.post(self.url + "/v1/terminals/enroll", json={"terminal_id": terminal_id, "code": code},
                          timeout=30)
        r.raise_for_status()
        return bytes.fromhex(r.json()["secret_hex"])

    def client(self, terminal_id: str, channel: str = "self_service") -> SignedClient:
        return SignedClient(self.url, terminal_id, self.enroll(terminal_id, channel))

    def stop(self) -> None:
        """Stops the server by the PID this helper started (SIGTERM, then SIGKILL after 15 s)."""
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_center(work_dir: str | Path, db_url: str | None = None, seed: int | None = 20,
               env: dict | None = None, startup_timeout_s: float = 60) -> CenterProcess:
    """Starts `python -m center.cli serve` on a free 127.0.0.1 port; returns once /healthz answers."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{work_dir / 'center.sqlite3'}"
    token = secrets.token_urlsafe(24)
    last_err = ""
    for _attempt in range(3):
        port = free_port()
        log_path = work_dir / f"center-{port}.log"
        cmd = [sys.executable, "-m", "center.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--db", db_url, "--data-dir", str(work_dir)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        e = dict(os.environ, HPF_CENTER_OPERATOR_TOKEN=token, PYTHONUNBUFFERED="1", **(env or {}))
        logf = open(log_path, "wb")
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=e,
                                cwd=str(Path(__file__).resolve().parent.parent))
        logf.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + startup_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    return CenterProcess(url=url, port=port, pid=proc.pid, db_url=db_url, operator_token=token,
                                         data_dir=work_dir, _proc=proc, log_path=log_path)
            except requests.RequestException:
                pass
            time.sleep(0.1)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        last_err = log_path.read_text(errors="replace")[-2000:]
        if "address already in use" not in last_err.lower():
            break
    raise RuntimeError(f"hpf-center did not start: {last_err}")


def seeded_template(directory: str | Path, persons: int = 5) -> Path:
    """A seeded center database (demo persons + `persons` more) made once in `directory`, for copies."""
    from center.embedded import start_center
    d = Path(directory)
    start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, persons=persons).stop()
    return d


def center_from_template(template: str | Path, directory: str | Path):
    """A fresh embedded center over HTTP on a free loopback port, on its own copy of a seeded_template (seeding
    takes seconds; a copy takes milliseconds). The caller stops it."""
    import shutil
    from center.embedded import start_center
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for f in Path(template).iterdir():
        if f.is_file():
            shutil.copy(f, d / f.name)
    return start_center(db_url=f"sqlite:///{d / 'center.sqlite3'}", data_dir=d, seed=False)


try:
    import pytest

    @pytest.fixture(scope="module")
    def center_process(tmp_path_factory):
        """A real center subprocess (SQLite in a temp dir, demo persons + 20 seeded), one per test module."""
        c = run_center(tmp_path_factory.mktemp("center"))
        try:
            yield c
        finally:
            c.stop()
except ImportError:  # pragma: no cover - pytest not installed (production)
    pass
