"""Clay-style ids: a prefix, ``0t`` and 17 base62 characters, ordered by creation time.

The 17 characters are 8 of milliseconds, 4 of a per-millisecond counter (so ids minted in
the same millisecond still sort in order) and 5 random ones.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 62**2 two-digit strings
# Maps a random byte onto the alphabet (the 4/256 bias is irrelevant for uniqueness).
_RANDOM = bytes.maketrans(bytes(range(256)), bytes(ord(_ALPHABET[b % 62]) for b in range(256)))
_lock = threading.Lock()
_last_ms = 0
_counter = 0
_COUNTER_SPAN = 62**4


def _b62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _reserve(count: int) -> tuple[int, int]:
    """(millisecond, first counter value) for ``count`` ids, strictly after earlier ones."""
    global _last_ms, _counter
    with _lock:
        now = int(time.time() * 1000)
        if now > _last_ms:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(2), "big")  # < 62**4 / 200
        elif _counter + count >= _COUNTER_SPAN:
            _last_ms += 1
            _counter = 0
        start = _counter
        _counter += count
        return _last_ms, start


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` fresh ids in one call (the hot path of bulk inserts)."""
    if count > _COUNTER_SPAN // 2:
        raise ValueError("too many ids in one call")
    ms, start = _reserve(count)
    head = f"{prefix}_0t{_b62(ms, 8)}"
    rand = os.urandom(5 * count).translate(_RANDOM).decode("ascii")
    pairs = _PAIRS
    return [
        f"{head}{pairs[n // 3844]}{pairs[n % 3844]}{rand[5 * i : 5 * i + 5]}"
        for i, n in enumerate(range(start, start + count))
    ]


def new_id(prefix: str) -> str:
    """A fresh id such as ``t_0t81wcjDX7iDNWq2RHC``; later ids sort after earlier ones."""
    return new_ids(prefix, 1)[0]
