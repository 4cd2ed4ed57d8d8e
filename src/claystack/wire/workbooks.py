"""Workbooks and their overview graph."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class WorkbookIn(WireModel):
    name: str = _Field(min_length=1, max_length=500)
    workspaceId: int
    settings: dict[str, Any] | None = None
    parentFolderId: str | None = None
    description: str | None = None


class WorkbookCreate(WireModel):
    name: str | None = _Field(default=None, max_length=500)
    parentFolderId: str | None = None
    settings: dict[str, Any] | None = None
    description: str | None = None


class WorkbookPatch(WireModel):
    name: str | None = _Field(default=None, max_length=500)


class Workbook(WireModel):
    id: str
    workspaceId: int
    name: str
    description: str | None = None
    parentFolderId: str | None = None
    settings: dict[str, Any] = {}
    ownerId: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    deletedAt: str | None = None


class WorkbookList(WireModel):
    results: list[Workbook]


class OrderedTable(WireModel):
    id: str
    name: str


class WorkbookWithTables(Workbook):
    wire_omittable = ("orderedWorkbookTables",)

    orderedWorkbookTables: list[OrderedTable] = []


class OverviewNode(WireModel):
    nodeId: str
    name: str
    type: str
    totalFieldCount: int
    creditEstimate: int
    tableDetails: dict[str, Any]
    sendDataFields: list[Any]


class GraphEdge(WireModel):
    sourceNodeId: str
    targetNodeId: str
    type: str


class WorkbookOverview(WireModel):
    nodes: list[OverviewNode]
    edges: list[GraphEdge]
