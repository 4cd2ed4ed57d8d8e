"""The lease a server process holds on an export or import job while it works on it."""

from __future__ import annotations

from dataclasses import dataclass

from .common import now_ms


@dataclass(slots=True)
class Lease:
    """``lease_until`` as this process last set it. Each write of the job's progress is
    conditional on the row still holding this value and sets a new one, so a process whose
    lease lapsed (and whose job another process took over) stops at its next write instead
    of writing alongside the new holder."""

    value: int
    seconds: float
    previous: int | None = None  # the value before the last renewal (if that write failed)

    def renew(self) -> tuple[int, int]:
        """(the value the row must hold, the value to set)."""
        new = max(now_ms() + int(self.seconds * 1000), self.value + 1)
        old, self.value = self.value, new
        self.previous = old
        return old, new

    def values(self) -> list[int]:
        """The values the row holds while this process holds the job."""
        return [self.value] if self.previous is None else [self.value, self.previous]
