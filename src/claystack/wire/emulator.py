"""The emulator's own endpoints (``/_claystack``) and the web app's few UI-only answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field as _Field

from ._base import WireModel
from .records import Record


class Health(WireModel):
    status: Literal["ok"]
    database: str
    version: str


class Readiness(WireModel):
    status: Literal["ready"]
    database: str
    migrations: list[str]


class Seeded(WireModel):
    user: dict[str, Any]
    workspaceId: int


class ResetDone(WireModel):
    status: Literal["ok"]
    seeded: Seeded | None = _Field(description="The demo user and workspace, when seeded")


class RowsWindow(WireModel):
    total: int
    offset: int
    results: list[Record]


class FormulaPreviewIn(WireModel):
    formulaText: str = _Field(max_length=100_000)
    limit: int = _Field(default=10, ge=1, le=100)


class FormulaPreviewItem(WireModel):
    recordId: str
    value: Any
    error: str | None


class FormulaPreviewOut(WireModel):
    results: list[FormulaPreviewItem]


class RowIndexOut(WireModel):
    recordId: str
    index: int
