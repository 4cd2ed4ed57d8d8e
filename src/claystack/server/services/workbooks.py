"""Workbooks as the workspace-scoped routes show them: one workbook, its tables in order,
its overview graph, and a workspace's table list (spec part 2 §2)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ...wire import Workbook as WorkbookOut
from ...wire import WorkbookOverview, WorkbookWithTables
from ..enrichment import registry
from ..errors import InvalidParameter, NotFound
from ..storage.models import Field, Table, Workbook
from . import workspaces
from .common import Scope, iso, now_ms

DEFAULT_WORKBOOK_NAME = "Untitled workbook"


async def _workbook(conn: AsyncConnection, scope: Scope, workbook_id: str) -> Any:
    row = (await conn.execute(select(Workbook).where(Workbook.id == workbook_id))).first()
    if row is None or row.workspace_id != scope.workspace_id:
        raise NotFound("Workbook not found")
    return row


async def _tables(conn: AsyncConnection, workbook_id: str) -> list[Any]:
    return list(
        await conn.execute(
            select(Table).where(Table.workbook_id == workbook_id).order_by(Table.created_at)
        )
    )


async def get_workbook(conn: AsyncConnection, scope: Scope, workbook_id: str) -> WorkbookOut:
    return workspaces.workbook_out(await _workbook(conn, scope, workbook_id))


async def get_workbook_with_tables(
    conn: AsyncConnection, scope: Scope, workbook_id: str
) -> WorkbookWithTables:
    """The workbook with ``orderedWorkbookTables`` ``[{id, name}]``."""
    row = await _workbook(conn, scope, workbook_id)
    return WorkbookWithTables.build(
        **workspaces.workbook_row(row),
        orderedWorkbookTables=[
            {"id": t.id, "name": t.name} for t in await _tables(conn, workbook_id)
        ],
    )


async def update_workbook(
    conn: AsyncConnection, scope: Scope, workbook_id: str, *, name: str | None
) -> WorkbookOut:
    await _workbook(conn, scope, workbook_id)
    if name is not None:
        if not name.strip():
            raise InvalidParameter("name", "must not be empty")
        await conn.execute(
            update(Workbook)
            .where(Workbook.id == workbook_id)
            .values(name=name, updated_at=now_ms())
        )
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


async def workspace_tables(conn: AsyncConnection, scope: Scope) -> list[dict[str, Any]]:
    """Every table of the workspace; like Clay, the folder filter is ignored and function
    (subroutine) tables are left out."""
    rows = await conn.execute(
        select(Table)
        .where(Table.workspace_id == scope.workspace_id)
        .order_by(Table.created_at, Table.id)
    )
    return [table_summary(r) for r in rows if (r.settings or {}).get("BLOCK_TYPE") != "SUBROUTINE"]


def _credit_estimate(settings: dict[str, Any]) -> int:
    integration = registry.get(str(settings.get("actionPackageId") or ""))
    action = integration.action(str(settings.get("actionKey") or "")) if integration else None
    return int(getattr(action, "credits", 0) or 0)


async def overview(conn: AsyncConnection, scope: Scope, workbook_id: str) -> WorkbookOverview:
    """Tables as nodes; an edge where one table's field settings name another table of the
    workbook (a lookup or a send reads or feeds it: INFERRED)."""
    await _workbook(conn, scope, workbook_id)
    tables = await _tables(conn, workbook_id)
    ids = {t.id for t in tables}
    counted = await conn.execute(
        select(Field.table_id, func.count()).where(Field.table_id.in_(ids)).group_by(Field.table_id)
    )
    counts = {table_id: n for table_id, n in counted}
    nodes, edges = [], []
    for t in tables:
        fields = list(await conn.execute(select(Field).where(Field.table_id == t.id)))
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
