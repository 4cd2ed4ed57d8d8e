"""Functions (subroutines), tools and create-cpj-table (spec part 2 §8, §11)."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class SubroutineOut(WireModel):
    sourceId: str | None = _Field(description="The function's manual source, if it has one")
    table: dict[str, Any]
    cost: int = _Field(description="Credits of one call: its action columns' prices")
    actionExecutionCost: int = _Field(description="Actions one call counts")
    containsVariablePricing: bool
    referenceCount: int = _Field(description="execute-subroutine fields calling it")


class SubroutineList(WireModel):
    subroutines: list[SubroutineOut]


class ToolIn(WireModel):
    type: str = "function"
    tableId: str | None = None
    name: str | None = None
    description: str | None = None


class ToolOut(WireModel):
    id: str = _Field(examples=["function:t_abc"])
    type: str
    name: str
    description: str
    tableId: str
    inputSchema: dict[str, Any]
    createdAt: int | None


class CpjConfig(WireModel):
    type: str = "people"
    typeSettings: dict[str, Any] | None = None
    basicFields: list[dict[str, Any]] | None = None
    destinationTableId: str | None = None


class CpjTableIn(WireModel):
    workspaceId: int | str | None = None
    workbookName: str | None = None
    workbookId: str | None = None
    cpjConfig: CpjConfig


class CpjTableOut(WireModel):
    tableId: str
    viewId: str | None
    workbookId: str | None
    sourceId: str
    isNewTable: bool
