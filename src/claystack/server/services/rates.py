"""Rate limits that every server process shares, kept in the database (``rate_buckets``).

The generic cell rate algorithm: a key's row holds the theoretical arrival time (``tat``)
of its next request at the rate; a request is let through when that time is no more than
``burst`` intervals ahead of now, and moves it one interval on. One statement takes a token
or refuses, atomically, whichever process asks. On SQLite (one process) the webhook limits
stay in memory (``webhooks.TokenBuckets``); this is the PostgreSQL path.
"""

from __future__ import annotations

import time

from ..storage.repositories import Connection, rate_buckets


def _now_us() -> int:
    return time.time_ns() // 1000


async def take(
    conn: Connection, key: str, rate: float, burst: int, now_us: int | None = None
) -> float:
    """Takes one token of ``key`` (``rate`` per second, ``burst`` deep): 0 if taken, else
    the seconds until one will be there."""
    step = max(1, round(1_000_000 / rate))
    now = _now_us() if now_us is None else now_us
    if await rate_buckets.take(conn, key, now=now, step=step, window=step * burst):
        return 0.0
    tat = await rate_buckets.arrival(conn, key)
    wait_us = (tat or now) + step - now - step * burst
    return max(wait_us, 1) / 1_000_000
