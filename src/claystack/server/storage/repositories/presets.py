"""Presets: saved action settings of a workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Preset


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(Preset).values(**values))


async def get_by_id(conn: AsyncConnection, preset_id: str) -> Any:
    return (await conn.execute(select(Preset).where(Preset.id == preset_id))).one()


async def list_for_workspace(
    conn: AsyncConnection, workspace_id: int, *, types: list[str] | None, category: str | None
) -> list[Any]:
    """The workspace's presets of ``types`` and in ``category`` (any when empty), oldest
    first."""
    stmt = select(Preset).where(Preset.workspace_id == workspace_id)
    if types:
        stmt = stmt.where(Preset.type.in_(types))
    if category:
        stmt = stmt.where(Preset.category == category)
    return list(await conn.execute(stmt.order_by(Preset.created_at, Preset.id)))


async def categories(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    """The distinct categories the workspace's presets name."""
    rows = await conn.scalars(
        select(Preset.category)
        .where(Preset.workspace_id == workspace_id, Preset.category.is_not(None))
        .distinct()
    )
    return list(rows)
