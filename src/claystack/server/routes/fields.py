"""Fields as a list and in groups (spec part 2 §4.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path

from ...wire import (
    Empty,
    Field,
    FieldGroupDeleteIn,
    FieldGroupIn,
    FieldGroupOut,
    FieldGroupPatch,
    FieldIdsIn,
    GroupCreated,
    WaterfallIn,
    WaterfallOut,
)
from ..deps import Conn, TableDep, Work
from ..services import field_groups
from . import JSONOut, ok, router

api = router("fields")
GroupId = Annotated[str, Path(alias="groupId")]
T = "/v3/tables/{tableId}"


@api.get(T + "/fields", responses=ok(list[Field]))
async def list_fields(conn: Conn, table: TableDep) -> JSONOut:
    """The table's columns, as a JSON array, in order."""
    return JSONOut(await field_groups.list_fields(conn, table))


@api.delete(T + "/fields", responses=ok(Empty))
async def delete_fields(body: FieldIdsIn, uow: Work, table: TableDep) -> JSONOut:
    """Deletes ``fieldIds`` at once; columns reading them get a ``settingsError``."""
    await field_groups.delete_fields(uow, table, body.fieldIds)
    return JSONOut(Empty.build())


@api.post(T + "/fields/group", responses=ok(GroupCreated))
async def create_group(body: FieldGroupIn, conn: Conn, table: TableDep) -> JSONOut:
    """Groups columns; answers ``{"groupId": "gr_…"}``."""
    return JSONOut(await field_groups.create_group(conn, table, body.fieldIds, body.name))


@api.post(T + "/fields/group/{groupId}", responses=ok(FieldGroupOut))
async def update_group(
    group_id: GroupId, body: FieldGroupPatch, conn: Conn, table: TableDep
) -> JSONOut:
    """Renames a group and replaces its members with ``fields``."""
    changes = body.model_dump(exclude_none=True)
    return JSONOut(await field_groups.update_group(conn, table, group_id, changes))


@api.delete(T + "/fields/group/{groupId}", responses=ok(Empty))
async def delete_group(
    group_id: GroupId,
    uow: Work,
    table: TableDep,
    body: Annotated[FieldGroupDeleteIn | None, Body()] = None,
) -> JSONOut:
    """Ungroups (``deleteFields: false``) or deletes the group's columns too."""
    delete_members = body.deleteFields if body else False
    await field_groups.delete_group(uow, table, group_id, delete_members)
    return JSONOut(Empty.build())


@api.post(T + "/waterfall/v2", responses=ok(WaterfallOut))
async def create_waterfall(body: WaterfallIn, uow: Work, table: TableDep) -> JSONOut:
    """Action columns per step, an output column taking the first non-empty result, and
    a group holding them."""
    return JSONOut(await field_groups.create_waterfall(uow, table, body.model_dump()))
