"""What the local actions (``enrichment/actions/local.py``, ``subroutine.py``) read of
another table of the workspace: the table, its rows in order, a row by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Record, Table


async def target(conn: AsyncConnection, table_id: str) -> Any:
    """The table's ``id``, ``workspace_id``, ``data_version`` and ``owner_id``, or None."""
    return (
        await conn.execute(
            select(Table.id, Table.workspace_id, Table.data_version, Table.owner_id).where(
                Table.id == table_id
            )
        )
    ).first()


async def function_table(conn: AsyncConnection, table_id: str) -> Any:
    """The table's ``workspace_id`` and ``settings``, or None."""
    return (
        await conn.execute(select(Table.workspace_id, Table.settings).where(Table.id == table_id))
    ).first()


async def rows_in_order(conn: AsyncConnection, table_id: str) -> list[tuple[str, Any]]:
    """``(id, cells)`` of every row of the table, in row order."""
    return [
        (r.id, r.cells)
        for r in await conn.execute(
            select(Record.id, Record.cells).where(Record.table_id == table_id).order_by(Record.seq)
        )
    ]


async def row_id(conn: AsyncConnection, table_id: str, record_id: str) -> str | None:
    """``record_id`` if the table has that row, else None."""
    return await conn.scalar(
        select(Record.id).where(Record.table_id == table_id, Record.id == record_id)
    )
