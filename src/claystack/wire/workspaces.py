"""Workspaces, their members, folders and the resource tree."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field as _Field

from ._base import WireModel


class Workspace(WireModel):
    """A workspace; ``credits`` is the remaining balance where the server reports it."""

    wire_omittable = ("credits",)

    id: int
    name: str
    role: str | None = None
    credits: int | None = None
    featureFlags: dict[str, Any] = {}


class WorkspaceList(WireModel):
    results: list[Workspace]


class WorkspaceEnvelope(WireModel):
    workspace: Workspace


class WorkspaceResults(WireModel):
    results: list[dict[str, Any]]


class Member(WireModel):
    """A user of a workspace and their role there."""

    id: int | None = None
    userId: int | None = None
    email: str | None = None
    name: str | None = None
    role: Literal["owner", "admin", "member", "viewer"] | None = None
    workspaceId: int | None = None
    joinedAt: str | None = None


class MemberList(WireModel):
    results: list[Member]


class WorkspaceUser(WireModel):
    id: int
    email: str
    name: str
    role: str


class FolderIn(WireModel):
    name: str = _Field(min_length=1, max_length=500)
    parentFolderId: str | None = None
    description: str | None = None


class Folder(WireModel):
    id: str
    name: str
    workspaceId: int
    parentFolderId: str | None = None
    createdAt: str | None = None


class DeleteResourcesIn(WireModel):
    folderIds: list[str] = []
    workbookIds: list[str] = []
    tableIds: list[str] = []
    isPermanentDelete: bool = False


class DeletedResources(WireModel):
    success: bool = True
    deleted: dict[str, list[str]]


class ParentResource(WireModel):
    type: Literal["FOLDER", "WORKBOOK", "folder", "workbook"]
    id: str


class ResourceFilters(WireModel):
    resourceTypes: list[str] | None = None
    ownerIds: list[int] | None = None
    q: str | None = None


class ResourcesIn(WireModel):
    parentResource: ParentResource | None = None
    filters: ResourceFilters | None = None
    resourceTypes: list[str] | None = None
    isGlobalSearch: bool = False


class ResourceSearchIn(WireModel):
    query: str


class Resource(WireModel):
    """An entry of the resource tree: a FOLDER, WORKBOOK or TABLE."""

    wire_omittable = ("workbookId",)

    resourceType: Literal["FOLDER", "WORKBOOK", "TABLE"]
    id: str
    name: str
    parentFolderId: str | None = None
    workbookId: str | None = None
    ownerId: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class ResourceList(WireModel):
    resources: list[Resource]
