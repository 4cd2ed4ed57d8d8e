"""Workbooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Workbook

_ADD = insert(Workbook).execution_options(sqlite_inline=True)  # built once


async def add(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(_ADD, values)


async def workspace_of(conn: AsyncConnection, workbook_id: str) -> int | None:
    return await conn.scalar(select(Workbook.workspace_id).where(Workbook.id == workbook_id))


async def list_for_workspace(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    rows = await conn.execute(
        select(Workbook)
        .where(Workbook.workspace_id == workspace_id)
        .order_by(Workbook.created_at, Workbook.id)
    )
    return list(rows)


async def get_by_id(conn: AsyncConnection, workbook_id: str) -> Any:
    """The workbook, or None."""
    return (await conn.execute(select(Workbook).where(Workbook.id == workbook_id))).first()


async def update_workbook(conn: AsyncConnection, workbook_id: str, **values: Any) -> None:
    await conn.execute(update(Workbook).where(Workbook.id == workbook_id).values(**values))


async def placement(conn: AsyncConnection, workbook_id: str) -> Any:
    """workspace_id and parent_folder_id of the workbook, or None."""
    return (
        await conn.execute(
            select(Workbook.workspace_id, Workbook.parent_folder_id).where(
                Workbook.id == workbook_id
            )
        )
    ).first()
