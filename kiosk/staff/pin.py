"""Technician PIN: a scrypt hash in security.technician_pin_hash and a lockout that survives restarts.

Hash format: "scrypt$<log2 n>$<r>$<p>$<salt hex>$<hash hex>" (hashlib.scrypt, no extra dependency).
The failure counter and the lock end are kept in <data_dir>/technician-pin.state (JSON, written atomically),
so turning the terminal off and on does not reset a lockout."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from kiosk.staff.errors import StaffError

log = logging.getLogger(__name__)

LOG2_N, R, P = 14, 8, 1          # ~16 MiB, tens of ms: slow for guessing, fine for a technician
MIN_PIN, MAX_PIN = 6, 12


def hash_pin(pin: str, *, log2_n: int = LOG2_N) -> str:
    _check_format(pin)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2 ** log2_n, r=R, p=P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${log2_n}${R}${P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2 ** int(log2_n), r=int(r), p=int(p),
                             maxmem=64 * 1024 * 1024, dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError):
        log.error("technician PIN hash in the configuration is malformed")
        return False
    return hmac.compare_digest(got.hex(), digest)


def _check_format(pin: str) -> None:
    if not isinstance(pin, str) or not pin.isdigit() or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise StaffError("PIN_FORMAT", f"维护密码应为{MIN_PIN}至{MAX_PIN}位数字",
                         f"technician PIN must be {MIN_PIN}..{MAX_PIN} digits")


@dataclass
class PinState:
    failures: int = 0
    locked_until: float = 0.0


class PinGuard:
    """verify(pin) -> None or raises StaffError (PIN_NOT_SET, PIN_WRONG with attempts left, PIN_LOCKED)."""

    def __init__(self, pin_hash: Optional[str], state_file: Path, *, max_attempts: int, lockout_s: int,
                 clock: Callable[[], float] = time.time, audit=None):
        self.pin_hash = pin_hash
        self.state_file = Path(state_file)
        self.max_attempts = max_attempts
        self.lockout_s = lockout_s
        self.clock = clock
        self.audit = audit
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, *, clock: Callable[[], float] = time.time, audit=None) -> "PinGuard":
        sec = settings.security
        h = sec.technician_pin_hash.get_secret_value() if sec.technician_pin_hash else None
        return cls(h, Path(settings.paths.data_dir) / "technician-pin.state", max_attempts=sec.max_pin_attempts,
                   lockout_s=sec.lockout_s, clock=clock, audit=audit)

    def state(self) -> PinState:
        try:
            d = json.loads(self.state_file.read_text())
            return PinState(int(d.get("failures", 0)), float(d.get("locked_until", 0)))
        except FileNotFoundError:
            return PinState()
        except (OSError, ValueError, TypeError):
            # a damaged state file must not unlock: treat as locked now
            log.error("technician PIN state %s unreadable; locking for safety", self.state_file)
            return PinState(self.max_attempts, self.clock() + self.lockout_s)

    def _save(self, st: PinState) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump({"failures": st.failures, "locked_until": st.locked_until}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)

    def locked_for(self) -> int:
        return max(0, int(self.state().locked_until - self.clock() + 0.999))

    def verify(self, pin: str) -> None:
        with self._lock:
            if not self.pin_hash:
                raise StaffError("PIN_NOT_SET", "尚未设置维护密码，请用 hpf-kiosk technician set-pin 设置",
                                 "security.technician_pin_hash is not set")
            st = self.state()
            now = self.clock()
            if st.locked_until > now:
                mins = int((st.locked_until - now) // 60) + 1
                self._audit("refused:PIN_LOCKED")
                raise StaffError("PIN_LOCKED", f"维护密码错误次数过多，已锁定，请{mins}分钟后再试",
                                 f"technician PIN locked for {int(st.locked_until - now)} s")
            if verify_pin(str(pin), self.pin_hash):
                if st.failures or st.locked_until:
                    self._save(PinState())
                self._audit("ok")
                return
            st.failures += 1
            if st.failures >= self.max_attempts:
                st = PinState(0, now + self.lockout_s)
                self._save(st)
                self._audit("refused:PIN_LOCKED", locked_s=self.lockout_s)
                log.warning("technician PIN locked for %d s after %d wrong attempts", self.lockout_s, self.max_attempts)
                raise StaffError("PIN_LOCKED", f"维护密码错误次数过多，已锁定{self.lockout_s // 60}分钟",
                                 f"technician PIN locked after {self.max_attempts} failures")
            self._save(st)
            left = self.max_attempts - st.failures
            self._audit("refused:PIN_WRONG", attempts_left=left)
            raise StaffError("PIN_WRONG", f"维护密码不正确，还可尝试{left}次", f"wrong technician PIN, {left} left")

    def _audit(self, result: str, **details) -> None:
        if self.audit is not None:
            self.audit.append("technician", "technician.unlock", result=result, details=details)
