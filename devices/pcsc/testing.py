"""Test harness: one private pcscd (with the vpcd virtual reader) for a test session or a bench run.

pcscd has a fixed socket (/run/pcscd/pcscd.comm) so only one can run on the machine. The harness:
- refuses to start when that socket belongs to a live pcscd (it is someone else's);
- removes a stale socket left by a dead one (pcscd would refuse to start otherwise);
- starts `pcscd --foreground`, optionally with a private reader.conf.d (`-c DIR`), waits until clients can
  list its readers, and stops it by the PID it started (never by name).
vpcd listens on 0.0.0.0:35963/35964 while this pcscd runs (acceptable on a test machine; the virtual card
itself only connects to 127.0.0.1).
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

from devices.base import DeviceState

RUN_DIR = Path("/run/pcscd")
SOCKET = RUN_DIR / "pcscd.comm"
PIDFILE = RUN_DIR / "pcscd.pid"
VPCD_GLOBS = ("/usr/lib/pcsc/drivers/serial/libifdvpcd.so", "/usr/lib/*/pcsc/drivers/serial/libifdvpcd.so",
              "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so")
SLOT0, SLOT1 = "Virtual PCD 00 00", "Virtual PCD 00 01"
VPCD_READERS = (SLOT0, SLOT1)
PORTS = {SLOT0: 35963, SLOT1: 35964}       # vpcd's TCP port per slot


class HarnessError(RuntimeError):
    pass


def pcscd_binary() -> Optional[str]:
    return shutil.which("pcscd") or next((p for p in ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd")
                                          if os.access(p, os.X_OK)), None)


def vpcd_driver() -> Optional[str]:
    for pattern in VPCD_GLOBS:
        hits = glob.glob(pattern)
        if hits:
            return hits[0]
    return None


def missing() -> str:
    """Why the real-pcscd tests cannot run here ('' when they can)."""
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed"
    if not pcscd_binary():
        return "pcscd is not installed (apt-get install pcscd)"
    if not vpcd_driver():
        return "the vpcd reader driver is not installed (apt-get install vsmartcard-vpcd)"
    if os.geteuid() != 0 and not os.access(RUN_DIR if RUN_DIR.exists() else RUN_DIR.parent, os.W_OK):
        return f"cannot write {RUN_DIR} (pcscd must run as root here)"
    return ""


def socket_is_live(path: Path = SOCKET) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def write_reader_conf(directory: Path, with_vpcd: bool = True) -> Path:
    """A private reader.conf.d: with the vpcd reader, or empty (a terminal whose reader is unplugged)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    if with_vpcd:
        (directory / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x8C7B\n'
            f"LIBPATH      {vpcd_driver()}\nCHANNELID    0x8C7B\n")
    return directory


class Pcscd:
    """A pcscd started and stopped by this process."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.workdir / "pcscd.log"
        self.config_dir: Optional[Path] = None

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc else None

    def _clear_stale_socket(self) -> None:
        if not SOCKET.exists():
            return
        if socket_is_live():
            owner = PIDFILE.read_text().strip() if PIDFILE.exists() else "unknown"
            raise HarnessError(f"a pcscd is already running (pid {owner}, socket {SOCKET}); "
                               "it is not ours, so it is left alone: stop it before running these tests")
        SOCKET.unlink()
        if PIDFILE.exists():
            PIDFILE.unlink()

    def start(self, with_vpcd: bool = True, timeout: float = 15.0, attempts: int = 5) -> "Pcscd":
        """Start pcscd; retried when vpcd finds its TCP port taken. 35963/35964 lie inside Linux's ephemeral
        port range, so an unrelated outgoing connection (a busy test or bench) can hold one for a moment."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(with_vpcd, timeout)
            except HarnessError as exc:
                if "Address already in use" not in str(exc) or attempt == attempts:
                    raise
                time.sleep(2.0)
        raise AssertionError("unreachable")

    def _start_once(self, with_vpcd: bool, timeout: float) -> "Pcscd":
        if self.proc and self.proc.poll() is None:
            raise HarnessError("pcscd already started by this harness")
        reason = missing()
        if reason:
            raise HarnessError(reason)
        self._clear_stale_socket()
        self.config_dir = write_reader_conf(self.workdir / "reader.conf.d", with_vpcd)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([pcscd_binary(), "--foreground", "--info", "-c", str(self.config_dir)],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        self._wait_ready(with_vpcd, timeout)
        return self

    def _wait_ready(self, with_vpcd: bool, timeout: float) -> None:
        from smartcard import scard as S
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise HarnessError(f"pcscd exited with {self.proc.returncode}: {self.log_tail()}")
            if with_vpcd and "Address already in use" in self._log_since_start():
                tail = self.log_tail()
                self.stop()
                raise HarnessError(f"vpcd could not bind its port: {tail}")
            if SOCKET.exists() and socket_is_live():
                hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
                if hr == S.SCARD_S_SUCCESS:
                    hr, names = S.SCardListReaders(ctx, [])
                    S.SCardReleaseContext(ctx)
                    # the vpcd driver binds its ports before pcscd lists its readers
                    if not with_vpcd or (hr == S.SCARD_S_SUCCESS and set(VPCD_READERS) <= set(names)):
                        return
            time.sleep(0.05)
        self.stop()
        raise HarnessError(f"pcscd not ready within {timeout:g} s: {self.log_tail()}")

    def _log_since_start(self) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(getattr(self, "_log_offset", 0))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)          # our own child, by its PID
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if SOCKET.exists() and not socket_is_live():
            SOCKET.unlink()

    def restart(self, with_vpcd: bool = True) -> None:
        self.stop()
        self.start(with_vpcd)

    def __enter__(self) -> "Pcscd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ------------------------------------------------------------------ waiting on device status (tests, bench)

HANG_GUARD_S = 15.0     # a bound on waiting for an event, so a broken build fails instead of hanging


class Events:
    """Records status changes and lets a test wait for one (no timing assertions, only a hang guard)."""

    def __init__(self, device):
        self.states: list[DeviceState] = []
        self._cond = threading.Condition()
        self.unsubscribe = device.status.subscribe(self._on)

    def _on(self, role, state):
        with self._cond:
            self.states.append(state)
            self._cond.notify_all()

    def wait_for(self, predicate, what: str):
        end = time.monotonic() + HANG_GUARD_S
        with self._cond:
            while True:
                for st in self.states:
                    if predicate(st):
                        return st
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"never saw {what}; states: {self.states}")
                self._cond.wait(left)

    def clear(self):
        with self._cond:
            self.states.clear()


def wait_state(device, predicate, what: str):
    end = time.monotonic() + HANG_GUARD_S
    while not predicate(device.status.state):
        if time.monotonic() > end:
            raise AssertionError(f"reader never reached {what}: {device.status.state}")
        time.sleep(0.02)
    return device.status.state


def main() -> int:
    """`python -m devices.pcsc.testing`: run a private pcscd with the vpcd reader until Ctrl-C (demo/manual tests)."""
    import tempfile
    daemon = Pcscd(Path(tempfile.mkdtemp(prefix="pcscd-")))
    try:
        daemon.start()
    except HarnessError as exc:
        print(f"error: {exc}")
        return 1
    print(f"pcscd running (pid {daemon.pid}, log {daemon.log_path}); readers: {', '.join(VPCD_READERS)}")
    print("insert a card with: python -m devices.pcsc.vcard --card unionpay   (Ctrl-C here stops pcscd)")
    try:
        daemon.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        daemon.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
