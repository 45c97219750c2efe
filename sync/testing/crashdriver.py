"""SIGKILL crash harness for the journal and the sync worker (tests and bench only).

A "zygote" process imports everything once, then forks one child per round on request, so a round costs a
fork instead of a Python start-up. Protocol on the zygote's stdin/stdout (one line each):

    parent -> zygote:  ROUND <first_n> <count>
    child  -> parent:  PID <pid> | READY | ACK <n> <client_id> | END
    zygote -> parent:  DONE <pid> <wait status>

A child opens the journal (settings from the environment, HPF_KIOSK__*), starts the sync worker thread and
journals `count` evaluations n = first_n.., printing ACK only after Journal.create returned (durable). The
parent SIGKILLs the child's PID at a random moment; the zygote reaps it. `ZygoteHarness` is the parent side.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _child(first_n: int, count: int) -> None:
    from config import load_settings
    from sync.client import HttpCenterClient
    from sync.journal import Journal
    from sync.worker import SyncWorker

    _say(f"PID {os.getpid()}")
    settings = load_settings()
    journal = Journal.open(settings)
    worker = SyncWorker.from_settings(settings, journal, HttpCenterClient.from_settings(settings))
    try:
        worker.start(initial_delay_s=0)
    except Exception:          # the previous child's lock is released by the kernel at its death
        pass
    _say("READY")
    for n in range(first_n, first_n + count):
        e = journal.create("evaluation", {"score": 1 + n % 5, "item_code": "query", "comment": f"n={n}"},
                           person_key=f"P{n % 11}")
        _say(f"ACK {n} {e.client_id}")
        worker.wake()
        if n % 5 == 0:
            time.sleep(0.005)
    # keep uploading until killed (or the outbox is empty)
    while journal.figures().depth:
        time.sleep(0.01)
    _say("END")


def zygote_main() -> int:
    # Import everything the child needs before forking (the zygote stays single-threaded).
    import config  # noqa: F401
    import sync.client  # noqa: F401
    import sync.journal  # noqa: F401
    import sync.worker  # noqa: F401
    _say("ZYGOTE")
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "ROUND":
            continue
        first_n, count = int(parts[1]), int(parts[2])
        pid = os.fork()
        if pid == 0:
            try:
                _child(first_n, count)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        _say(f"DONE {pid} {status}")
    return 0


@dataclass
class RoundResult:
    acked: dict[int, str] = field(default_factory=dict)    # n -> client id acknowledged before the kill
    killed: bool = False
    reached_end: bool = False


class ZygoteHarness:
    """Parent side: start the zygote (stopped by its PID), run rounds, kill children by their PID."""

    def __init__(self, env: dict[str, str], cwd: str | Path, stderr_path: str | Path | None = None):
        err = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "sync.testing.crashdriver"], cwd=str(cwd),
                                         env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, bufsize=0)
        finally:
            if stderr_path:
                err.close()
        self._buf = b""
        line = self._line(60)
        if line != "ZYGOTE":
            raise RuntimeError(f"crash driver did not start: {line!r}")

    def _line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("crash driver is silent")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError("crash driver exited")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def round(self, first_n: int, count: int, kill_after_s: float) -> RoundResult:
        """One child: journal `count` items while uploading; SIGKILL it `kill_after_s` after READY."""
        res = RoundResult()
        self.proc.stdin.write(f"ROUND {first_n} {count}\n".encode())
        self.proc.stdin.flush()
        pid = None
        deadline = None
        silent = 0
        while True:
            timeout = 30.0 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                line = self._line(timeout) if timeout > 0 else None
            except TimeoutError:
                line = None
                silent += 1
                if silent > 3:
                    raise RuntimeError(f"crash round hung (child pid {pid})") from None
            if line is None:                         # the kill moment has come
                if pid is not None and not res.killed:
                    os.kill(pid, signal.SIGKILL)
                    res.killed = True
                deadline = time.monotonic() + 30
                continue
            word, *rest = line.split()
            if word == "PID":
                pid = int(rest[0])
            elif word == "READY":
                deadline = time.monotonic() + kill_after_s
            elif word == "ACK":
                res.acked[int(rest[0])] = rest[1]
            elif word == "END":
                res.reached_end = True
            elif word == "DONE":
                return res

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(zygote_main())
