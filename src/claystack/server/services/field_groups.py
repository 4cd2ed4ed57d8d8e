"""Fields as lists and groups (spec part 2 §4.1): the field list, bulk delete, field groups
and the waterfall group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...wire import FieldGroupOut, GroupCreated, WaterfallOut
from ..errors import BadRequest, FieldNameAlreadyExists, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import sources as sources_repo
from ..storage.repositories import tables as tables_repo
from ..storage.repositories import views as views_repo
from ..storage.uow import UnitOfWork
from . import table_fields
from . import tables as tables_svc
from .common import now_ms
from .tables import SYSTEM_FIELD_IDS, TableRef

# A field whose input was deleted keeps its settings and says so (live behaviour).
DELETED_INPUT = "DELETED_INPUT_FIELD"


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


async def list_fields(conn: Connection, table: TableRef) -> list[dict[str, Any]]:
    rows = await tables_svc.list_fields(conn, table.id)
    return tables_svc.with_groups(
        [tables_svc.field_row(f) for f in rows], table.row.field_group_map
    )


def _ids(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise _bad(f'Field "{name}" - expected a list of field ids')
    return list(dict.fromkeys(value))


async def _groups(conn: Connection, table_id: str) -> dict[str, Any]:
    found = await tables_repo.field_group_map(conn, table_id)
    return dict(found or {})


async def _save_groups(conn: Connection, table_id: str, groups: dict[str, Any]) -> None:
    await tables_repo.update_table(conn, table_id, field_group_map=groups, updated_at=now_ms())


def _without(groups: dict[str, Any], field_ids: set[str]) -> dict[str, Any]:
    out = {}
    for gid, group in groups.items():
        if isinstance(group, dict) and isinstance(group.get("groupDetails"), dict):
            members = [
                f for f in group["groupDetails"].get("fields", []) if f.get("id") not in field_ids
            ]
            group = {**group, "groupDetails": {**group["groupDetails"], "fields": members}}
        out[gid] = group
    return out


async def delete_fields(uow: UnitOfWork, table: TableRef, field_ids: Any) -> None:
    """Deletes several columns at once. Columns reading one of them stay, marked with
    ``settingsError``; the names are free again at once."""
    conn = uow.conn
    ids = _ids(field_ids, "fieldIds")
    fields = {f.id: f for f in await tables_svc.list_fields(conn, table.id)}
    missing = [f for f in ids if f not in fields]
    if missing:
        raise NotFound("Field not found")
    if SYSTEM_FIELD_IDS & set(ids):
        raise BadRequest("System fields cannot be deleted")
    if not ids:
        return
    fed = await sources_repo.name_feeding_any(conn, table.id, ids)
    if fed is not None:
        raise BadRequest(f'A field is fed by the source "{fed}"; delete that source first')
    gone = set(ids)
    await fields_repo.delete_fields(conn, table.id, ids)
    await uow.filter_indexes(table.id, ids, drop=True)
    for f in fields.values():
        if f.id not in gone and gone & set(tables_svc.input_field_ids(f.type_settings)):
            await fields_repo.update_field(
                conn,
                table.id,
                f.id,
                type_settings={**f.type_settings, "settingsError": DELETED_INPUT},
            )
    await _save_groups(conn, table.id, _without(await _groups(conn, table.id), gone))
    await tables_svc.touch(uow, table.id)  # the table's row before the records'
    for fid in ids:
        await tables_svc.drop_cells(uow, table.id, fid)
    await tables_svc.sync_view_fields(conn, table.id)


def _group(gid: str, name: str, members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"id": gid, "name": name, "groupDetails": {"fields": list(members)}}


async def _check_members(conn: Connection, table: TableRef, ids: Sequence[str]) -> None:
    known = set(await tables_svc.field_ids(conn, table.id))
    unknown = [f for f in ids if f not in known]
    if unknown:
        raise NotFound(f"Field {unknown[0]} not found")


async def create_group(
    conn: Connection, table: TableRef, field_ids: Any, name: Any
) -> GroupCreated:
    """A new group of these fields (taken out of any other group); ``{"groupId"}``."""
    ids = _ids(field_ids, "fieldIds")
    await _check_members(conn, table, ids)
    if name is not None and not isinstance(name, str):
        raise _bad('Field "name" - expected a string')
    gid = new_id("gr")
    groups = _without(await _groups(conn, table.id), set(ids))
    members = [{"id": f, "isOutputField": False} for f in ids]
    groups[gid] = _group(gid, name or "Group", members)
    await _save_groups(conn, table.id, groups)
    return GroupCreated.build(groupId=gid)


async def update_group(
    conn: Connection, table: TableRef, group_id: str, body: dict[str, Any]
) -> FieldGroupOut:
    """Renames a group and replaces its members with ``fields: [{id, isOutputField?}]``."""
    groups = await _groups(conn, table.id)
    if group_id not in groups:
        raise NotFound("Field group not found")
    raw = body.get("fields")
    if raw is None:
        raise _bad('Field "fields" - Required')
    if not isinstance(raw, list) or not all(
        isinstance(f, dict) and isinstance(f.get("id"), str) for f in raw
    ):
        raise _bad('Field "fields" - expected a list of {id, isOutputField?}')
    members = [{"id": f["id"], "isOutputField": bool(f.get("isOutputField"))} for f in raw]
    await _check_members(conn, table, [m["id"] for m in members])
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad('Field "name" - expected a string')
    groups = _without(groups, {m["id"] for m in members})
    groups[group_id] = _group(group_id, name or groups[group_id].get("name", "Group"), members)
    await _save_groups(conn, table.id, groups)
    return FieldGroupOut.build(**groups[group_id])


async def delete_group(
    uow: UnitOfWork, table: TableRef, group_id: str, delete_members: bool
) -> None:
    """Ungroups, or with ``delete_members`` deletes the group's fields too."""
    conn = uow.conn
    groups = await _groups(conn, table.id)
    group = groups.pop(group_id, None)
    if group is None:
        raise NotFound("Field group not found")
    await _save_groups(conn, table.id, groups)
    if delete_members:
        members = [f["id"] for f in (group.get("groupDetails") or {}).get("fields", [])]
        fresh = TableRef(table.id, table.scope, await tables_svc.reload(conn, table.id))
        await delete_fields(uow, fresh, members)


async def create_waterfall(uow: UnitOfWork, table: TableRef, body: dict[str, Any]) -> WaterfallOut:
    """An action column per step, an output formula taking the first non-empty
    ``{{step}}?.<attributePath>``, and one group holding them; ``{"fieldGroupMap"}``."""
    conn = uow.conn
    configs = body.get("waterfallConfigs")
    if (
        not isinstance(configs, list)
        or not configs
        or not all(isinstance(c, dict) for c in configs)
    ):
        raise _bad('Field "waterfallConfigs" - expected a non-empty list')
    out_name = body.get("waterfallFieldName") or "Waterfall"
    group_name = body.get("waterfallGroupName") or out_name
    if not isinstance(out_name, str) or not isinstance(group_name, str):
        raise _bad('Field "waterfallFieldName" - expected a string')
    names = [
        str(c.get("name") or c.get("actionKey") or f"Step {i + 1}") for i, c in enumerate(configs)
    ]
    taken = {f.name for f in await tables_svc.list_fields(conn, table.id)}
    for n in [*names, out_name]:
        if n in taken or [*names, out_name].count(n) > 1:
            raise FieldNameAlreadyExists(f'A field named "{n}" already exists in this table')
    steps: list[tuple[str, str]] = []
    for cfg, step_name in zip(configs, names, strict=True):
        settings = {
            k: cfg[k]
            for k in ("actionKey", "actionPackageId", "inputsBinding", "authAccountId")
            if k in cfg
        }
        if body.get("runAsButton"):
            settings["runAsButton"] = True
        field = await table_fields.create_field(
            uow, table, name=step_name, field_type="action", type_settings=settings
        )
        path = str(cfg.get("attributePath") or "").strip(".")
        steps.append((field["id"], path))
    parts = [f"{{{{{fid}}}}}?.{path}" if path else f"{{{{{fid}}}}}" for fid, path in steps]
    text = "[" + ", ".join(parts) + '].find(v => v !== undefined && v !== null && v !== "")'
    output = await table_fields.create_field(
        uow,
        table,
        name=out_name,
        field_type="formula",
        type_settings={
            "formulaText": text,
            "formulaWaterfall": [{"formula": p} for p in parts],
        },
    )
    if body.get("hideFromViews"):
        await _hide(conn, table.id, [fid for fid, _ in steps])
    gid = new_id("gr")
    members = [{"id": fid, "isOutputField": False} for fid, _ in steps]
    members.append({"id": output["id"], "isOutputField": True})
    groups = await _groups(conn, table.id)
    groups[gid] = _group(gid, group_name, members)
    await _save_groups(conn, table.id, groups)
    return WaterfallOut.build(fieldGroupMap={gid: groups[gid]})


async def _hide(conn: Connection, table_id: str, field_ids: list[str]) -> None:
    for view in await tables_svc.list_views(conn, table_id):
        fields = {k: dict(v) for k, v in (view.config.get("fields") or {}).items()}
        for fid in field_ids:
            if fid in fields:
                fields[fid]["isVisible"] = False
        await views_repo.update_view(conn, view.id, config={**view.config, "fields": fields})
