"""Workspaces, folders and the resource tree."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    Folder,
    Member,
    Workspace,
)
from .._models import (
    Resource as ResourceItem,
)
from ._util import (
    _drop_none,
    _q,
)


class Workspaces(Namespace[M]):
    """Workspaces and their members."""

    @api("GET /my-workspaces")
    def list(self) -> Op[builtins.list[Workspace]]:
        """The workspaces you belong to."""
        data = yield req("GET", "/my-workspaces")
        return [Workspace.model_validate(w) for w in data["results"]]

    @api("GET /workspaces/{workspaceId}")
    def get(self, workspace_id: int) -> Op[Workspace]:
        """One workspace, with its credit balance."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}")
        return Workspace.model_validate(data["workspace"])

    @api("GET /workspaces/{workspaceId}/permissions")
    def members(self, workspace_id: int) -> Op[builtins.list[Member]]:
        """The users of a workspace and their roles."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/permissions")
        return [Member.model_validate(m) for m in data["results"]]

    @api("GET /owners")
    def owners(self, workspace_id: int | None = None) -> Op[builtins.list[Member]]:
        """Like :meth:`members`, by the seed path (default workspace when none is given)."""
        data = yield req("GET", "/owners", params={"workspaceId": workspace_id})
        return [Member.model_validate(m) for m in data["results"]]


class Folders(Namespace[M]):
    """Folders of the resource tree."""

    @api("POST /workspaces/{workspaceId}/folders")
    def create(
        self,
        workspace_id: int,
        name: str,
        *,
        parent_folder_id: str | None = None,
        description: str | None = None,
    ) -> Op[Folder]:
        """Creates a folder at the top level or inside ``parent_folder_id``."""
        body = _drop_none(name=name, parentFolderId=parent_folder_id, description=description)
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/folders", body)
        return Folder.model_validate(data)

    @api("DELETE /folders/{folderId}")
    def delete(self, folder_id: str) -> Op[dict[str, Any]]:
        """Deletes a folder and everything in it; returns what was deleted."""
        data = yield req("DELETE", f"/folders/{_q(folder_id)}")
        return dict(data or {})


class Resources(Namespace[M]):
    """The resource tree: folders, workbooks and tables."""

    @api("POST /workspaces/{workspaceId}/resources_v2/")
    def list(
        self,
        workspace_id: int,
        *,
        parent: tuple[str, str] | None = None,
        types: Iterable[str] | None = None,
        owner_ids: Iterable[int] | None = None,
        q: str | None = None,
        everywhere: bool = False,
    ) -> Op[builtins.list[ResourceItem]]:
        """Resources directly under ``parent`` (``("FOLDER", "fo_…")`` or
        ``("WORKBOOK", "wb_…")``; the top level when absent), or at every level with
        ``everywhere=True``; filtered by type (FOLDER, WORKBOOK, TABLE), owner and name."""
        filters = _drop_none(
            resourceTypes=list(types) if types is not None else None,
            ownerIds=list(owner_ids) if owner_ids is not None else None,
            q=q,
        )
        body = {
            "parentResource": {"type": parent[0], "id": parent[1]} if parent else None,
            "filters": filters,
            "isGlobalSearch": everywhere,
        }
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/resources_v2/", body)
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("POST /workspaces/{workspaceId}/resources/search")
    def search(self, workspace_id: int, query: str) -> Op[builtins.list[ResourceItem]]:
        """Resources at every level whose name or description contains ``query``."""
        body = {"query": query}
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/resources/search", body)
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("POST /users/{userId}/resources")
    def by_owner(
        self, user_id: int, *, workspace_id: int | None = None
    ) -> Op[builtins.list[ResourceItem]]:
        """Resources created by one user, at every level."""
        data = yield req(
            "POST", f"/users/{_q(user_id)}/resources", {}, params={"workspaceId": workspace_id}
        )
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("DELETE /workspaces/{workspaceId}/resources/")
    def delete(
        self,
        workspace_id: int,
        *,
        folder_ids: Iterable[str] = (),
        workbook_ids: Iterable[str] = (),
        table_ids: Iterable[str] = (),
    ) -> Op[dict[str, Any]]:
        """Deletes folders (with their contents), workbooks (with their tables) and tables."""
        body = {
            "folderIds": list(folder_ids),
            "workbookIds": list(workbook_ids),
            "tableIds": list(table_ids),
            "isPermanentDelete": True,
        }
        data = yield req("DELETE", f"/workspaces/{_q(workspace_id)}/resources/", body)
        return dict(data or {})
