"""Tables: a sheet with its fields and views."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel
from .fields import Field
from .views import View
from .workbooks import GraphEdge


class Table(WireModel):
    """A table with its fields and views (``firstViewId`` is the default view)."""

    id: str
    workspaceId: int
    workbookId: str | None = None
    name: str
    description: str | None = None
    type: str | None = None
    parentFolderId: str | None = None
    tableSettings: dict[str, Any] = {}
    fieldGroupMap: dict[str, Any] = {}
    firstViewId: str | None = None
    fields: list[Field] = []
    views: list[View] = []
    ownerId: int | None = None
    rowCount: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None

    def field_ids(self) -> dict[str, str]:
        """Field name → field id."""
        return {f.name: f.id for f in self.fields}

    def field(self, name_or_id: str) -> Field:
        """The field with this id or name; ``KeyError`` when there is none."""
        for f in self.fields:
            if name_or_id in (f.id, f.name):
                return f
        raise KeyError(name_or_id)


class TableIn(WireModel):
    name: str = _Field(min_length=1, max_length=500)
    workspaceId: int
    workbookId: str | None = None
    type: str | None = None
    template: Any = None
    description: str | None = None
    tableSettings: dict[str, Any] | None = None


class TableCreate(WireModel):
    """``POST /v3/tables`` (and ``/v3/workspaces/{ws}/tables``, whose path wins)."""

    name: str | None = _Field(default=None, min_length=1, max_length=500)
    workspaceId: int | None = _Field(default=None, description="Defaults to the caller's")
    workbookId: str | None = None
    type: str | None = None
    template: str | None = _Field(
        default=None, description="basic (default), no_views, basic_source"
    )
    description: str | None = None
    tableSettings: dict[str, Any] | None = None
    icon: dict[str, Any] | None = None
    sourceSettings: dict[str, Any] | None = None


class TablePatch(WireModel):
    name: str | None = _Field(default=None, max_length=500)
    description: str | None = None
    workbookId: str | None = _Field(default=None, description="Moves the table to this workbook")
    tableSettings: dict[str, Any] | None = None
    fieldGroupMap: dict[str, Any] | None = None
    sourceSettings: dict[str, Any] | None = None


class TableEnvelope(WireModel):
    wire_omittable = ("extraData",)

    table: Table
    extraData: dict[str, Any] = {}


class TableCreated(WireModel):
    table: Table
    extraData: dict[str, Any]


class TableList(WireModel):
    results: list[Table]


class TableSummary(WireModel):
    """A table in a list: no ``fields`` or ``views``."""

    id: str
    workspaceId: int
    workbookId: str | None
    name: str
    type: str
    firstViewId: str | None


class TableSummaryList(WireModel):
    results: list[TableSummary]


class TableCount(WireModel):
    tableTotalRecordsCount: int
    count: int


class Empty(WireModel):
    pass


class TableDuplicated(WireModel):
    table: Table
    oldViewIdToNewViewIdMap: dict[str, str]
    oldFieldIdToNewFieldIdMap: dict[str, str]


class SchemaColumn(WireModel):
    wire_omittable = ("semanticType", "children")

    type: str = _Field(description="basic, formula, action or source")
    name: str
    dataType: str
    semanticType: str | None = None
    children: dict[str, Any] | None = None


class TableSchemaV2(WireModel):
    tableSchema: dict[str, SchemaColumn]
    exampleRecords: list[dict[str, Any]]


class GraphNode(WireModel):
    nodeId: str
    name: str
    type: str
    field: dict[str, Any] | None
    extractedFieldIds: list[str]


class TableGraph(WireModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
