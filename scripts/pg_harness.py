"""A private PostgreSQL cluster for tests and benches: initdb into a temp dir, pg_ctl start on a free loopback
port with the socket in that dir, stop by pg_ctl (and the postmaster PID). Runs the server as user
`postgres` when invoked as root (CI runs as root; PostgreSQL refuses to run as root).

    from scripts.pg_harness import start_postgres, postgres_missing_reason
    pg = start_postgres()            # or: with start_postgres() as pg:
    url = pg.create_database("center_test")   # postgresql://postgres@127.0.0.1:PORT/center_test
    pg.stop()

CLI: python scripts/pg_harness.py  (starts, prints the URL, waits for Enter, stops)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


def pg_bin_dir() -> Optional[Path]:
    env = os.environ.get("HPF_PG_BIN")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def postgres_missing_reason() -> Optional[str]:
    """None when a cluster can be started here, else why not (for pytest.skip)."""
    if pg_bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgCluster:
    bin_dir: Path
    data_dir: Path
    sock_dir: Path
    port: int
    user: str
    _root: Path
    _as_user: list[str] = field(default_factory=list)
    pid: Optional[int] = None

    @property
    def base_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, database: str = "postgres") -> str:
        return f"{self.base_url}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """pg_ctl stop (fast); if that fails, SIGTERM the postmaster by its PID."""
        if self.data_dir.exists():
            r = subprocess.run(self._as_user + [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                                                "-w", "-t", "30", "stop"], capture_output=True, text=True)
            if r.returncode != 0 and self.pid:
                try:
                    os.kill(self.pid, 15)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_postgres(root: str | Path | None = None) -> PgCluster:
    reason = postgres_missing_reason()
    if reason:
        raise RuntimeError(reason)
    bin_dir = pg_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="hpf-pg-", dir=root))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    user = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (root, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(root, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else ["su", "postgres", "-c"]
        user = "postgres"
    run = lambda args, **kw: subprocess.run(as_user + args, capture_output=True, text=True, **kw)
    r = run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"])
    if r.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {r.stderr[-1500:]}")
    last = ""
    for _ in range(3):
        port = _free_port()
        opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                f"-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB")
        r = run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "server.log"), "-w",
                 "-t", "60", "start"])
        if r.returncode == 0:
            pid = None
            pidfile = data / "postmaster.pid"
            for _ in range(50):
                if pidfile.exists():
                    pid = int(pidfile.read_text().splitlines()[0])
                    break
                time.sleep(0.05)
            return PgCluster(bin_dir, data, sock, port, user, root, as_user, pid)
        last = (root / "server.log").read_text(errors="replace")[-1500:] if (root / "server.log").exists() else r.stderr
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"pg_ctl start failed: {last}")


if __name__ == "__main__":
    with start_postgres() as pg:
        print(pg.url(), flush=True)
        try:
            input("running; press Enter to stop\n")
        except EOFError:
            pass
