"""The long tail of Clay's routes (spec part 2 §9, §11, §13): stars, limits, usage."""

from __future__ import annotations

from typing import Any

from ._base import WireModel


class ModelCost(WireModel):
    model: str
    credits: int


class AudienceOut(WireModel):
    """One of ``{segments, total}``, ``{count}``, ``{contacts, pagination}``, ``{imports}``."""


class StarredOut(WireModel):
    starredResources: list[dict[str, Any]]


class IsStarred(WireModel):
    isStarred: bool


class CreditLimit(WireModel):
    creditLimit: int | None


class WorkbookBalance(WireModel):
    creditLimit: int | None
    creditsUsed: int
    balance: int
    workbookId: str


class DayUsage(WireModel):
    date: str
    creditsSpent: int
    actions: int


class ColumnUsage(WireModel):
    fieldId: str | None
    fieldName: str | None
    creditsSpent: int
    runs: int
    actions: int
