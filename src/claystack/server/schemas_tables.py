"""Bodies of the table-side routes of spec part 2 (workspace aliases, views, fields, tables)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .schemas import FieldOut, Model, TableOut, WorkbookOut

# -- workspaces and workbooks --------------------------------------------------------------


class WorkspaceResults(Model):
    results: list[dict[str, Any]]


class WorkbookCreate(Model):
    name: str | None = Field(default=None, max_length=500)
    parentFolderId: str | None = None
    settings: dict[str, Any] | None = None
    description: str | None = None


class WorkbookPatch(Model):
    name: str | None = Field(default=None, max_length=500)


class OrderedTable(Model):
    id: str
    name: str


class WorkbookWithTables(WorkbookOut):
    orderedWorkbookTables: list[OrderedTable] = []


class OverviewNode(Model):
    nodeId: str
    name: str
    type: str
    totalFieldCount: int
    creditEstimate: int
    tableDetails: dict[str, Any]
    sendDataFields: list[Any]


class GraphEdge(Model):
    sourceNodeId: str
    targetNodeId: str
    type: str


class WorkbookOverview(Model):
    nodes: list[OverviewNode]
    edges: list[GraphEdge]


class TableSummary(Model):
    """A table in a list: no ``fields`` or ``views``."""

    id: str
    workspaceId: int
    workbookId: str | None
    name: str
    type: str
    firstViewId: str | None


class TableSummaryList(Model):
    results: list[TableSummary]


class TableDetails(Model):
    table: TableOut
    extraData: dict[str, Any] = {}


class CountOut(Model):
    tableTotalRecordsCount: int
    count: int


class TableCreate(Model):
    """``POST /v3/tables`` (and ``/v3/workspaces/{ws}/tables``, whose path wins)."""

    name: str | None = Field(default=None, min_length=1, max_length=500)
    workspaceId: int | None = Field(default=None, description="Defaults to the caller's")
    workbookId: str | None = None
    type: str | None = None
    template: str | None = Field(
        default=None, description="basic (default), no_views, basic_source"
    )
    description: str | None = None
    tableSettings: dict[str, Any] | None = None
    icon: dict[str, Any] | None = None
    sourceSettings: dict[str, Any] | None = None


class TableCreated(Model):
    table: TableOut
    extraData: dict[str, Any]


# -- views ---------------------------------------------------------------------------------


class ViewFieldOut(Model):
    order: str = Field(description="Fractional-index key; columns sort by it as strings")
    isVisible: bool = True
    width: float | None = None
    isPinned: bool = False


class ViewOutV2(Model):
    id: str
    tableId: str
    name: str
    description: str | None = None
    typeSettings: dict[str, Any] = Field(
        default={}, description="preconfiguredType: all-rows, errored-rows, fully-enriched-rows"
    )
    order: int
    fields: dict[str, ViewFieldOut]
    sort: Any = None
    filter: Any = None
    limit: int | None = None
    offset: int | None = None


class ViewWrapped(ViewOutV2):
    """The view under ``view`` and, for clients that read it bare, at top level too."""

    view: ViewOutV2


class FilterItemIn(Model):
    fieldId: str
    type: str | None = Field(
        default=None, description="EQUAL, NOT_EQUAL, CONTAIN, NOT_CONTAIN, EMPTY, NOT_EMPTY"
    )
    value: Any = None


class ViewFilterIn(Model):
    combinationMode: str | None = Field(default=None, description="AND (default) or OR")
    items: list[FilterItemIn] = []


class SortItemIn(Model):
    fieldId: str
    direction: str = "ASC"


class ViewSortIn(Model):
    items: list[SortItemIn] = []


class ViewFieldSettingsIn(Model):
    isVisible: bool | None = None
    width: float | None = None
    isPinned: bool | None = None


class ViewFieldPatchIn(ViewFieldSettingsIn):
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class ReorderFieldsIn(Model):
    fieldIds: list[str]
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class GroupMoveIn(Model):
    groupId: str | None = None
    afterFieldId: str | None = None
    beforeFieldId: str | None = None


class ViewSearchIn(Model):
    searchTerm: str


class SearchHit(Model):
    fieldId: str
    recordId: str


class ViewSearchOut(Model):
    results: list[SearchHit]


# -- fields --------------------------------------------------------------------------------


class FieldOutV2(FieldOut):
    groupId: str | None = None


class FieldIdsIn(Model):
    fieldIds: list[str]


class FieldGroupIn(Model):
    fieldIds: list[str]
    name: str | None = None


class GroupMemberIn(Model):
    id: str
    isOutputField: bool | None = None


class FieldGroupPatch(Model):
    name: str | None = None
    fields: list[GroupMemberIn]


class FieldGroupDeleteIn(Model):
    deleteFields: bool = False


class GroupCreated(Model):
    groupId: str


class GroupMember(Model):
    id: str
    isOutputField: bool


class GroupDetails(Model):
    fields: list[GroupMember]


class FieldGroupOut(Model):
    id: str
    name: str
    groupDetails: GroupDetails


class WaterfallStepIn(Model):
    actionKey: str
    actionPackageId: str
    inputsBinding: list[dict[str, Any]] = []
    attributePath: str | None = None
    name: str | None = None
    authAccountId: str | None = None


class WaterfallIn(Model):
    waterfallFieldName: str | None = None
    waterfallGroupName: str | None = None
    runAsButton: bool = False
    hideFromViews: bool = False
    waterfallConfigs: list[WaterfallStepIn] = Field(min_length=1)


class WaterfallOut(Model):
    fieldGroupMap: dict[str, FieldGroupOut]


class Empty(Model):
    pass


# -- duplicate, schema, graph --------------------------------------------------------------


class TableDuplicated(Model):
    table: TableOut
    oldViewIdToNewViewIdMap: dict[str, str]
    oldFieldIdToNewFieldIdMap: dict[str, str]


class SchemaColumn(Model):
    type: str = Field(description="basic, formula, action or source")
    name: str
    dataType: str
    semanticType: str | None = None
    children: dict[str, Any] | None = None


class TableSchemaV2(Model):
    tableSchema: dict[str, SchemaColumn]
    exampleRecords: list[dict[str, Any]]


class GraphNode(Model):
    nodeId: str
    name: str
    type: str
    field: dict[str, Any] | None
    extractedFieldIds: list[str]


class TableGraph(Model):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
