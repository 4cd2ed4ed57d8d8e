"""Workspaces, folders, workbooks and the resource tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ...wire import Folder as FolderOut
from ...wire import Workbook as WorkbookOut
from ...wire import Workspace as WorkspaceOut
from ..errors import Forbidden, InvalidParameter, NotFound
from ..ids import new_id
from ..storage import search_index
from ..storage.models import (
    Field,
    Folder,
    Membership,
    Record,
    Table,
    User,
    Workbook,
    Workspace,
)
from ..storage.uow import UnitOfWork
from . import credits
from .common import Actor, Scope, int_id, iso, now_ms

RESOURCE_TYPES = ("FOLDER", "WORKBOOK", "TABLE")


def _workspace_out(row: Any, role: str, credits: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "role": role,
        "featureFlags": {},
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }
    if credits is not None:
        out["credits"] = credits
    return out


async def my_workspaces(conn: AsyncConnection, actor: Actor) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == actor.user_id)
        .order_by(Workspace.id)
    )
    return [_workspace_out(r, r.role) for r in rows]


async def resolve_workspace(
    conn: AsyncConnection, actor: Actor, workspace_id: Any, *, write: bool = False
) -> Scope:
    """The caller's scope in a workspace; 404 when it does not exist or is not theirs,
    403 when ``write`` and the caller's role there is read-only."""
    ws = int_id(workspace_id)
    if ws is None:
        raise NotFound("Workspace not found")
    role = await conn.scalar(
        select(Membership.role).where(
            Membership.workspace_id == ws, Membership.user_id == actor.user_id
        )
    )
    if role is None:
        raise NotFound("Workspace not found")
    scope = Scope(actor, ws, role)
    if write and not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    return scope


async def default_workspace(conn: AsyncConnection, actor: Actor, requested: Any) -> Scope:
    """For seed paths without a workspace id: the ``workspaceId`` parameter, else the
    caller's default (or only) workspace."""
    if requested not in (None, ""):
        return await resolve_workspace(conn, actor, requested)
    row = (
        await conn.execute(select(User.default_workspace_id).where(User.id == actor.user_id))
    ).first()
    if row is not None and row.default_workspace_id is not None:
        try:
            return await resolve_workspace(conn, actor, row.default_workspace_id)
        except NotFound:
            pass
    ws = await conn.scalar(
        select(func.min(Membership.workspace_id)).where(Membership.user_id == actor.user_id)
    )
    if ws is None:
        raise NotFound("Workspace not found")
    return await resolve_workspace(conn, actor, ws)


async def get_workspace(conn: AsyncConnection, scope: Scope) -> WorkspaceOut:
    row = (await conn.execute(select(Workspace).where(Workspace.id == scope.workspace_id))).one()
    balance = await credits.balance(conn, scope.workspace_id)
    return WorkspaceOut.build(**_workspace_out(row, scope.role, balance))


async def members(conn: AsyncConnection, scope: Scope) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(User.id, User.email, User.name, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == scope.workspace_id)
        .order_by(User.id)
    )
    return [
        {
            "id": r.id,
            "userId": r.id,
            "email": r.email,
            "name": r.name,
            "role": r.role,
            "workspaceId": scope.workspace_id,
            "joinedAt": iso(r.created_at),
        }
        for r in rows
    ]


# -- folders -------------------------------------------------------------------------------


def folder_out(row: Any) -> FolderOut:
    return FolderOut.build(**folder_row(row))


def folder_row(row: Any) -> dict[str, Any]:
    """A folder in the ``wire.Folder`` shape as a plain dict."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "workspaceId": row.workspace_id,
        "parentFolderId": row.parent_folder_id,
        "ownerId": row.owner_id,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


async def _check_folder(conn: AsyncConnection, workspace_id: int, folder_id: str | None) -> None:
    if folder_id is None:
        return
    found = await conn.scalar(
        select(Folder.id).where(Folder.id == folder_id, Folder.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound("Folder not found")


async def create_folder(
    conn: AsyncConnection,
    scope: Scope,
    *,
    name: str,
    parent_folder_id: str | None,
    description: str | None = None,
) -> FolderOut:
    await _check_folder(conn, scope.workspace_id, parent_folder_id)
    now = now_ms()
    values = {
        "id": new_id("fo"),
        "workspace_id": scope.workspace_id,
        "parent_folder_id": parent_folder_id,
        "name": name,
        "description": description,
        "owner_id": scope.actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(Folder).values(**values))
    return folder_out(_Row(values))


async def folder_workspace(conn: AsyncConnection, folder_id: str) -> int | None:
    return await conn.scalar(select(Folder.workspace_id).where(Folder.id == folder_id))


# -- workbooks -----------------------------------------------------------------------------


def workbook_out(row: Any) -> WorkbookOut:
    return WorkbookOut.build(**workbook_row(row))


def workbook_row(row: Any) -> dict[str, Any]:
    """A workbook in the ``wire.Workbook`` shape as a plain dict, for lists of them."""
    return {
        "id": row.id,
        "workspaceId": row.workspace_id,
        "name": row.name,
        "description": row.description,
        "parentFolderId": row.parent_folder_id,
        "settings": row.settings,
        "ownerId": row.owner_id,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "deletedAt": None,
    }


async def create_workbook(
    conn: AsyncConnection,
    scope: Scope,
    *,
    name: str,
    parent_folder_id: str | None = None,
    settings: dict[str, Any] | None = None,
    description: str | None = None,
) -> WorkbookOut:
    await _check_folder(conn, scope.workspace_id, parent_folder_id)
    now = now_ms()
    values = {
        "id": new_id("wb"),
        "workspace_id": scope.workspace_id,
        "parent_folder_id": parent_folder_id,
        "name": name,
        "description": description,
        "settings": {"isAutoRun": True, **(settings or {})},
        "owner_id": scope.actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(Workbook).values(**values))
    return workbook_out(_Row(values))


async def workbook_workspace(conn: AsyncConnection, workbook_id: str) -> int | None:
    return await conn.scalar(select(Workbook.workspace_id).where(Workbook.id == workbook_id))


async def list_workbooks(conn: AsyncConnection, scope: Scope) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(Workbook)
        .where(Workbook.workspace_id == scope.workspace_id)
        .order_by(Workbook.created_at, Workbook.id)
    )
    return [workbook_row(r) for r in rows]


# -- deletion ------------------------------------------------------------------------------


async def delete_resources(
    uow: UnitOfWork,
    scope: Scope,
    *,
    folder_ids: Iterable[str] = (),
    workbook_ids: Iterable[str] = (),
    table_ids: Iterable[str] = (),
    strict: bool = True,
) -> dict[str, list[str]]:
    """Deletes folders (with everything beneath them), workbooks (with their tables) and
    tables. With ``strict``, any id outside the workspace is a 404 and nothing is deleted."""
    conn = uow.conn
    ws = scope.workspace_id
    folder_ids, workbook_ids, table_ids = set(folder_ids), set(workbook_ids), set(table_ids)
    all_folders = {
        r.id: r.parent_folder_id
        for r in await conn.execute(
            select(Folder.id, Folder.parent_folder_id).where(Folder.workspace_id == ws)
        )
    }
    _require(folder_ids, all_folders.keys(), "Folder", strict)
    found_wb = (
        set(
            (
                await conn.scalars(
                    select(Workbook.id).where(
                        Workbook.workspace_id == ws, Workbook.id.in_(workbook_ids)
                    )
                )
            ).all()
        )
        if workbook_ids
        else set()
    )
    _require(workbook_ids, found_wb, "Workbook", strict)
    found_t = (
        set(
            (
                await conn.scalars(
                    select(Table.id).where(Table.workspace_id == ws, Table.id.in_(table_ids))
                )
            ).all()
        )
        if table_ids
        else set()
    )
    _require(table_ids, found_t, "Table", strict)

    doomed_folders = set(folder_ids & all_folders.keys())
    frontier = set(doomed_folders)
    while frontier:
        frontier = {f for f, parent in all_folders.items() if parent in frontier} - doomed_folders
        doomed_folders |= frontier
    if doomed_folders:
        found_wb |= set(
            (
                await conn.scalars(
                    select(Workbook.id).where(Workbook.parent_folder_id.in_(doomed_folders))
                )
            ).all()
        )
    conds = []
    if found_wb:
        conds.append(Table.workbook_id.in_(found_wb))
    if doomed_folders:
        conds.append(Table.parent_folder_id.in_(doomed_folders))
    if found_t:
        conds.append(Table.id.in_(found_t))
    doomed_tables = (
        set(
            (
                await conn.scalars(select(Table.id).where(Table.workspace_id == ws, or_(*conds)))
            ).all()
        )
        if conds
        else set()
    )
    if doomed_tables:
        await uow.write_tables(doomed_tables)  # their rows before their records'
        doomed = sorted(doomed_tables)
        await search_index.forget(conn, doomed)
        fields: dict[str, list[str]] = {}
        for table_id, field_id in await conn.execute(
            select(Field.table_id, Field.id).where(Field.table_id.in_(doomed))
        ):
            fields.setdefault(table_id, []).append(field_id)
        for table_id, field_ids in fields.items():
            await uow.filter_indexes(table_id, field_ids, drop=True)
        await conn.execute(delete(Record).where(Record.table_id.in_(doomed_tables)))
        await conn.execute(delete(Table).where(Table.id.in_(doomed_tables)))
    if found_wb:
        await conn.execute(delete(Workbook).where(Workbook.id.in_(found_wb)))
    if doomed_folders:
        # Children first, so no cascade has to recurse.
        depth = {f: _depth(f, all_folders) for f in doomed_folders}
        for f in sorted(doomed_folders, key=lambda f: -depth[f]):
            await conn.execute(delete(Folder).where(Folder.id == f))
    return {
        "folderIds": sorted(doomed_folders),
        "workbookIds": sorted(found_wb),
        "tableIds": sorted(doomed_tables),
    }


def _depth(folder: str, parents: dict[str, str | None]) -> int:
    depth = 0
    seen: set[str] = set()
    while (parent := parents.get(folder)) is not None and parent not in seen:
        seen.add(parent)
        folder, depth = parent, depth + 1
    return depth


def _require(wanted: set[str], found: Iterable[str], what: str, strict: bool) -> None:
    missing = wanted - set(found)
    if missing and strict:
        raise NotFound(f"{what} not found: {sorted(missing)[0]}")


# -- the resource tree ---------------------------------------------------------------------


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _resource(kind: str, row: Any) -> dict[str, Any]:
    out = {
        "resourceType": kind,
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "workspaceId": row.workspace_id,
        "parentFolderId": row.parent_folder_id,
        "ownerId": row.owner_id,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }
    if kind == "TABLE":
        out["workbookId"] = row.workbook_id
    return out


def normalize_resource_types(types: Iterable[str] | None) -> set[str]:
    if not types:
        return set(RESOURCE_TYPES)
    out = set()
    for t in types:
        upper = str(t).upper()
        if upper not in RESOURCE_TYPES:
            raise InvalidParameter(
                "resourceTypes",
                f'unknown type "{t}"; expected one of ' + ", ".join(RESOURCE_TYPES),
            )
        out.add(upper)
    return out


async def list_resources(
    conn: AsyncConnection,
    scope: Scope,
    *,
    parent: tuple[str, str] | None,
    types: set[str],
    owner_ids: set[int] | None,
    query: str | None,
    everywhere: bool,
    search_descriptions: bool = False,
) -> list[dict[str, Any]]:
    """The resources directly under ``parent`` (or the top level), or at every level when
    ``everywhere``; filtered by type, owner and a case-insensitive text match."""
    ws = scope.workspace_id
    if parent is not None and not everywhere:
        kind, pid = parent[0].upper(), parent[1]
        if kind == "FOLDER":
            await _check_folder(conn, ws, pid)
        elif kind == "WORKBOOK":
            if await workbook_workspace(conn, pid) != ws:
                raise NotFound("Workbook not found")
        else:
            raise InvalidParameter("parentResource.type", "expected FOLDER or WORKBOOK")
    else:
        kind, pid = "", ""

    out: list[dict[str, Any]] = []
    for rtype, model in (("FOLDER", Folder), ("WORKBOOK", Workbook), ("TABLE", Table)):
        if rtype not in types:
            continue
        stmt = select(model).where(model.workspace_id == ws)
        if not everywhere:
            if kind == "WORKBOOK":
                if rtype != "TABLE":
                    continue
                stmt = stmt.where(Table.workbook_id == pid)
            else:
                stmt = stmt.where(model.parent_folder_id == (pid or None))
                if rtype == "TABLE":
                    stmt = stmt.where(Table.workbook_id.is_(None))
        if owner_ids:
            # An id beyond 64 bits owns nothing (and would not bind).
            stmt = stmt.where(model.owner_id.in_([o for o in owner_ids if int_id(o) == o]))
        if query:
            pattern = "%" + like_escape(query.lower()) + "%"
            cond: ColumnElement[bool] = func.lower(model.name).like(pattern, escape="\\")
            if search_descriptions:
                desc = func.lower(func.coalesce(model.description, ""))
                cond = or_(cond, desc.like(pattern, escape="\\"))
            stmt = stmt.where(cond)
        for row in await conn.execute(stmt.order_by(model.created_at, model.id)):
            out.append(_resource(rtype, row))
    return out


async def touch_workspace(conn: AsyncConnection, workspace_id: int) -> None:
    await conn.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(updated_at=now_ms())
    )


class _Row:
    """Attribute access over a dict of column values, so one serializer serves both."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
