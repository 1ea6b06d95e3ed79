"""Opaque, prefixed, time-ordered ids such as ``usr_01JD3...``.

The body is a ULID (48-bit millisecond time + 80 random bits, Crockford base32),
so ids sort by creation time and a log line tells what an id names.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_RE = re.compile(r"^[a-z]{2,5}_[0-9A-HJKMNP-TV-Z]{26}$")
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id with ``prefix``; ids made in one process are strictly increasing."""
    global _last_ms, _last_rand
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same millisecond (or a clock step back): keep order by incrementing.
            now_ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = now_ms, rand
    return f"{prefix}_{_encode(now_ms, 10)}{_encode(rand & ((1 << 80) - 1), 16)}"


def is_valid_id(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` has the shape of an id (with ``prefix`` if given)."""
    if not _ID_RE.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")
