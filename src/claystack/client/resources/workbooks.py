"""Workbooks."""

from __future__ import annotations

import builtins
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    Table,
    Workbook,
)
from ._util import (
    _drop_none,
    _q,
)


class Workbooks(Namespace[M]):
    """Workbooks, which hold tables."""

    @api("POST /workbooks")
    def create(
        self,
        workspace_id: int,
        name: str,
        *,
        parent_folder_id: str | None = None,
        auto_run: bool | None = None,
        description: str | None = None,
    ) -> Op[Workbook]:
        """Creates a workbook (in a folder with ``parent_folder_id``)."""
        body = _drop_none(
            name=name,
            workspaceId=workspace_id,
            parentFolderId=parent_folder_id,
            description=description,
            settings={"isAutoRun": auto_run} if auto_run is not None else None,
        )
        return Workbook.model_validate((yield req("POST", "/workbooks", body)))

    @api("GET /workspaces/{workspaceId}/workbooks")
    def list(self, workspace_id: int) -> Op[builtins.list[Workbook]]:
        """Every workbook of a workspace."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/workbooks")
        return [Workbook.model_validate(w) for w in data]

    @api("GET /workspaces/{workspaceId}/workbooks/{workbookId}")
    def get(self, workspace_id: int, workbook_id: str) -> Op[Workbook]:
        """One workbook."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}"
        return Workbook.model_validate((yield req("GET", path)))

    @api("PATCH /workspaces/{workspaceId}/workbooks/{workbookId}")
    def rename(self, workspace_id: int, workbook_id: str, name: str) -> Op[Workbook]:
        """Renames a workbook."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}"
        return Workbook.model_validate((yield req("PATCH", path, {"name": name})))

    @api("GET /workspaces/{workspaceId}/workbooks/{workbookId}/overview")
    def overview(self, workspace_id: int, workbook_id: str) -> Op[dict[str, Any]]:
        """The workbook's tables as ``nodes`` and the tables feeding others as ``edges``."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}/overview"
        return dict((yield req("GET", path)))

    @api("GET /workbooks/{workbookId}/tables")
    def tables(self, workbook_id: str) -> Op[builtins.list[Table]]:
        """The tables of a workbook."""
        data = yield req("GET", f"/workbooks/{_q(workbook_id)}/tables")
        return [Table.model_validate(t) for t in data]

    @api("DELETE /workbooks/{workbookId}")
    def delete(self, workbook_id: str) -> Op[dict[str, Any]]:
        """Deletes a workbook and its tables."""
        return dict((yield req("DELETE", f"/workbooks/{_q(workbook_id)}")) or {})
