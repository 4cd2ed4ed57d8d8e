"""Duplicating a table (spec part 2 §3.2): its fields, views and settings, with fresh ids
rewritten in every formula, binding, view and group; no rows."""

from __future__ import annotations

import re
from typing import Any

import orjson

from ...wire import TableDuplicated
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import tables as tables_repo
from ..storage.repositories import views as views_repo
from . import tables as tables_svc
from .common import now_ms
from .tables import SYSTEM_FIELD_IDS, TableRef

_ID = re.compile(r"\b(?:f|gv|gr)_[A-Za-z0-9_]+")


def _remap(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every id of ``mapping`` replaced, wherever it appears (keys, values,
    ``{{f_…}}`` inside formula text)."""
    text = orjson.dumps(value).decode()
    return orjson.loads(_ID.sub(lambda m: mapping.get(m.group(0), m.group(0)), text))


async def duplicate(conn: Connection, table: TableRef) -> TableDuplicated:
    row = table.row
    fields = await tables_svc.list_fields(conn, table.id)
    views = await tables_svc.list_views(conn, table.id)
    field_map = {f.id: new_id("f") for f in fields if f.id not in SYSTEM_FIELD_IDS}
    view_map = {v.id: new_id("gv") for v in views}
    group_map = {g: new_id("gr") for g in (row.field_group_map or {})}
    mapping = {**field_map, **view_map, **group_map}
    now = now_ms()
    new_table = new_id("t")
    await tables_repo.add(
        conn,
        id=new_table,
        workspace_id=row.workspace_id,
        workbook_id=row.workbook_id,
        parent_folder_id=row.parent_folder_id,
        name=f"{row.name} (copy)",
        description=row.description,
        type=row.type,
        settings=_remap(row.settings, mapping),
        field_group_map=_remap(row.field_group_map or {}, mapping),
        first_view_id=view_map.get(row.first_view_id or ""),
        owner_id=table.scope.actor.user_id,
        row_count=0,
        created_at=now,
        updated_at=now,
    )
    await fields_repo.add_many(
        conn,
        [
            {
                "id": field_map.get(f.id, f.id),
                "table_id": new_table,
                "name": f.name,
                "type": f.type,
                "type_settings": _remap(f.type_settings, mapping),
                "position": f.position,
                "created_at": now,
                "updated_at": now,
            }
            for f in fields
        ],
    )
    if views:
        await views_repo.add_many(
            conn,
            [
                {
                    "id": view_map[v.id],
                    "table_id": new_table,
                    "name": v.name,
                    "position": v.position,
                    "config": _remap(v.config, mapping),
                    "created_at": now,
                    "updated_at": now,
                }
                for v in views
            ],
        )
    out = await tables_svc.table_out(conn, await tables_svc.reload(conn, new_table))
    return TableDuplicated.build(
        table=out,
        oldViewIdToNewViewIdMap=view_map,
        oldFieldIdToNewFieldIdMap=field_map,
    )
