"""App accounts: an integration's stored (sealed) credentials in a workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import AppAccount


async def add(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(AppAccount).values(**values))


async def list_for_workspace(
    conn: AsyncConnection, workspace_id: int, integration: str | None = None
) -> list[Any]:
    """The workspace's live accounts (of one integration when given), oldest first."""
    stmt = select(AppAccount).where(
        AppAccount.workspace_id == workspace_id, AppAccount.deleted_at.is_(None)
    )
    if integration is not None:
        stmt = stmt.where(AppAccount.integration == integration)
    return list(await conn.execute(stmt.order_by(AppAccount.created_at, AppAccount.id)))


async def workspace_of(conn: AsyncConnection, account_id: str) -> int | None:
    return await conn.scalar(
        select(AppAccount.workspace_id).where(
            AppAccount.id == account_id, AppAccount.deleted_at.is_(None)
        )
    )


async def get_live(conn: AsyncConnection, workspace_id: int, account_id: str) -> Any:
    """The workspace's account if it is not deleted, else None."""
    return (
        await conn.execute(
            select(AppAccount).where(
                AppAccount.id == account_id,
                AppAccount.workspace_id == workspace_id,
                AppAccount.deleted_at.is_(None),
            )
        )
    ).first()


async def update_account(conn: AsyncConnection, account_id: str, **values: Any) -> None:
    await conn.execute(update(AppAccount).where(AppAccount.id == account_id).values(**values))


async def integration_of(conn: AsyncConnection, workspace_id: int, account_id: str) -> Any:
    """A row with the ``integration`` of the workspace's live account, or None."""
    return (
        await conn.execute(
            select(AppAccount.integration).where(
                AppAccount.id == account_id,
                AppAccount.workspace_id == workspace_id,
                AppAccount.deleted_at.is_(None),
            )
        )
    ).first()
