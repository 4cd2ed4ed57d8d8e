"""Tables."""

from __future__ import annotations

import builtins
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    Table,
)
from ._util import (
    _drop_none,
    _id,
    _q,
    _table,
)


class Tables(Namespace[M]):
    """Tables: create, read, change, count, delete."""

    @api("POST /tables")
    def create(
        self,
        workspace_id: int,
        name: str | None = None,
        *,
        workbook_id: str | None = None,
        type: str | None = None,
        description: str | None = None,
        table_settings: dict[str, Any] | None = None,
        template: str | None = None,
    ) -> Op[Table]:
        """Creates a table; without ``workbook_id`` the server makes a workbook for it.
        ``template``: ``basic`` (default: "Default view" plus the system views),
        ``no_views`` or ``basic_source`` (with a webhook source); ``name`` defaults to
        "Untitled table"."""
        body = _drop_none(
            name=name,
            workspaceId=workspace_id,
            workbookId=workbook_id,
            type=type,
            description=description,
            tableSettings=table_settings,
            template=template,
        )
        data = yield req("POST", "/tables", body)
        return Table.model_validate(data["table"])

    @api("GET /tables/{tableId}")
    def get(self, table_id: str) -> Op[Table]:
        """A table with its fields and views."""
        return (yield from _table(_id(table_id)))

    @api("GET /workspaces/{workspaceId}/tables")
    def list(self, workspace_id: int) -> Op[builtins.list[dict[str, Any]]]:
        """Every table of a workspace, without fields and views."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/tables")
        return [dict(t) for t in data["results"]]

    @api("PATCH /tables/{tableId}")
    def update(
        self,
        table_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        table_settings: dict[str, Any] | None = None,
        field_group_map: dict[str, Any] | None = None,
        workbook_id: str | None = None,
    ) -> Op[Table]:
        """Renames or describes a table, moves it to ``workbook_id``, or merges
        ``table_settings`` (e.g. ``{"AUTO_RUN_ON": False}``)."""
        body = _drop_none(
            name=name,
            description=description,
            tableSettings=table_settings,
            fieldGroupMap=field_group_map,
            workbookId=workbook_id,
        )
        data = yield req("PATCH", f"/tables/{_q(_id(table_id))}", body)
        return Table.model_validate(data["table"])

    @api("DELETE /tables/{tableId}")
    def delete(self, table_id: str) -> Op[None]:
        """Deletes a table and all its rows."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}")

    @api("GET /tables/{tableId}/count")
    def count(self, table_id: str) -> Op[int]:
        """The number of rows in a table."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/count")
        return int(data["tableTotalRecordsCount"])
