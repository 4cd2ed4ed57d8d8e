"""Rate buckets: one row per key holding the theoretical arrival time (``tat``, epoch µs) of
its next request (PostgreSQL: one statement takes a token or refuses, atomically)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import RateBucket

_TAKE = text(
    "INSERT INTO rate_buckets (key, tat) VALUES (:key, CAST(:now AS bigint) + :step) "
    "ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_buckets.tat, :now) + :step "
    "WHERE GREATEST(rate_buckets.tat, :now) + :step - :now <= :window "
    "RETURNING tat"
).bindparams(
    bindparam("key", type_=String),
    bindparam("now", type_=BigInteger),
    bindparam("step", type_=BigInteger),
    bindparam("window", type_=BigInteger),
)
_TAT = select(RateBucket.tat).where(RateBucket.key == bindparam("key"))


async def take(conn: AsyncConnection, key: str, *, now: int, step: int, window: int) -> bool:
    """Moves the key's arrival time one ``step`` on if it stays within ``window`` of
    ``now``; whether it did."""
    params = {"key": key, "now": now, "step": step, "window": window}
    return (await conn.execute(_TAKE, params)).first() is not None


async def arrival(conn: AsyncConnection, key: str) -> int | None:
    """The key's theoretical arrival time, or None."""
    return await conn.scalar(_TAT, {"key": key})
