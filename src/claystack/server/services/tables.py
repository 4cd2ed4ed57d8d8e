"""Tables, their fields and their views."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from ...wire import Field as FieldOut
from ...wire import Table as TableOut
from ...wire import View as ViewOut
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id
from ..storage import search_index
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import records as records_repo
from ..storage.repositories import tables as repo
from ..storage.repositories import views as views_repo
from ..storage.repositories import workbooks as workbooks_repo
from ..storage.uow import UnitOfWork
from . import fields as fields_svc
from . import views as views_svc
from . import workspaces
from .common import Actor, Scope, iso, now_ms

SYSTEM_FIELDS = (("f_created_at", "Created At"), ("f_updated_at", "Updated At"))
SYSTEM_FIELD_IDS = frozenset(f for f, _ in SYSTEM_FIELDS)
TABLE_TYPES = ("spreadsheet", "company", "people", "jobs")
TEMPLATES = ("basic", "no_views", "basic_source")
DEFAULT_TABLE_NAME = "Untitled table"
DEFAULT_TABLE_SETTINGS = {"AUTO_RUN_ON": True, "AUTO_RUN_MODE": "ALL_NEW_ROWS"}
_FIELD_REF = re.compile(r"\{\{\s*(f_[A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table the caller may use, as resolved by the route dependency."""

    id: str
    scope: Scope
    row: Any


async def resolve_table(
    conn: Connection, actor: Actor, table_id: str, *, auth_version: int | None = None
) -> TableRef:
    """The table if the caller belongs to its workspace; 404 otherwise (never 403). With
    ``auth_version``, also a 404 when the caller's credentials have moved past it."""
    row = await repo.get_for_member(conn, table_id, actor.user_id, auth_version=auth_version)
    if row is None:
        raise NotFound("Table not found")
    return TableRef(row.id, Scope(actor, row.workspace_id, row.role), row)


# -- serialization -------------------------------------------------------------------------


def field_out(row: Any) -> FieldOut:
    return FieldOut.build(**field_row(row))


def field_row(row: Any) -> dict[str, Any]:
    """A field in the ``wire.Field`` shape as a plain dict, for lists of them."""
    return {
        "id": row.id,
        "tableId": row.table_id,
        "name": row.name,
        "type": row.type,
        "typeSettings": row.type_settings,
        "inputFieldIds": input_field_ids(row.type_settings),
        "isSystem": row.id in SYSTEM_FIELD_IDS,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        **fields_svc.extras(row.type, row.type_settings),
    }


def with_groups(fields: list[dict[str, Any]], groups: dict[str, Any]) -> list[dict[str, Any]]:
    """Adds ``groupId`` to the fields that belong to a field group."""
    member = {
        f["id"]: gid
        for gid, g in (groups or {}).items()
        if isinstance(g, dict)
        for f in (g.get("groupDetails") or {}).get("fields", [])
        if isinstance(f, dict)
    }
    return [{**f, "groupId": member.get(f["id"])} for f in fields]


def view_out(row: Any) -> ViewOut:
    return ViewOut.build(**view_row(row))


def view_row(row: Any) -> dict[str, Any]:
    """A view in the ``wire.View`` shape as a plain dict, for lists of them."""
    cfg = row.config
    fields = cfg.get("fields") or {}
    return {
        "id": row.id,
        "tableId": row.table_id,
        "name": row.name,
        "description": cfg.get("description"),
        "typeSettings": cfg.get("typeSettings") or {},
        "order": row.position,
        "fields": views_svc.field_entries(fields, list(fields)),
        "sort": cfg.get("sort"),
        "filter": cfg.get("filter"),
        "limit": cfg.get("limit"),
        "offset": cfg.get("offset"),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def input_field_ids(type_settings: Any) -> list[str]:
    text = orjson.dumps(type_settings).decode() if type_settings else ""
    return list(dict.fromkeys(_FIELD_REF.findall(text)))


async def list_fields(conn: Connection, table_id: str) -> list[Any]:
    return await fields_repo.list_for_table(conn, table_id)


async def list_views(conn: Connection, table_id: str) -> list[Any]:
    return await views_repo.list_for_table(conn, table_id)


async def table_out(conn: Connection, row: Any) -> TableOut:
    """The table with its fields and views (those two as plain dicts of their shapes)."""
    return table_out_of(row, await list_fields(conn, row.id), await list_views(conn, row.id))


def table_out_of(row: Any, fields: list[Any], views: list[Any]) -> TableOut:
    """``table_out`` of rows in hand: the table's, its fields' and its views', in order."""
    return TableOut.build(
        id=row.id,
        workspaceId=row.workspace_id,
        workbookId=row.workbook_id,
        name=row.name,
        description=row.description,
        type=row.type,
        parentFolderId=row.parent_folder_id,
        tableSettings=row.settings,
        fieldGroupMap=row.field_group_map,
        firstViewId=row.first_view_id,
        fields=with_groups([field_row(f) for f in fields], row.field_group_map),
        views=[view_row(v) for v in views],
        ownerId=row.owner_id,
        rowCount=row.row_count,
        createdAt=iso(row.created_at),
        updatedAt=iso(row.updated_at),
    )


async def reload(conn: Connection, table_id: str) -> Any:
    return await repo.get_by_id(conn, table_id)


# -- tables --------------------------------------------------------------------------------


async def create_table(
    conn: Connection,
    scope: Scope,
    *,
    name: str | None,
    workbook_id: str | None,
    table_type: str | None,
    description: str | None = None,
    table_settings: dict[str, Any] | None = None,
    template: str | None = None,
    icon: dict[str, Any] | None = None,
) -> tuple[TableOut, dict[str, Any]]:
    name = name if name and name.strip() else DEFAULT_TABLE_NAME
    template = template or "basic"
    if template not in TEMPLATES:
        choices = ", ".join(TEMPLATES)
        raise InvalidParameter("template", f"one of {choices}")
    table_type = (table_type or "spreadsheet").lower()
    if table_type not in TABLE_TYPES:
        raise InvalidParameter("type", f"expected one of {', '.join(TABLE_TYPES)}")
    extra: dict[str, Any] = {}
    if workbook_id is None:
        workbook = await workspaces.create_workbook(conn, scope, name=name)
        extra["newlyCreatedWorkbook"] = workbook
        workbook_id, folder_id = workbook["id"], None
    else:
        wb = await workbooks_repo.placement(conn, workbook_id)
        if wb is None or wb.workspace_id != scope.workspace_id:
            raise NotFound("Workbook not found")
        folder_id = wb.parent_folder_id
    now = now_ms()
    table_id, view_id = new_id("t"), new_id("gv")
    row = await repo.add(
        conn,
        id=table_id,
        workspace_id=scope.workspace_id,
        workbook_id=workbook_id,
        parent_folder_id=folder_id,
        name=name,
        description=description,
        type=table_type,
        settings={
            **DEFAULT_TABLE_SETTINGS,
            **(table_settings or {}),
            **({"icon": icon} if icon else {}),
        },
        field_group_map={},
        first_view_id=view_id,
        owner_id=scope.actor.user_id,
        row_count=0,
        created_at=now,
        updated_at=now,
    )
    fields, views = await _add_first_fields_and_views(conn, table_id, view_id, template, now)
    return table_out_of(row, fields, views), extra


async def _add_first_fields_and_views(
    conn: Connection, table_id: str, view_id: str, template: str, now: int
) -> tuple[list[Any], list[Any]]:
    """A new table's system fields and its views: the default one (``view_id``) and, but for
    the ``no_views`` template, the preconfigured ones; every view lists the fields (as
    ``sync_view_fields`` would make it). Their rows as stored."""
    fields = await fields_repo.add_many(
        conn,
        [
            {
                "id": fid,
                "table_id": table_id,
                "name": fname,
                "type": "date",
                "type_settings": {"isSystem": True},
                "position": i,
                "created_at": now,
                "updated_at": now,
            }
            for i, (fid, fname) in enumerate(SYSTEM_FIELDS)
        ],
    )
    blank: dict[str, Any] = {
        "fields": views_svc.field_entries({}, [fid for fid, _ in SYSTEM_FIELDS]),
        "sort": None,
        "filter": None,
        "limit": None,
        "offset": None,
    }
    views = [{"id": view_id, "name": "Default view", "config": blank}]
    if template != "no_views":
        views += [
            {
                "id": new_id("gv"),
                "name": vname,
                "config": {**blank, "description": text, "typeSettings": {"preconfiguredType": k}},
            }
            for k, vname, text in views_svc.PRECONFIGURED
        ]
    stored = await views_repo.add_many(
        conn,
        [
            {**v, "table_id": table_id, "position": i, "created_at": now, "updated_at": now}
            for i, v in enumerate(views)
        ],
    )
    return fields, stored


async def update_table(
    conn: Connection,
    table: TableRef,
    *,
    name: str | None = None,
    description: str | None = None,
    table_settings: dict[str, Any] | None = None,
    field_group_map: dict[str, Any] | None = None,
    workbook_id: str | None = None,
) -> TableOut:
    values: dict[str, Any] = {}
    if workbook_id is not None and workbook_id != table.row.workbook_id:
        wb = await workbooks_repo.placement(conn, workbook_id)
        if wb is None or wb.workspace_id != table.scope.workspace_id:
            raise NotFound("Workbook not found")
        values.update(workbook_id=workbook_id, parent_folder_id=wb.parent_folder_id)
    if name is not None:
        if not name.strip():
            raise InvalidParameter("name", "must not be empty")
        values["name"] = name
    if description is not None:
        values["description"] = description
    if table_settings:
        values["settings"] = {**table.row.settings, **table_settings}
    if field_group_map:
        values["field_group_map"] = {**table.row.field_group_map, **field_group_map}
    if values:
        values["updated_at"] = now_ms()
        row = await repo.update_table(conn, table.id, **values) or await reload(conn, table.id)
    else:
        row = await reload(conn, table.id)
    return await table_out(conn, row)


async def delete_table(uow: UnitOfWork, table: TableRef) -> None:
    await workspaces.delete_resources(uow, table.scope, table_ids=[table.id])


async def list_tables_in_workbook(
    conn: Connection, scope: Scope, workbook_id: str
) -> list[TableOut]:
    if await workspaces.workbook_workspace(conn, workbook_id) != scope.workspace_id:
        raise NotFound("Workbook not found")
    rows = await repo.list_for_workbook(conn, workbook_id)
    return [await table_out(conn, r) for r in rows]


async def drop_cells(uow: UnitOfWork, table_id: str, field_id: str) -> None:
    """Removes a deleted field's cells from every row, inside the database."""
    uow.declared(table_id)
    await records_repo.drop_field_cells(uow.conn, table_id, field_id)


async def touch(uow: UnitOfWork, table_id: str) -> None:
    """The table changed (its fields, or its rows next): ``updated_at`` and the version
    move, and its row is locked before any record's."""
    await uow.write_tables([table_id], updated_at=now_ms())


async def field_ids(conn: Connection, table_id: str) -> dict[str, str]:
    """Field id → type, for validating writes."""
    return await fields_repo.types(conn, table_id)


# -- views ---------------------------------------------------------------------------------


async def sync_view_fields(
    conn: Connection, table_id: str, in_order: list[str] | None = None
) -> None:
    """Every view lists every field (new ones visible), and none that are gone.
    ``in_order``: the ids of the table's fields in their order, when the caller knows them."""
    ids = [f.id for f in await list_fields(conn, table_id)] if in_order is None else in_order
    changed = {}
    for view in await list_views(conn, table_id):
        current = view.config.get("fields") or {}
        fields = views_svc.field_entries(current, ids)
        if fields != current:
            changed[view.id] = {**view.config, "fields": fields}
    await views_repo.set_configs(conn, changed)


async def get_view(conn: Connection, table_id: str, view_id: str) -> Any:
    row = await views_repo.get(conn, table_id, view_id)
    if row is None:
        raise NotFound("View not found")
    return row


async def view_config(conn: Connection, table_id: str, view_id: str) -> dict[str, Any]:
    """A view's config as ``view_rows.apply_view`` needs it (with the action field ids that the
    "Fully enriched rows" filter reads, and whether the table's search index can narrow a
    ``CONTAINS``)."""
    cfg = dict((await get_view(conn, table_id, view_id)).config)
    items = (cfg.get("filter") or {}).get("items") or []
    if any(i.get("operator") == "contains" for i in items):
        if await search_index.state(conn, table_id) == "ready":
            cfg["searchIndex"] = conn.dialect.name
    if views_svc.preconfigured_type(cfg) == views_svc.FULLY_ENRICHED:
        cfg["actionFieldIds"] = await fields_repo.action_ids(conn, table_id)
    return cfg


async def create_view(
    uow: UnitOfWork,
    table: TableRef,
    *,
    name: str,
    config: dict[str, Any],
) -> ViewOut:
    from .views import validate_view_config

    conn = uow.conn

    types = await field_ids(conn, table.id)
    cfg = validate_view_config(config, types)
    position = await views_repo.next_position(conn, table.id)
    now = now_ms()
    view_id = new_id("gv")
    await views_repo.add(
        conn,
        id=view_id,
        table_id=table.id,
        name=name,
        position=position,
        config={"fields": {}, **cfg},
        created_at=now,
        updated_at=now,
    )
    await sync_view_fields(conn, table.id)
    await views_svc.prepare_indexes(uow, table.id, cfg)
    return view_out(await get_view(conn, table.id, view_id))


async def update_view(
    uow: UnitOfWork,
    table: TableRef,
    view_id: str,
    *,
    name: str | None,
    config: dict[str, Any],
) -> ViewOut:
    """Changes a view; a config with a filter makes the indexes it needs on a big table."""
    from .views import validate_view_config

    conn = uow.conn

    row = await get_view(conn, table.id, view_id)
    types = await field_ids(conn, table.id)
    cfg = validate_view_config(config, types)
    if "fields" in config:
        cfg["fields"] = views_svc.merge_field_settings(
            row.config.get("fields") or {}, config["fields"] or {}, types
        )
    values: dict[str, Any] = {"config": {**row.config, **cfg}, "updated_at": now_ms()}
    if name is not None:
        values["name"] = name
    await views_repo.update_view(conn, view_id, **values)
    await views_svc.prepare_indexes(uow, table.id, cfg)
    return view_out(await get_view(conn, table.id, view_id))


async def delete_view(conn: Connection, table: TableRef, view_id: str) -> None:
    view = await get_view(conn, table.id, view_id)
    if views_svc.preconfigured_type(view.config):
        raise BadRequest(f'The view "{view.name}" is a system view and cannot be deleted')
    views = await list_views(conn, table.id)
    if len(views) == 1:
        raise BadRequest("A table must keep at least one view")
    await views_repo.delete_view(conn, view_id)
    if table.row.first_view_id == view_id:
        first = next(v.id for v in views if v.id != view_id)
        await repo.update_table(conn, table.id, first_view_id=first)


async def row_count(conn: Connection, table_id: str) -> int:
    return await repo.row_count(conn, table_id)


async def actual_row_count(conn: Connection, table_id: str) -> int:
    """The counted number of rows (slow; for checks, never on a request path)."""
    return await repo.count_records(conn, table_id)
