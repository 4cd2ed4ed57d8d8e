"""AI helpers (spec part 2 §10): the configured use-ai model, or a deterministic answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class FormulaGenIn(WireModel):
    userPromptInput: str
    workspaceId: int | str | None = None
    columnNamesToIds: dict[str, str] | None = None
    mode: str | None = None
    rawExampleTableData: list[dict[str, Any]] | None = None


class FormulaGenOut(WireModel):
    formula: str = _Field(description='The formula; "" when no model is configured')
    dataType: str


class TableDescriptionIn(WireModel):
    tableId: str
    workspaceId: int | str | None = None


class TableDescriptionOut(WireModel):
    description: str


class MetaprompterIn(WireModel):
    prompt: str | None = None
    taskDescription: str | None = None
    tableId: str | None = None
    columnNamesToIds: dict[str, str] | None = None
    latencyBudget: Any = None
