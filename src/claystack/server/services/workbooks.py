"""Workbooks as the workspace-scoped routes show them: one workbook, its tables in order,
its overview graph, and a workspace's table list (spec part 2 §2)."""

from __future__ import annotations

from typing import Any

import orjson

from ...wire import Workbook as WorkbookOut
from ...wire import WorkbookOverview, WorkbookWithTables
from ..enrichment import registry
from ..errors import InvalidParameter, NotFound
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import tables as tables_repo
from ..storage.repositories import workbooks as repo
from . import workspaces
from .common import Scope, iso, now_ms

DEFAULT_WORKBOOK_NAME = "Untitled workbook"


async def _workbook(conn: Connection, scope: Scope, workbook_id: str) -> Any:
    row = await repo.get_by_id(conn, workbook_id)
    if row is None or row.workspace_id != scope.workspace_id:
        raise NotFound("Workbook not found")
    return row


async def get_workbook(conn: Connection, scope: Scope, workbook_id: str) -> WorkbookOut:
    return workspaces.workbook_out(await _workbook(conn, scope, workbook_id))


async def get_workbook_with_tables(
    conn: Connection, scope: Scope, workbook_id: str
) -> WorkbookWithTables:
    """The workbook with ``orderedWorkbookTables`` ``[{id, name}]``."""
    row = await _workbook(conn, scope, workbook_id)
    return WorkbookWithTables.build(
        **workspaces.workbook_row(row),
        orderedWorkbookTables=[
            {"id": t.id, "name": t.name}
            for t in await tables_repo.list_for_workbook(conn, workbook_id)
        ],
    )


async def update_workbook(
    conn: Connection, scope: Scope, workbook_id: str, *, name: str | None
) -> WorkbookOut:
    await _workbook(conn, scope, workbook_id)
    if name is not None:
        if not name.strip():
            raise InvalidParameter("name", "must not be empty")
        await repo.update_workbook(conn, workbook_id, name=name, updated_at=now_ms())
    return await get_workbook(conn, scope, workbook_id)


def table_summary(row: Any) -> dict[str, Any]:
    """A table as lists show it: without its fields and views."""
    return {
        "id": row.id,
        "workspaceId": row.workspace_id,
        "workbookId": row.workbook_id,
        "name": row.name,
        "description": row.description,
        "type": row.type,
        "parentFolderId": row.parent_folder_id,
        "tableSettings": row.settings,
        "firstViewId": row.first_view_id,
        "ownerId": row.owner_id,
        "rowCount": row.row_count,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


async def workspace_tables(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Every table of the workspace; like Clay, the folder filter is ignored and function
    (subroutine) tables are left out."""
    rows = await tables_repo.list_for_workspace(conn, scope.workspace_id)
    return [table_summary(r) for r in rows if (r.settings or {}).get("BLOCK_TYPE") != "SUBROUTINE"]


def _credit_estimate(settings: dict[str, Any]) -> int:
    integration = registry.get(str(settings.get("actionPackageId") or ""))
    action = integration.action(str(settings.get("actionKey") or "")) if integration else None
    return int(getattr(action, "credits", 0) or 0)


async def overview(conn: Connection, scope: Scope, workbook_id: str) -> WorkbookOverview:
    """Tables as nodes; an edge where one table's field settings name another table of the
    workbook (a lookup or a send reads or feeds it: INFERRED)."""
    await _workbook(conn, scope, workbook_id)
    tables = await tables_repo.list_for_workbook(conn, workbook_id)
    ids = {t.id for t in tables}
    counts = await fields_repo.count_by_table(conn, ids)
    nodes, edges = [], []
    for t in tables:
        fields = await fields_repo.list_any_order(conn, t.id)
        estimate = sum(_credit_estimate(f.type_settings) for f in fields if f.type == "action")
        nodes.append(
            {
                "nodeId": t.id,
                "name": t.name,
                "type": t.type,
                "totalFieldCount": counts.get(t.id, 0),
                "creditEstimate": estimate,
                "tableDetails": table_summary(t),
                "sendDataFields": [],
            }
        )
        for other in sorted(ids - {t.id}):
            if any(other in orjson.dumps(f.type_settings).decode() for f in fields):
                edges.append({"sourceNodeId": other, "targetNodeId": t.id, "type": "lookup"})
    return WorkbookOverview.build(nodes=nodes, edges=edges)
