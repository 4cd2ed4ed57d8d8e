"""Small helpers shared by the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from ..clock import now_ms as now_ms

# Integer ids are 64-bit signed in both databases: a larger one names nothing.
MAX_INT_ID = 2**63 - 1


def int_id(value: object) -> int | None:
    """``value`` as an integer id, or None when it cannot name a stored row."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_INT_ID else None


@lru_cache(maxsize=4096)  # an answer repeats a few stamps (a new table's: one, 13 times)
def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as the ISO-8601 UTC text Clay returns (``…T09:00:00.000Z``)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller."""

    user_id: int
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Scope:
    """A workspace the caller may act in, with the caller's role there."""

    actor: Actor
    workspace_id: int
    role: str

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"


ROLES = ("owner", "admin", "member", "viewer")
