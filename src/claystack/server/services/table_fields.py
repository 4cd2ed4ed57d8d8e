"""A table's fields (columns): added, changed and deleted, with the rules that keep the
table whole: unique names, inputs that exist, views that list every field, a formula filled
when it is added or changed, no field deleted that another reads or a source feeds."""

from __future__ import annotations

from typing import Any

from ...wire import Field as FieldOut
from ..errors import BadRequest, FieldNameAlreadyExists, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import sources as sources_repo
from ..storage.uow import UnitOfWork
from . import fields as fields_svc
from . import tables
from .common import now_ms
from .tables import TableRef

FIELD_TYPES = (
    "text",
    "number",
    "boolean",
    "date",
    "url",
    "email",
    "phone",
    "select",
    "multiselect",
    "currency",
    "percent",
    "image",
    "formula",
    "action",
    "source",
    "lookup",
    "json",
)


async def _field(conn: Connection, table_id: str, field_id: str) -> Any:
    row = await fields_repo.get(conn, table_id, field_id)
    if row is None:
        raise NotFound("Field not found")
    return row


async def _check_name_free(
    conn: Connection, table_id: str, name: str, except_id: str | None = None
) -> None:
    existing = await fields_repo.id_named(conn, table_id, name)
    if existing is not None and existing != except_id:
        raise _name_taken(name)


def _name_taken(name: str) -> FieldNameAlreadyExists:
    return FieldNameAlreadyExists(f'A field named "{name}" already exists in this table')


def _check_type(field_type: str) -> str:
    if field_type not in FIELD_TYPES:
        raise InvalidParameter("type", f'"{field_type}" is not one of ' + ", ".join(FIELD_TYPES))
    return field_type


async def create_field(
    uow: UnitOfWork,
    table: TableRef,
    *,
    name: str,
    field_type: str,
    type_settings: dict[str, Any] | None,
) -> FieldOut:
    conn = uow.conn
    if not name.strip():
        raise InvalidParameter("name", "must not be empty")
    _check_type(field_type)
    # The table's fields, read once: the name's check, the next position, the inputs'
    # check and the views' field lists all come from them.
    existing = await tables.list_fields(conn, table.id)
    if any(f.name == name for f in existing):
        raise _name_taken(name)
    now = now_ms()
    field_id = new_id("f")
    field_type, settings = await fields_svc.prepare(
        conn,
        workspace_id=table.scope.workspace_id,
        table_id=table.id,
        field_type=field_type,
        settings=type_settings or {},
        field_id=field_id,
    )
    values = {
        "id": field_id,
        "table_id": table.id,
        "name": name,
        "type": field_type,
        "type_settings": settings,
        "position": max((f.position for f in existing), default=0) + 1,
        "created_at": now,
        "updated_at": now,
    }
    _check_inputs_among(values["type_settings"], {f.id for f in existing})
    row = await fields_repo.add(conn, values)
    # The new field has the highest position: it goes last.
    await tables.sync_view_fields(conn, table.id, [*(f.id for f in existing), field_id])
    await tables.touch(uow, table.id)
    if field_type == "formula" and settings.get("formulaText"):
        await _fill_formula(uow, table, field_id)
    if field_type == "source":
        from . import subscriptions  # sources import this module

        await subscriptions.subscribe(uow, table, field_id, values["type_settings"])
        row = await _field(conn, table.id, field_id)
    return tables.field_out(row)


async def _fill_formula(uow: UnitOfWork, table: TableRef, field_id: str) -> None:
    """A new or changed formula computes every existing row (auto-run on), or marks its
    cells stale until a run (auto-run off)."""
    from . import runs

    await runs.fill_column(uow, table, field_id)


async def _check_inputs(
    conn: Connection, table_id: str, type_settings: Any, field_id: str | None = None
) -> None:
    refs = tables.input_field_ids(type_settings)
    if not refs:
        return
    if field_id in refs:
        raise BadRequest("typeSettings refers to the field itself")
    _check_inputs_among(type_settings, await fields_repo.ids(conn, table_id), refs)


def _check_inputs_among(type_settings: Any, known: set[str], refs: list[str] | None = None) -> None:
    """The fields ``type_settings`` reads are among ``known``."""
    missing = [r for r in refs or tables.input_field_ids(type_settings) if r not in known]
    if missing:
        raise BadRequest(f"typeSettings refers to unknown field {missing[0]}")


async def update_field(
    uow: UnitOfWork,
    table: TableRef,
    field_id: str,
    *,
    name: str | None,
    field_type: str | None,
    type_settings: dict[str, Any] | None,
) -> FieldOut:
    conn = uow.conn
    row = await _field(conn, table.id, field_id)
    if field_id in tables.SYSTEM_FIELD_IDS and (field_type or type_settings):
        raise BadRequest("System fields cannot be changed")
    values: dict[str, Any] = {}
    if name is not None and name != row.name:
        if not name.strip():
            raise InvalidParameter("name", "must not be empty")
        await _check_name_free(conn, table.id, name, except_id=field_id)
        values["name"] = name
    if field_type is not None:
        values["type"] = _check_type(field_type)
    refill = False
    if type_settings is not None or field_type is not None:
        # PATCH replaces typeSettings whole (spec part 2 §4.2); a source field's subscription
        # is the server's to keep.
        if type_settings is None:
            merged = dict(row.type_settings)
        elif row.type == "source" and (field_type or row.type) == "source":
            merged = {**row.type_settings, **type_settings}
        else:
            merged = dict(type_settings)
        new_type, merged = await fields_svc.prepare(
            conn,
            workspace_id=table.scope.workspace_id,
            table_id=table.id,
            field_type=field_type or row.type,
            settings=merged,
            field_id=field_id,
            previous=row.type_settings if row.type == "action" else None,
        )
        await _check_inputs(conn, table.id, merged, field_id)
        values["type"], values["type_settings"] = new_type, merged
        refill = new_type == "formula" and bool(merged.get("formulaText"))
        if refill and row.type == "formula":
            refill = fields_svc.formula_changed(row.type_settings, merged)
    if values:
        values["updated_at"] = now_ms()
        changed = await fields_repo.update_field(conn, table.id, field_id, **values)
        if changed is None:  # deleted meanwhile (PostgreSQL)
            raise NotFound("Field not found")
        row = changed
        await tables.touch(uow, table.id)
    if refill:
        await _fill_formula(uow, table, field_id)
    return tables.field_out(row)


async def delete_field(uow: UnitOfWork, table: TableRef, field_id: str) -> None:
    conn = uow.conn
    await _field(conn, table.id, field_id)
    if field_id in tables.SYSTEM_FIELD_IDS:
        raise BadRequest("System fields cannot be deleted")
    users = [
        f.name
        for f in await tables.list_fields(conn, table.id)
        if f.id != field_id and field_id in tables.input_field_ids(f.type_settings)
    ]
    if users:
        raise BadRequest(f'Field is used by "{users[0]}"; change or delete that field first')
    source = await sources_repo.name_feeding(conn, table.id, field_id)
    if source is not None:
        raise BadRequest(f'Field is fed by the source "{source}"; delete that source first')
    await fields_repo.delete_field(conn, table.id, field_id)
    await tables.touch(uow, table.id)  # the table's row before the records'
    await uow.filter_indexes(table.id, [field_id], drop=True)
    await tables.drop_cells(uow, table.id, field_id)
    await tables.sync_view_fields(conn, table.id)
