"""Runs: requests to compute cells, their status counts and estimates."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel
from .cells import PENDING_STATUSES


class RunIn(WireModel):
    fieldIds: list[str] | None = None
    runRecords: dict[str, Any] | None = _Field(
        default=None,
        description="One of {viewIdTopRecords:{viewId, numRecords?}}, {recordIds:[…]}, "
        "{viewId}, {recordIds, tableId}",
    )
    callerName: str | None = None
    forceRun: bool = False
    preview: bool = _Field(
        default=False, description="Only estimate: answer what the run would spend (RunEstimate)"
    )


class RunStarted(WireModel):
    """The answer to starting a run: how many rows were queued."""

    recordCount: int = 0
    runMode: str | None = None


class StatusCount(WireModel):
    status: str
    count: int


class RunStatus(WireModel):
    """Cell status counts per field, e.g. ``{"f_x": [{"status": "SUCCESS", "count": 10}]}``."""

    statusCountsByField: dict[str, list[StatusCount]] = {}

    def counts(self, field_id: str | None = None) -> dict[str, int]:
        """Status → count, for one field or summed over all."""
        out: dict[str, int] = {}
        for fid, rows in self.statusCountsByField.items():
            if field_id is not None and fid != field_id:
                continue
            for row in rows:
                out[row.status] = out.get(row.status, 0) + row.count
        return out

    @property
    def pending(self) -> int:
        """Cells still queued, running, retrying or awaiting a callback."""
        return sum(n for s, n in self.counts().items() if s in PENDING_STATUSES)

    @property
    def done(self) -> bool:
        return self.pending == 0


class EstimateSkipped(WireModel):
    alreadySucceeded: int
    blankInput: int
    runCondition: int
    error: int


class FieldEstimate(WireModel):
    fieldId: str
    name: str
    actionKey: str | None
    actionPackageId: str | None
    cells: int = _Field(description="Cells that would execute")
    actions: int = _Field(description="Actions (executions) they would count")
    credits: int = _Field(description="Credits, if every execution succeeds")
    maxCredits: int = _Field(description="Upper bound (every runnable waterfall step)")
    skipped: EstimateSkipped


class RunEstimate(WireModel):
    """What a run would spend without running: rows, actions (executions) and credits,
    with one entry per action column in ``fields``; nothing is queued."""

    preview: bool = True
    recordCount: int = 0
    runMode: str | None = None
    actions: int = 0
    credits: int = 0
    maxCredits: int = 0
    balance: int | None = None
    sufficientCredits: bool | None = None
    formulaFieldIds: list[str] = []
    fields: list[FieldEstimate] = []
