"""Workspaces, folders, workbooks and the resource tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...wire import Folder as FolderOut
from ...wire import Workbook as WorkbookOut
from ...wire import Workspace as WorkspaceOut
from ..errors import Forbidden, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import accounts as accounts_repo
from ..storage.repositories import workbooks as workbooks_repo
from ..storage.repositories import workspaces as repo
from ..storage.repositories.workspaces import like_escape
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


async def my_workspaces(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    rows = await repo.list_for_user(conn, actor.user_id)
    return [_workspace_out(r, r.role) for r in rows]


async def resolve_workspace(
    conn: Connection,
    actor: Actor,
    workspace_id: Any,
    *,
    write: bool = False,
    auth_version: int | None = None,
) -> Scope:
    """The caller's scope in a workspace; 404 when it does not exist or is not theirs,
    403 when ``write`` and the caller's role there is read-only. With ``auth_version``,
    also a 404 when the caller's credentials have moved past it."""
    ws = int_id(workspace_id)
    if ws is None:
        raise NotFound("Workspace not found")
    role = await repo.member_role(conn, ws, actor.user_id, auth_version=auth_version)
    if role is None:
        raise NotFound("Workspace not found")
    scope = Scope(actor, ws, role)
    if write and not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    return scope


async def default_workspace(conn: Connection, actor: Actor, requested: Any) -> Scope:
    """For seed paths without a workspace id: the ``workspaceId`` parameter, else the
    caller's default (or only) workspace."""
    if requested not in (None, ""):
        return await resolve_workspace(conn, actor, requested)
    row = await accounts_repo.default_workspace_id(conn, actor.user_id)
    if row is not None and row.default_workspace_id is not None:
        try:
            return await resolve_workspace(conn, actor, row.default_workspace_id)
        except NotFound:
            pass
    ws = await repo.first_workspace_of(conn, actor.user_id)
    if ws is None:
        raise NotFound("Workspace not found")
    return await resolve_workspace(conn, actor, ws)


async def get_workspace(conn: Connection, scope: Scope) -> WorkspaceOut:
    row = await repo.get_by_id(conn, scope.workspace_id)
    balance = await credits.balance(conn, scope.workspace_id)
    return WorkspaceOut.build(**_workspace_out(row, scope.role, balance))


async def members(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    rows = await repo.list_members(conn, scope.workspace_id)
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


async def _check_folder(conn: Connection, workspace_id: int, folder_id: str | None) -> None:
    if folder_id is None:
        return
    if not await repo.folder_in_workspace(conn, workspace_id, folder_id):
        raise NotFound("Folder not found")


async def create_folder(
    conn: Connection,
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
    await repo.add_folder(conn, values)
    return folder_out(_Row(values))


async def folder_workspace(conn: Connection, folder_id: str) -> int | None:
    return await repo.folder_workspace(conn, folder_id)


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
    conn: Connection,
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
    await workbooks_repo.add(conn, values)
    return workbook_out(_Row(values))


async def workbook_workspace(conn: Connection, workbook_id: str) -> int | None:
    return await workbooks_repo.workspace_of(conn, workbook_id)


async def list_workbooks(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    rows = await workbooks_repo.list_for_workspace(conn, scope.workspace_id)
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
    all_folders = await repo.folder_parents(conn, ws)
    _require(folder_ids, all_folders.keys(), "Folder", strict)
    found_wb = await repo.workbook_ids_in(conn, ws, workbook_ids) if workbook_ids else set()
    _require(workbook_ids, found_wb, "Workbook", strict)
    found_t = await repo.table_ids_in(conn, ws, table_ids) if table_ids else set()
    _require(table_ids, found_t, "Table", strict)

    doomed_folders = set(folder_ids & all_folders.keys())
    frontier = set(doomed_folders)
    while frontier:
        frontier = {f for f, parent in all_folders.items() if parent in frontier} - doomed_folders
        doomed_folders |= frontier
    if doomed_folders:
        found_wb |= await repo.workbooks_in_folders(conn, doomed_folders)
    doomed_tables = await repo.tables_beneath(
        conn, ws, workbook_ids=found_wb, folder_ids=doomed_folders, table_ids=found_t
    )
    if doomed_tables:
        await uow.write_tables(doomed_tables)  # their rows before their records'
        await repo.delete_tables(uow, doomed_tables)
    if found_wb:
        await repo.delete_workbooks(conn, found_wb)
    if doomed_folders:
        # Children first, so no cascade has to recurse.
        depth = {f: _depth(f, all_folders) for f in doomed_folders}
        for f in sorted(doomed_folders, key=lambda f: -depth[f]):
            await repo.delete_folder(conn, f)
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
    conn: Connection,
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
    for rtype in RESOURCE_TYPES:
        if rtype not in types or (not everywhere and kind == "WORKBOOK" and rtype != "TABLE"):
            continue
        rows = await repo.list_resources(
            conn,
            ws,
            rtype,
            in_workbook=pid if kind == "WORKBOOK" else None,
            in_folder=pid or None,
            everywhere=everywhere,
            # An id beyond 64 bits owns nothing (and would not bind).
            owner_ids=[o for o in owner_ids if int_id(o) == o] if owner_ids else None,
            pattern="%" + like_escape(query.lower()) + "%" if query else None,
            search_descriptions=search_descriptions,
        )
        out.extend(_resource(rtype, row) for row in rows)
    return out


async def touch_workspace(conn: Connection, workspace_id: int) -> None:
    await repo.touch(conn, workspace_id, now_ms())


class _Row:
    """Attribute access over a dict of column values, so one serializer serves both."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
