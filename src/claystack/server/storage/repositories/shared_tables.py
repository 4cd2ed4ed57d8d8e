"""Shared tables: a view of a table shared by a public id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import SharedTable


async def get_for_table(conn: AsyncConnection, table_id: str) -> Any:
    """The table's share, or None."""
    stmt = select(SharedTable).where(SharedTable.table_id == table_id)
    return (await conn.execute(stmt)).first()


async def get_by_id(conn: AsyncConnection, share_id: str) -> Any:
    """The share, or None."""
    return (await conn.execute(select(SharedTable).where(SharedTable.id == share_id))).first()


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(SharedTable).values(**values))


async def update_share(conn: AsyncConnection, share_id: str, **values: Any) -> None:
    await conn.execute(update(SharedTable).where(SharedTable.id == share_id).values(**values))
