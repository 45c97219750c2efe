"""Client-side ids for anything with a money or paper effect: UUIDv7 (RFC 9562 §5.7), monotonic in-process.

Layout: 48-bit Unix ms | ver 7 | 12-bit rand_a | var 10 | 62-bit rand_b. Monotonicity uses RFC 9562 §6.2
method 2-like handling: within the same millisecond (or if the clock steps back) the previous 74 random
bits are incremented by a random amount, so ids sort in creation order and stay unguessable."""
from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0
_RAND_BITS = 74


def new_client_id() -> str:
    """A fresh UUIDv7 string; later calls in this process always compare greater (as strings too)."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms, _last_rand = now, secrets.randbits(_RAND_BITS - 1)   # headroom for increments
        else:
            _last_rand += secrets.randbits(16) + 1
            if _last_rand >= 1 << _RAND_BITS:       # counter overflow: borrow the next millisecond
                _last_ms, _last_rand = _last_ms + 1, secrets.randbits(_RAND_BITS - 1)
        ms, rand = _last_ms, _last_rand
    rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def timestamp_ms(client_id: str) -> int:
    """The Unix millisecond a UUIDv7 was made."""
    return uuid.UUID(client_id).int >> 80
