"""Tables: the sheets of a workspace, and the lock-free reads of them."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table as CoreTable
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Membership, Record, Table, User

# Built once: this runs on every table request.
_FOR_MEMBER = (
    select(Table, Membership.role)
    .join(
        Membership,
        (Membership.workspace_id == Table.workspace_id)
        & (Membership.user_id == bindparam("user_id")),
    )
    .where(Table.id == bindparam("table_id"))
    .execution_options(sqlite_inline=True)
)


# The same, found only while the user's credential version is still the one given: a
# cached credential is confirmed by the query that finds the table (one round trip).
_FOR_MEMBER_AS_OF = _FOR_MEMBER.join(
    User, (User.id == bindparam("user_id")) & (User.auth_version == bindparam("auth_version"))
)


async def get_for_member(
    conn: AsyncConnection, table_id: str, user_id: int, *, auth_version: int | None = None
) -> Any:
    """The table (every column) with the user's ``role`` in its workspace, or None when
    the user is no member there (or, given ``auth_version``, when the user's credentials
    have moved past it)."""
    params: dict[str, Any] = {"user_id": user_id, "table_id": table_id}
    if auth_version is None:
        return (await conn.execute(_FOR_MEMBER, params)).first()
    params["auth_version"] = auth_version
    return (await conn.execute(_FOR_MEMBER_AS_OF, params)).first()


_TABLES = cast(CoreTable, Table.__table__)
_GET = select(Table).where(Table.id == bindparam("table_id")).execution_options(sqlite_inline=True)
# An insert answers with the row as stored (PostgreSQL's JSONB orders keys).
_ADD = insert(_TABLES).returning(*_TABLES.c).execution_options(sqlite_inline=True)


async def get_by_id(conn: AsyncConnection, table_id: str) -> Any:
    return (await conn.execute(_GET, {"table_id": table_id})).one()


async def add(conn: AsyncConnection, **values: Any) -> Any:
    """Inserts a table; returns its row as stored."""
    return (await conn.execute(_ADD, values)).one()


# The columns it sets are the other keys of its parameters.
_SET = (
    update(_TABLES)
    .where(_TABLES.c.id == bindparam("b_table_id"))
    .returning(*_TABLES.c)
    .execution_options(sqlite_inline=True)
)


async def update_table(conn: AsyncConnection, table_id: str, **values: Any) -> Any:
    """Sets ``values`` (column names) on the table; returns its row as stored, or None."""
    return (await conn.execute(_SET, {"b_table_id": table_id, **values})).first()


async def settings(conn: AsyncConnection, table_id: str) -> Any:
    """The table's ``settings`` (``AUTO_RUN_ON``, …), or None."""
    return await conn.scalar(select(Table.settings).where(Table.id == table_id))


async def row_count(conn: AsyncConnection, table_id: str) -> int:
    """The stored row count."""
    return int(await conn.scalar(select(Table.row_count).where(Table.id == table_id)) or 0)


async def count_records(conn: AsyncConnection, table_id: str) -> int:
    """The counted number of rows (slow; for checks, never on a request path)."""
    return int(
        await conn.scalar(
            select(func.count()).select_from(Record).where(Record.table_id == table_id)
        )
        or 0
    )


async def list_for_workbook(conn: AsyncConnection, workbook_id: str) -> list[Any]:
    """The workbook's tables, oldest first."""
    return list(
        await conn.execute(
            select(Table).where(Table.workbook_id == workbook_id).order_by(Table.created_at)
        )
    )


async def list_for_workspace(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    """The workspace's tables, oldest first."""
    return list(
        await conn.execute(
            select(Table)
            .where(Table.workspace_id == workspace_id)
            .order_by(Table.created_at, Table.id)
        )
    )


async def find_by_id(conn: AsyncConnection, table_id: str) -> Any:
    """The table, or None."""
    return (await conn.execute(select(Table).where(Table.id == table_id))).first()


async def field_group_map(conn: AsyncConnection, table_id: str) -> Any:
    return await conn.scalar(select(Table.field_group_map).where(Table.id == table_id))
