"""Cell statuses, as Clay writes them in a cell's ``metadata.status``."""

from __future__ import annotations

from enum import StrEnum


class CellStatus(StrEnum):
    """The status of one cell of a computed column. A ``str`` enum: compares equal to, and
    serialises as, Clay's string."""

    SUCCESS = "SUCCESS"
    SUCCESS_NO_DATA = "SUCCESS_NO_DATA"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    RETRY = "RETRY"
    AWAITING_CALLBACK = "AWAITING_CALLBACK"
    PENDING = "PENDING"
    RATE_LIMITED = "RATE_LIMITED"
    ERROR = "ERROR"
    ERROR_TIMEOUT = "ERROR_TIMEOUT"
    ERROR_INVALID_INPUT = "ERROR_INVALID_INPUT"
    ERROR_BLANK_TOKEN = "ERROR_BLANK_TOKEN"
    ERROR_RUN_CONDITION_NOT_MET = "ERROR_RUN_CONDITION_NOT_MET"
    ERROR_TOO_MANY_RUNS = "ERROR_TOO_MANY_RUNS"
    ERROR_OUT_OF_CREDITS = "ERROR_OUT_OF_CREDITS"
    ERROR_BAD_REQUEST = "ERROR_BAD_REQUEST"
    CANCELLED = "CANCELLED"

    @property
    def pending(self) -> bool:
        """Still in flight: the CLI and the SDK wait on these."""
        return self in PENDING_STATUSES


PENDING_STATUSES = frozenset(
    {
        CellStatus.QUEUED,
        CellStatus.RUNNING,
        CellStatus.RETRY,
        CellStatus.AWAITING_CALLBACK,
        CellStatus.PENDING,
        CellStatus.RATE_LIMITED,
    }
)
