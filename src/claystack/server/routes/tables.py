from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path, Query, Request

from ...wire import (
    Empty,
    FieldEnvelope,
    FieldIn,
    FieldPatch,
    Success,
    TableCreate,
    TableCreated,
    TableDuplicated,
    TableEnvelope,
    TableGraph,
    TablePatch,
    TableSchemaV2,
    TableSourceEnvelope,
    TableSummaryList,
    ViewIn,
    ViewPatch,
    ViewWrapped,
)
from ..deps import (
    Conn,
    CurrentActor,
    Secret,
    TableDep,
    ViewIdDep,
    Work,
    WorkspaceScope,
    get_settings,
    public_base_url,
)
from ..errors import Forbidden
from ..services import (
    sources,
    table_copy,
    table_fields,
    table_schema,
    table_setup,
    tables,
    workbooks,
    workspaces,
)
from ..services.common import Scope
from . import JSONOut, ok, router
from .views import wrapped

api = router("tables")
FieldId = Annotated[str, Path(alias="fieldId")]
ViewId = Annotated[str, Path(alias="viewId")]


async def _create(
    request: Request, uow: Work, scope: Scope, secret: str, body: TableCreate | None
) -> JSONOut:
    settings = get_settings(request)
    out = await table_setup.create(
        uow,
        scope,
        body or TableCreate(),
        secret=secret,
        base_url=public_base_url(request),
        blank_row=settings.initial_blank_row,
    )
    return JSONOut(out)


@api.post("/v3/tables", responses=ok(TableCreated))
async def create_table(
    request: Request,
    uow: Work,
    actor: CurrentActor,
    secret: Secret,
    body: Annotated[TableCreate | None, Body()] = None,
) -> JSONOut:
    """Creates a table (``name`` defaults to "Untitled table"; without ``workspaceId``, in
    the caller's default workspace); without ``workbookId`` a workbook of the same name is
    made for it. ``template``: ``basic`` (Default view and the system views), ``no_views``
    (Default view only) or ``basic_source`` (basic plus a webhook source and its field)."""
    workspace = body.workspaceId if body else None
    scope = await workspaces.default_workspace(uow.conn, actor, workspace)
    if not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    return await _create(request, uow, scope, secret, body)


@api.post("/v3/workspaces/{workspaceId}/tables", responses=ok(TableCreated))
async def create_workspace_table(
    request: Request,
    uow: Work,
    scope: WorkspaceScope,
    secret: Secret,
    body: Annotated[TableCreate | None, Body()] = None,
) -> JSONOut:
    """As ``POST /v3/tables``; the path's workspace wins over a body ``workspaceId``."""
    return await _create(request, uow, scope, secret, body)


@api.get("/v3/workspaces/{workspaceId}/tables", responses=ok(TableSummaryList))
async def list_workspace_tables(
    conn: Conn,
    scope: WorkspaceScope,
    parent_folder_id: Annotated[str | None, Query(alias="parentFolderId")] = None,
) -> JSONOut:
    """Every table of the workspace, without fields and views. Like Clay, ``parentFolderId``
    is accepted and ignored, and function tables are left out."""
    return JSONOut(TableSummaryList.build(results=await workbooks.workspace_tables(conn, scope)))


@api.get("/v3/tables/{tableId}", responses=ok(TableEnvelope))
async def get_table(conn: Conn, table: TableDep) -> JSONOut:
    """A table with its fields and views."""
    return JSONOut(TableEnvelope.build(table=await tables.table_out(conn, table.row), extraData={}))


@api.get("/v3/tables/{tableId}/details", responses=ok(TableEnvelope))
async def table_details(conn: Conn, table: TableDep) -> JSONOut:
    """``{table, extraData}``, as the workspace-scoped details route answers."""
    return JSONOut(TableEnvelope.build(table=await tables.table_out(conn, table.row), extraData={}))


@api.patch("/v3/tables/{tableId}", responses=ok(TableSourceEnvelope))
async def patch_table(
    request: Request,
    uow: Work,
    table: TableDep,
    secret: Secret,
    body: Annotated[TablePatch | None, Body()] = None,
) -> JSONOut:
    """Renames, describes, moves (``workbookId``) or merges ``tableSettings``/``fieldGroupMap``;
    empty objects change nothing. ``sourceSettings.addSource`` adds a webhook source (and its source
    field); the answer then carries ``source`` with its ingestion ``url``, and with
    ``authToken`` when ``typeSettings.generateAuthToken`` was true."""
    body = body or TablePatch()
    add = (body.sourceSettings or {}).get("addSource")
    source = None
    if add:
        source = await sources.add_source(
            uow, table, add, secret=secret, base_url=public_base_url(request)
        )
    out = await tables.update_table(
        uow.conn,
        table,
        name=body.name,
        description=body.description,
        table_settings=body.tableSettings,
        field_group_map=body.fieldGroupMap,
        workbook_id=body.workbookId,
    )
    extra = {"source": source} if source else {}
    return JSONOut(TableSourceEnvelope.build(**out.wire_dict(), table=out, **extra))


@api.delete("/v3/tables/{tableId}", responses=ok(Success))
async def delete_table(uow: Work, table: TableDep) -> JSONOut:
    """Deletes a table and all its rows."""
    await tables.delete_table(uow, table)
    return JSONOut(Success.build(success=True))


@api.post("/v3/tables/{tableId}/fields", responses=ok(FieldEnvelope))
async def create_field(body: FieldIn, uow: Work, table: TableDep) -> JSONOut:
    """Adds a column; a duplicate name is 409 ``FieldNameAlreadyExists``. A formula (any
    field with ``typeSettings.formulaText``) computes every existing row at once."""
    field = await table_fields.create_field(
        uow, table, name=body.name, field_type=body.type, type_settings=body.typeSettings
    )
    return JSONOut(FieldEnvelope.build(field=field))


@api.patch("/v3/tables/{tableId}/fields/{fieldId}", responses=ok(FieldEnvelope))
async def patch_field(
    body: FieldPatch,
    field_id: FieldId,
    uow: Work,
    table: TableDep,
) -> JSONOut:
    """Renames a column or changes its type or settings (settings merge); a changed
    formula computes every row again."""
    field = await table_fields.update_field(
        uow,
        table,
        field_id,
        name=body.name,
        field_type=body.type,
        type_settings=body.typeSettings,
    )
    return JSONOut(FieldEnvelope.build(field=field))


@api.delete("/v3/tables/{tableId}/fields/{fieldId}", responses=ok(Success))
async def delete_field(field_id: FieldId, uow: Work, table: TableDep) -> JSONOut:
    """Deletes a column and its cells in every row."""
    await table_fields.delete_field(uow, table, field_id)
    return JSONOut(Success.build(success=True))


@api.post("/v3/tables/{tableId}/views", responses=ok(ViewWrapped))
async def create_view(body: ViewIn, uow: Work, table: TableDep) -> JSONOut:
    """Adds a view with optional ``filter``, ``sort``, ``limit`` and ``offset``."""
    config = body.model_dump(exclude={"name"}, exclude_unset=True)
    view = await tables.create_view(uow, table, name=body.name, config=config)
    return wrapped(view)


@api.patch("/v3/tables/{tableId}/views/{viewId}", responses=ok(ViewWrapped))
async def patch_view(body: ViewPatch, view_id: ViewId, uow: Work, table: TableDep) -> JSONOut:
    """Changes a view; only the keys sent change."""
    config = body.model_dump(exclude={"name"}, exclude_unset=True)
    view = await tables.update_view(uow, table, view_id, name=body.name, config=config)
    return wrapped(view)


@api.delete("/v3/tables/{tableId}/views/{viewId}", responses=ok(Success))
async def delete_view(view_id: ViewId, conn: Conn, table: TableDep) -> JSONOut:
    """Deletes a view (a table keeps at least one)."""
    await tables.delete_view(conn, table, view_id)
    return JSONOut(Success.build(success=True))


@api.post("/v3/tables/{tableId}/duplicate", responses=ok(TableDuplicated))
async def duplicate_table(
    conn: Conn, table: TableDep, body: Annotated[Empty | None, Body()] = None
) -> JSONOut:
    """A copy in the same workbook: fields, views and settings with fresh ids (every
    reference rewritten), no rows."""
    return JSONOut(await table_copy.duplicate(conn, table))


@api.get("/v3/tables/{tableId}/views/{viewId}/table-schema-v2", responses=ok(TableSchemaV2))
async def table_schema_v2(view_id: ViewIdDep, conn: Conn, table: TableDep) -> JSONOut:
    """Each column's kind and data type, and up to 50 of the view's rows, flat."""
    return JSONOut(await table_schema.table_schema(conn, table, view_id))


@api.get("/v3/tables/{tableId}/graph", responses=ok(TableGraph))
async def table_graph(conn: Conn, table: TableDep) -> JSONOut:
    """Columns as nodes and their dependencies (``Input``, ``ConditionalRun``) as edges."""
    return JSONOut(await table_schema.graph(conn, table))
