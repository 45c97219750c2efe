"""Client ids (UUIDv7). Uses kiosk.domain.clientid.new_client_id when the domain package provides it."""
from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def _uuid7() -> str:
    """RFC 9562 UUIDv7: 48-bit unix ms, 12-bit monotonic counter within the ms, 62 random bits."""
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:           # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms, _seq = ms, int.from_bytes(os.urandom(2), "big") & 0x3FF
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


_impl = None


def new_client_id() -> str:
    global _impl
    if _impl is None:
        try:
            from kiosk.domain.clientid import new_client_id as domain_new_client_id
            _impl = lambda: str(domain_new_client_id())  # noqa: E731
        except ImportError:
            _impl = _uuid7
    return _impl()
