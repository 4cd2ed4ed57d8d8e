"""Views: saved layouts of a table (column order and visibility, filter, sort)."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class ViewField(WireModel):
    order: str = _Field(description="Fractional-index key; columns sort by it as strings")
    isVisible: bool = True
    width: float | None = None
    isPinned: bool = False


class View(WireModel):
    """A view. ``fields`` maps every field id to ``{order, isVisible, width, isPinned}``;
    columns show in the order of their ``order`` strings."""

    id: str
    tableId: str | None = None
    name: str
    description: str | None = None
    typeSettings: dict[str, Any] = _Field(
        default={}, description="preconfiguredType: all-rows, errored-rows, fully-enriched-rows"
    )
    order: int | None = None
    fields: dict[str, ViewField] = {}
    sort: Any = None
    filter: Any = None
    limit: int | None = None
    offset: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class ViewWrapped(View):
    """The view under ``view`` and, for clients that read it bare, at top level too."""

    view: View


class ViewEnvelope(WireModel):
    view: View


class ViewIn(WireModel):
    name: str = _Field(min_length=1, max_length=500)
    limit: int | None = _Field(default=None, ge=0)
    offset: int | None = _Field(default=None, ge=0)
    filter: dict[str, Any] | None = None
    sort: list[dict[str, Any]] | dict[str, Any] | None = None


class ViewPatch(WireModel):
    name: str | None = _Field(default=None, min_length=1, max_length=500)
    limit: int | None = _Field(default=None, ge=0)
    offset: int | None = _Field(default=None, ge=0)
    filter: dict[str, Any] | None = None
    sort: list[dict[str, Any]] | dict[str, Any] | None = None
    fields: dict[str, Any] | None = None


class FilterItemIn(WireModel):
    fieldId: str
    type: str | None = _Field(
        default=None, description="EQUAL, NOT_EQUAL, CONTAIN, NOT_CONTAIN, EMPTY, NOT_EMPTY"
    )
    value: Any = None


class ViewFilterIn(WireModel):
    combinationMode: str | None = _Field(default=None, description="AND (default) or OR")
    items: list[FilterItemIn] = []


class SortItemIn(WireModel):
    fieldId: str
    direction: str = "ASC"


class ViewSortIn(WireModel):
    items: list[SortItemIn] = []


class ViewFieldSettingsIn(WireModel):
    isVisible: bool | None = None
    width: float | None = None
    isPinned: bool | None = None


class ViewFieldPatchIn(ViewFieldSettingsIn):
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class ReorderFieldsIn(WireModel):
    fieldIds: list[str]
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class GroupMoveIn(WireModel):
    groupId: str | None = None
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class ViewSearchIn(WireModel):
    searchTerm: str


class SearchHit(WireModel):
    fieldId: str
    recordId: str


class ViewSearchOut(WireModel):
    results: list[SearchHit]
