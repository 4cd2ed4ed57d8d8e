"""Fields (a table's columns).

The statements of the request paths are built once (with ``bindparam``s): building one
costs more than running it. A table's fields are few, so its reads run inline on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table as CoreTable
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Field, Table
from . import in_order

_FIELDS = cast(CoreTable, Field.__table__)
_OF_TABLE = Field.table_id == bindparam("table_id")
_ONE = _OF_TABLE & (Field.id == bindparam("field_id"))
_LIST = (
    select(Field)
    .where(_OF_TABLE)
    .order_by(Field.position, Field.id)
    .execution_options(sqlite_inline=True)
)
_GET = select(Field).where(_ONE).execution_options(sqlite_inline=True)
_ID_NAMED = (
    select(Field.id)
    .where(_OF_TABLE, Field.name == bindparam("name"))
    .execution_options(sqlite_inline=True)
)
# An insert or update answers with the row as stored (PostgreSQL's JSONB orders keys).
_ADD = insert(_FIELDS).returning(*_FIELDS.c).execution_options(sqlite_inline=True)
# The columns it sets are the other keys of its parameters.
_SET = (
    update(_FIELDS)
    .where(_FIELDS.c.table_id == bindparam("b_table_id"), _FIELDS.c.id == bindparam("b_field_id"))
    .returning(*_FIELDS.c)
    .execution_options(sqlite_inline=True)
)


async def list_for_table(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's fields (every column), in their order."""
    return list(await conn.execute(_LIST, {"table_id": table_id}))


async def list_any_order(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's fields (every column), in the database's order."""
    return list(await conn.execute(select(Field).where(Field.table_id == table_id)))


async def get(conn: AsyncConnection, table_id: str, field_id: str) -> Any:
    """The table's field, or None."""
    return (await conn.execute(_GET, {"table_id": table_id, "field_id": field_id})).first()


async def id_named(conn: AsyncConnection, table_id: str, name: str) -> str | None:
    return await conn.scalar(_ID_NAMED, {"table_id": table_id, "name": name})


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


# Every write of rows validates against it.
_TYPES = select(Field.id, Field.type).where(_OF_TABLE).execution_options(sqlite_inline=True)
_WITH_SETTINGS = (
    select(Field.id, Field.type, Field.type_settings)
    .where(_OF_TABLE)
    .execution_options(sqlite_inline=True)
)


async def with_settings(conn: AsyncConnection, table_id: str) -> list[Any]:
    """``id``, ``type`` and ``type_settings`` of every field of the table, in the
    database's order (as ``of_types``)."""
    return list(await conn.execute(_WITH_SETTINGS, {"table_id": table_id}))


async def types(conn: AsyncConnection, table_id: str) -> dict[str, str]:
    """Field id → type."""
    rows = await conn.execute(_TYPES, {"table_id": table_id})
    return {r.id: r.type for r in rows}


async def add(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Inserts a field; returns its row as stored."""
    return (await conn.execute(_ADD, values)).one()


async def add_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[Any]:
    """Inserts fields in one statement; returns their rows as stored, in ``rows``' order."""
    return in_order(await conn.execute(_ADD, rows), rows)


async def update_field(conn: AsyncConnection, table_id: str, field_id: str, **values: Any) -> Any:
    """Sets ``values`` (column names) on the field; returns its row as stored, or None."""
    params = {"b_table_id": table_id, "b_field_id": field_id, **values}
    return (await conn.execute(_SET, params)).first()


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
