from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Body, Path, Request

from ..deps import Conn, CurrentActor, Secret, TableDep, get_settings
from ..schemas import (
    FieldEnvelope,
    FieldIn,
    FieldPatch,
    Success,
    TableEnvelope,
    TableIn,
    TablePatch,
    TableSourceEnvelope,
    ViewEnvelope,
    ViewIn,
    ViewPatch,
)
from ..services import sources, tables, workspaces
from . import JSONOut, ok, router
from .runs import wake_runner

api = router("tables")
FieldId = Annotated[str, Path(alias="fieldId")]
ViewId = Annotated[str, Path(alias="viewId")]


@api.post("/v3/tables", responses=ok(TableEnvelope))
async def create_table(body: TableIn, conn: Conn, actor: CurrentActor) -> JSONOut:
    """Creates a table; without ``workbookId`` a workbook of the same name is made for it."""
    scope = await workspaces.resolve_workspace(conn, actor, body.workspaceId, write=True)
    table, extra = await tables.create_table(
        conn,
        scope,
        name=body.name,
        workbook_id=body.workbookId,
        table_type=body.type,
        description=body.description,
        table_settings=body.tableSettings,
    )
    return JSONOut({"table": table, "extraData": extra})


@api.get("/v3/tables/{tableId}", responses=ok(TableEnvelope))
async def get_table(conn: Conn, table: TableDep) -> JSONOut:
    """A table with its fields and views."""
    return JSONOut({"table": await tables.table_out(conn, table.row), "extraData": {}})


@api.patch("/v3/tables/{tableId}", responses=ok(TableSourceEnvelope))
async def patch_table(
    request: Request,
    conn: Conn,
    table: TableDep,
    secret: Secret,
    body: Annotated[TablePatch | None, Body()] = None,
) -> JSONOut:
    """Renames, describes, or merges ``tableSettings``/``fieldGroupMap``; empty objects
    change nothing. ``sourceSettings.addSource`` adds a webhook source (and its source
    field); the answer then carries ``source`` with its ingestion ``url``, and with
    ``authToken`` when ``typeSettings.generateAuthToken`` was true."""
    body = body or TablePatch()
    add = (body.sourceSettings or {}).get("addSource")
    source = None
    if add:
        source = await sources.add_source(
            conn, table, add, secret=secret, base_url=get_settings(request).base_url
        )
    out = await tables.update_table(
        conn,
        table,
        name=body.name,
        description=body.description,
        table_settings=body.tableSettings,
        field_group_map=body.fieldGroupMap,
    )
    return JSONOut({"table": out, "source": source} if source else {"table": out})


@api.delete("/v3/tables/{tableId}", responses=ok(Success))
async def delete_table(conn: Conn, table: TableDep) -> JSONOut:
    """Deletes a table and all its rows."""
    await tables.delete_table(conn, table)
    return JSONOut({"success": True})


@api.post("/v3/tables/{tableId}/fields", responses=ok(FieldEnvelope))
async def create_field(
    request: Request, background: BackgroundTasks, body: FieldIn, conn: Conn, table: TableDep
) -> JSONOut:
    """Adds a column; a duplicate name is 409 ``FieldNameAlreadyExists``. A formula (any
    field with ``typeSettings.formulaText``) computes every existing row at once."""
    field = await tables.create_field(
        conn, table, name=body.name, field_type=body.type, type_settings=body.typeSettings
    )
    wake_runner(request, background)
    return JSONOut({"field": field})


@api.patch("/v3/tables/{tableId}/fields/{fieldId}", responses=ok(FieldEnvelope))
async def patch_field(
    request: Request,
    background: BackgroundTasks,
    body: FieldPatch,
    field_id: FieldId,
    conn: Conn,
    table: TableDep,
) -> JSONOut:
    """Renames a column or changes its type or settings (settings merge); a changed
    formula computes every row again."""
    field = await tables.update_field(
        conn,
        table,
        field_id,
        name=body.name,
        field_type=body.type,
        type_settings=body.typeSettings,
    )
    wake_runner(request, background)
    return JSONOut({"field": field})


@api.delete("/v3/tables/{tableId}/fields/{fieldId}", responses=ok(Success))
async def delete_field(field_id: FieldId, conn: Conn, table: TableDep) -> JSONOut:
    """Deletes a column and its cells in every row."""
    await tables.delete_field(conn, table, field_id)
    return JSONOut({"success": True})


@api.post("/v3/tables/{tableId}/views", responses=ok(ViewEnvelope))
async def create_view(body: ViewIn, conn: Conn, table: TableDep) -> JSONOut:
    """Adds a view with optional ``filter``, ``sort``, ``limit`` and ``offset``."""
    config = body.model_dump(exclude={"name"}, exclude_unset=True)
    return JSONOut({"view": await tables.create_view(conn, table, name=body.name, config=config)})


@api.patch("/v3/tables/{tableId}/views/{viewId}", responses=ok(ViewEnvelope))
async def patch_view(body: ViewPatch, view_id: ViewId, conn: Conn, table: TableDep) -> JSONOut:
    """Changes a view; only the keys sent change."""
    config = body.model_dump(exclude={"name"}, exclude_unset=True)
    view = await tables.update_view(conn, table, view_id, name=body.name, config=config)
    return JSONOut({"view": view})


@api.delete("/v3/tables/{tableId}/views/{viewId}", responses=ok(Success))
async def delete_view(view_id: ViewId, conn: Conn, table: TableDep) -> JSONOut:
    """Deletes a view (a table keeps at least one)."""
    await tables.delete_view(conn, table, view_id)
    return JSONOut({"success": True})
