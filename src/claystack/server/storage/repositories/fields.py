"""Fields (a table's columns)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Field, Table


async def list_for_table(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's fields (every column), in their order."""
    return list(
        await conn.execute(
            select(Field).where(Field.table_id == table_id).order_by(Field.position, Field.id)
        )
    )


async def list_any_order(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's fields (every column), in the database's order."""
    return list(await conn.execute(select(Field).where(Field.table_id == table_id)))


async def get(conn: AsyncConnection, table_id: str, field_id: str) -> Any:
    """The table's field, or None."""
    return (
        await conn.execute(select(Field).where(Field.table_id == table_id, Field.id == field_id))
    ).first()


async def id_named(conn: AsyncConnection, table_id: str, name: str) -> str | None:
    return await conn.scalar(select(Field.id).where(Field.table_id == table_id, Field.name == name))


async def ids(conn: AsyncConnection, table_id: str) -> set[str]:
    return set((await conn.scalars(select(Field.id).where(Field.table_id == table_id))).all())


async def action_ids(conn: AsyncConnection, table_id: str) -> list[str]:
    """Ids of the table's action fields."""
    return list(
        await conn.scalars(
            select(Field.id).where(Field.table_id == table_id, Field.type == "action")
        )
    )


async def of_types(conn: AsyncConnection, table_id: str, types: Iterable[str]) -> list[Any]:
    """``id``, ``type`` and ``type_settings`` of the table's fields of these types."""
    stmt = select(Field.id, Field.type, Field.type_settings).where(
        Field.table_id == table_id, Field.type.in_(list(types))
    )
    return list(await conn.execute(stmt))


# Built once: every write of rows validates against it.
_TYPES = select(Field.id, Field.type).where(Field.table_id == bindparam("table_id"))


async def types(conn: AsyncConnection, table_id: str) -> dict[str, str]:
    """Field id → type."""
    rows = await conn.execute(_TYPES, {"table_id": table_id})
    return {r.id: r.type for r in rows}


async def next_position(conn: AsyncConnection, table_id: str) -> Any:
    return await conn.scalar(
        select(func.coalesce(func.max(Field.position), 0) + 1).where(Field.table_id == table_id)
    )


async def add(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(Field).values(**values))


async def add_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(insert(Field), rows)


async def update_field(conn: AsyncConnection, table_id: str, field_id: str, **values: Any) -> None:
    await conn.execute(
        update(Field).where(Field.table_id == table_id, Field.id == field_id).values(**values)
    )


async def delete_field(conn: AsyncConnection, table_id: str, field_id: str) -> None:
    await conn.execute(delete(Field).where(Field.table_id == table_id, Field.id == field_id))


async def count_by_table(conn: AsyncConnection, table_ids: Iterable[str]) -> dict[str, int]:
    """How many fields each of the tables has (tables with none are absent)."""
    counted = await conn.execute(
        select(Field.table_id, func.count())
        .where(Field.table_id.in_(table_ids))
        .group_by(Field.table_id)
    )
    return {table_id: n for table_id, n in counted}


async def delete_fields(conn: AsyncConnection, table_id: str, field_ids: list[str]) -> None:
    await conn.execute(delete(Field).where(Field.table_id == table_id, Field.id.in_(field_ids)))


async def action_settings_in_workspace(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    """table_id, type and type_settings of every action field of the workspace's tables."""
    return list(
        await conn.execute(
            select(Field.table_id, Field.type, Field.type_settings)
            .join(Table, Table.id == Field.table_id)
            .where(Table.workspace_id == workspace_id, Field.type == "action")
        )
    )


async def names(conn: AsyncConnection, table_id: str) -> dict[str, str]:
    """Field id → name."""
    rows = await conn.execute(select(Field.id, Field.name).where(Field.table_id == table_id))
    return {r.id: r.name for r in rows}


async def names_and_types(conn: AsyncConnection, table_id: str) -> list[Any]:
    """(name, type) of the table's fields, by position."""
    return list(
        (
            await conn.execute(
                select(Field.name, Field.type)
                .where(Field.table_id == table_id)
                .order_by(Field.position)
            )
        ).all()
    )
