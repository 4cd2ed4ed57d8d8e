"""Views: a table's saved layouts (their config is JSON the services shape)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table as CoreTable
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import View
from . import in_order

# Built once (building a statement costs more than running it); a table's views are few,
# so they are read inline on SQLite.
_VIEWS = cast(CoreTable, View.__table__)
_OF_TABLE = View.table_id == bindparam("table_id")
_LIST = (
    select(View)
    .where(_OF_TABLE)
    .order_by(View.position, View.id)
    .execution_options(sqlite_inline=True)
)
_GET = (
    select(View)
    .where(_OF_TABLE, View.id == bindparam("view_id"))
    .execution_options(sqlite_inline=True)
)
_ADD = insert(_VIEWS).returning(*_VIEWS.c).execution_options(sqlite_inline=True)
_SET_CONFIG = (
    update(_VIEWS)
    .where(_VIEWS.c.id == bindparam("b_view_id"))
    .values(config=bindparam("config"))
    .execution_options(sqlite_inline=True)
)


async def list_for_table(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's views, in their order."""
    return list(await conn.execute(_LIST, {"table_id": table_id}))


async def get(conn: AsyncConnection, table_id: str, view_id: str) -> Any:
    """The table's view, or None."""
    return (await conn.execute(_GET, {"table_id": table_id, "view_id": view_id})).first()


async def next_position(conn: AsyncConnection, table_id: str) -> Any:
    return await conn.scalar(
        select(func.coalesce(func.max(View.position), -1) + 1).where(View.table_id == table_id)
    )


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(View).values(**values))


async def add_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[Any]:
    """Inserts views in one statement; returns their rows as stored, in ``rows``' order."""
    return in_order(await conn.execute(_ADD, rows), rows)


async def update_view(conn: AsyncConnection, view_id: str, **values: Any) -> None:
    await conn.execute(update(View).where(View.id == view_id).values(**values))


async def set_configs(conn: AsyncConnection, configs: dict[str, dict[str, Any]]) -> None:
    """Sets the ``config`` of several views (view id → config) in one statement."""
    if configs:
        params = [{"b_view_id": v, "config": c} for v, c in configs.items()]
        await conn.execute(_SET_CONFIG, params)


async def delete_view(conn: AsyncConnection, view_id: str) -> None:
    await conn.execute(delete(View).where(View.id == view_id))


async def exists(conn: AsyncConnection, table_id: str, view_id: str) -> bool:
    found = await conn.scalar(select(View.id).where(View.table_id == table_id, View.id == view_id))
    return found is not None
