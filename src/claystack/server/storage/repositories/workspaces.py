"""Workspaces, their members and folders, the resource tree and deleting parts of it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import search_index
from ..models import Field, Folder, Membership, Record, Table, User, Workbook, Workspace
from ..uow import UnitOfWork


def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern whose escape character is a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- workspaces and members --------------------------------------------------------------------


_ADD_WORKSPACE = insert(Workspace).returning(Workspace.id).execution_options(sqlite_inline=True)
_ADD_MEMBER = insert(Membership).execution_options(sqlite_inline=True)


async def add_workspace(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(_ADD_WORKSPACE, values)).scalar_one()


async def exists(conn: AsyncConnection, workspace_id: int) -> bool:
    found = await conn.scalar(select(Workspace.id).where(Workspace.id == workspace_id))
    return found is not None


async def get_by_id(conn: AsyncConnection, workspace_id: int) -> Any:
    return (await conn.execute(select(Workspace).where(Workspace.id == workspace_id))).one()


async def list_for_user(conn: AsyncConnection, user_id: int) -> list[Any]:
    """The user's workspaces (every column) with their ``role`` there, by id."""
    rows = await conn.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.id)
    )
    return list(rows)


async def touch(conn: AsyncConnection, workspace_id: int, now: int) -> None:
    await conn.execute(update(Workspace).where(Workspace.id == workspace_id).values(updated_at=now))


# Built once: every workspace-scoped request reads it.
_ROLE = (
    select(Membership.role)
    .where(
        Membership.workspace_id == bindparam("workspace_id"),
        Membership.user_id == bindparam("user_id"),
    )
    .execution_options(sqlite_inline=True)
)
# The same, found only while the user's credential version is still the one given: a
# cached credential is confirmed by the query that finds the role (one round trip).
_ROLE_AS_OF = _ROLE.join(
    User, (User.id == bindparam("user_id")) & (User.auth_version == bindparam("auth_version"))
)


async def member_role(
    conn: AsyncConnection, workspace_id: int, user_id: int, *, auth_version: int | None = None
) -> str | None:
    """The user's role in the workspace, or None when the user is no member there (or,
    given ``auth_version``, when the user's credentials have moved past it)."""
    params: dict[str, Any] = {"workspace_id": workspace_id, "user_id": user_id}
    if auth_version is None:
        return await conn.scalar(_ROLE, params)
    params["auth_version"] = auth_version
    return await conn.scalar(_ROLE_AS_OF, params)


async def first_workspace_of(conn: AsyncConnection, user_id: int) -> int | None:
    """The lowest id of the workspaces the user is a member of."""
    return await conn.scalar(
        select(func.min(Membership.workspace_id)).where(Membership.user_id == user_id)
    )


async def add_member(
    conn: AsyncConnection, workspace_id: int, user_id: int, *, role: str, created_at: int
) -> None:
    values = {"workspace_id": workspace_id, "user_id": user_id, "role": role}
    await conn.execute(_ADD_MEMBER, {**values, "created_at": created_at})


async def set_member_role(
    conn: AsyncConnection, workspace_id: int, user_id: int, role: str
) -> None:
    await conn.execute(
        update(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        .values(role=role)
    )


async def list_members(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    """id, email, name, role and created_at (joined) of each member, by user id."""
    rows = await conn.execute(
        select(User.id, User.email, User.name, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.id)
    )
    return list(rows)


# -- folders -----------------------------------------------------------------------------------


async def folder_in_workspace(conn: AsyncConnection, workspace_id: int, folder_id: str) -> bool:
    found = await conn.scalar(
        select(Folder.id).where(Folder.id == folder_id, Folder.workspace_id == workspace_id)
    )
    return found is not None


async def add_folder(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(Folder).values(**values))


async def folder_workspace(conn: AsyncConnection, folder_id: str) -> int | None:
    return await conn.scalar(select(Folder.workspace_id).where(Folder.id == folder_id))


async def folder_parents(conn: AsyncConnection, workspace_id: int) -> dict[str, str | None]:
    """Every folder of the workspace and its parent folder."""
    return {
        r.id: r.parent_folder_id
        for r in await conn.execute(
            select(Folder.id, Folder.parent_folder_id).where(Folder.workspace_id == workspace_id)
        )
    }


async def delete_folder(conn: AsyncConnection, folder_id: str) -> None:
    await conn.execute(delete(Folder).where(Folder.id == folder_id))


# -- the resource tree -------------------------------------------------------------------------

_MODELS: dict[str, Any] = {"FOLDER": Folder, "WORKBOOK": Workbook, "TABLE": Table}


async def list_resources(
    conn: AsyncConnection,
    workspace_id: int,
    rtype: str,
    *,
    in_workbook: str | None,
    in_folder: str | None,
    everywhere: bool,
    owner_ids: list[int] | None,
    pattern: str | None,
    search_descriptions: bool,
) -> list[Any]:
    """The workspace's resources of one type (FOLDER, WORKBOOK or TABLE), oldest first:
    at every level when ``everywhere``, else in ``in_workbook`` (tables only) or directly
    in ``in_folder`` (None: the top level); owned by ``owner_ids``; with a lower-cased name
    (or description) LIKE ``pattern``."""
    model = _MODELS[rtype]
    stmt = select(model).where(model.workspace_id == workspace_id)
    if not everywhere:
        if in_workbook is not None:
            stmt = stmt.where(Table.workbook_id == in_workbook)
        else:
            stmt = stmt.where(model.parent_folder_id == in_folder)
            if rtype == "TABLE":
                stmt = stmt.where(Table.workbook_id.is_(None))
    if owner_ids is not None:
        stmt = stmt.where(model.owner_id.in_(owner_ids))
    if pattern is not None:
        cond: ColumnElement[bool] = func.lower(model.name).like(pattern, escape="\\")
        if search_descriptions:
            desc = func.lower(func.coalesce(model.description, ""))
            cond = or_(cond, desc.like(pattern, escape="\\"))
        stmt = stmt.where(cond)
    return list(await conn.execute(stmt.order_by(model.created_at, model.id)))


# -- deletion ----------------------------------------------------------------------------------


async def workbook_ids_in(
    conn: AsyncConnection, workspace_id: int, workbook_ids: Iterable[str]
) -> set[str]:
    """Those of ``workbook_ids`` that are workbooks of the workspace."""
    return set(
        (
            await conn.scalars(
                select(Workbook.id).where(
                    Workbook.workspace_id == workspace_id, Workbook.id.in_(workbook_ids)
                )
            )
        ).all()
    )


async def table_ids_in(
    conn: AsyncConnection, workspace_id: int, table_ids: Iterable[str]
) -> set[str]:
    """Those of ``table_ids`` that are tables of the workspace."""
    return set(
        (
            await conn.scalars(
                select(Table.id).where(Table.workspace_id == workspace_id, Table.id.in_(table_ids))
            )
        ).all()
    )


async def workbooks_in_folders(conn: AsyncConnection, folder_ids: Iterable[str]) -> set[str]:
    return set(
        (
            await conn.scalars(select(Workbook.id).where(Workbook.parent_folder_id.in_(folder_ids)))
        ).all()
    )


async def tables_beneath(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    workbook_ids: set[str],
    folder_ids: set[str],
    table_ids: set[str],
) -> set[str]:
    """The workspace's tables in any of the workbooks, directly in any of the folders, or
    among ``table_ids``."""
    conds = []
    if workbook_ids:
        conds.append(Table.workbook_id.in_(workbook_ids))
    if folder_ids:
        conds.append(Table.parent_folder_id.in_(folder_ids))
    if table_ids:
        conds.append(Table.id.in_(table_ids))
    if not conds:
        return set()
    return set(
        (
            await conn.scalars(
                select(Table.id).where(Table.workspace_id == workspace_id, or_(*conds))
            )
        ).all()
    )


async def delete_tables(uow: UnitOfWork, table_ids: set[str]) -> None:
    """Deletes the tables with their records, search indexes and filter indexes (the unit
    of work has declared them)."""
    conn = uow.conn
    doomed = sorted(table_ids)
    await search_index.forget(conn, doomed)
    fields: dict[str, list[str]] = {}
    for table_id, field_id in await conn.execute(
        select(Field.table_id, Field.id).where(Field.table_id.in_(doomed))
    ):
        fields.setdefault(table_id, []).append(field_id)
    for table_id, field_ids in fields.items():
        await uow.filter_indexes(table_id, field_ids, drop=True)
    await conn.execute(delete(Record).where(Record.table_id.in_(table_ids)))
    await conn.execute(delete(Table).where(Table.id.in_(table_ids)))


async def delete_workbooks(conn: AsyncConnection, workbook_ids: set[str]) -> None:
    await conn.execute(delete(Workbook).where(Workbook.id.in_(workbook_ids)))
