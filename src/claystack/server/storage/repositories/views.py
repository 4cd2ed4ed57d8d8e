"""Views: a table's saved layouts (their config is JSON the services shape)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import View


async def list_for_table(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's views, in their order."""
    return list(
        await conn.execute(
            select(View).where(View.table_id == table_id).order_by(View.position, View.id)
        )
    )


async def get(conn: AsyncConnection, table_id: str, view_id: str) -> Any:
    """The table's view, or None."""
    return (
        await conn.execute(select(View).where(View.table_id == table_id, View.id == view_id))
    ).first()


async def next_position(conn: AsyncConnection, table_id: str) -> Any:
    return await conn.scalar(
        select(func.coalesce(func.max(View.position), -1) + 1).where(View.table_id == table_id)
    )


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(View).values(**values))


async def add_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(insert(View), rows)


async def update_view(conn: AsyncConnection, view_id: str, **values: Any) -> None:
    await conn.execute(update(View).where(View.id == view_id).values(**values))


async def delete_view(conn: AsyncConnection, view_id: str) -> None:
    await conn.execute(delete(View).where(View.id == view_id))


async def exists(conn: AsyncConnection, table_id: str, view_id: str) -> bool:
    found = await conn.scalar(select(View.id).where(View.table_id == table_id, View.id == view_id))
    return found is not None
