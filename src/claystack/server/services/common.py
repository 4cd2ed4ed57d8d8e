"""Small helpers shared by the services."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


def now_ms() -> int:
    return int(time.time() * 1000)


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
