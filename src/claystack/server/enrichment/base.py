"""The plugin contract's old home: import from :mod:`claystack.integrations` instead."""

from __future__ import annotations

from ...integrations import (
    Action,
    ActionError,
    ActionFn,
    ActionResult,
    BatchFn,
    CellStatus,
    Integration,
    Limits,
    QuoteFn,
    RunContext,
)

__all__ = [
    "Action",
    "ActionError",
    "ActionFn",
    "ActionResult",
    "BatchFn",
    "CellStatus",
    "Integration",
    "Limits",
    "QuoteFn",
    "RunContext",
]
