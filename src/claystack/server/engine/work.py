"""The units of work that pass between the engine's parts: a claimed ``Job``, the ``Task``
the planner makes of it (its ``Step``s), and the ``Outcome`` the writer stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...integrations import Action, Integration
from ...wire.cells import CellStatus

FINAL_OK = (CellStatus.SUCCESS, CellStatus.SUCCESS_NO_DATA)


@dataclass(slots=True)
class Job:
    id: int
    key: str
    kind: str
    workspace_id: int
    table_id: str
    field_id: str
    record_id: str
    user_id: int | None
    attempts: int


@dataclass(slots=True)
class Charge:
    key: str
    integration: str
    action_key: str
    amount: int


@dataclass(slots=True)
class Step:
    integration: Integration
    action: Action
    inputs: dict[str, Any] | None  # None: passed over by a composite (``blank`` says why)
    credentials: Mapping[str, Any]
    blank: str | None = None
    price: int = 0  # what the action quotes for these inputs


@dataclass(slots=True)
class Task:
    job: Job
    steps: list[Step]
    composite: bool  # a waterfall: the steps are tried in turn (enrichment/actions/waterfall.py)
    reserved: int = 0


@dataclass(slots=True)
class Outcome:
    """What happened to one job. ``status`` RETRY puts the job back; None drops it."""

    job: Job
    status: str | None
    value: Any = None
    full_value: Any = None
    error: str | None = None
    charges: list[Charge] = field(default_factory=list)
    retry_at: int = 0
    reserved: int = 0
    # The value and full value as JSON, serialized once by the executor's size check for
    # the writer to store as they are.
    dumped: tuple[str, str] | None = None

    def value_json(self) -> str:
        """The cell's new value as JSON: the result's on success, else null."""
        if self.status not in FINAL_OK:
            return "null"
        return self.dumped[0] if self.dumped is not None else dumps(self.value)

    def meta_json(self) -> str:
        """The cell's run state as JSON: ``{"status", "fullValue"?, "error"?}``."""
        if self.dumped is None or self.full_value is None:
            meta: dict[str, Any] = {"status": self.status}
            if self.full_value is not None:
                meta["fullValue"] = self.full_value
            if self.error is not None:
                meta["error"] = self.error
            return dumps(meta)
        error = "" if self.error is None else ',"error":' + dumps(self.error)
        return '{"status":' + dumps(self.status) + ',"fullValue":' + self.dumped[1] + error + "}"


@dataclass(slots=True)
class FormulaCell:
    seq: int
    record_id: str
    status: str
    value: Any
    error: str | None = None


def job_from_row(r: Any, claimed: bool = False) -> Job:
    """A leased row (``action_jobs.JOB_COLUMNS``, in that order) as a ``Job`` (``claimed``:
    counting the attempt being made). By position: a row's attributes cost more, a claim
    reads many."""
    i, key, kind, ws, table_id, field_id, record_id, user_id, attempts = r
    return Job(i, key, kind, ws, table_id, field_id, record_id, user_id, attempts + claimed)


def cell_values(fields: Mapping[str, Any], cells: Mapping[str, Any], meta: Any) -> dict[str, Any]:
    """What formulas see: plain cells, and an action column's whole result."""
    values = dict(cells)
    if meta:
        for fid, cell in meta.items():
            f = fields.get(fid)
            if f is not None and f.type == "action" and isinstance(cell, dict):
                if "fullValue" in cell:
                    values[fid] = cell["fullValue"]
    return values


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
