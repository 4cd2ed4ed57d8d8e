"""Clay-style ids: a prefix, ``0t`` and 17 base62 characters, ordered by creation time."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _b62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _next_stamp() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        now = int(time.time() * 1000)
        if now <= _last_ms:
            _counter += 1
            now = _last_ms
        else:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(3), "big") >> 4
        return now, _counter


def new_id(prefix: str) -> str:
    """A fresh id such as ``t_0t81wcjDX7iDNWq2RHC``; later ids sort after earlier ones."""
    ms, counter = _next_stamp()
    rand = int.from_bytes(os.urandom(4), "big")
    return f"{prefix}_0t{_b62(ms, 8)}{_b62(counter, 4)}{_b62(rand, 5)}"


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` fresh ids in one call (the hot path of bulk inserts)."""
    global _last_ms, _counter
    with _lock:
        now = max(int(time.time() * 1000), _last_ms)
        if now > _last_ms:
            _counter = int.from_bytes(os.urandom(3), "big") >> 4
        _last_ms = now
        start = _counter + 1
        _counter += count
    head = f"{prefix}_0t{_b62(now, 8)}"
    rand = os.urandom(4 * count)
    return [
        f"{head}{_b62(start + i, 4)}{_b62(int.from_bytes(rand[4 * i : 4 * i + 4], 'big'), 5)}"
        for i in range(count)
    ]
