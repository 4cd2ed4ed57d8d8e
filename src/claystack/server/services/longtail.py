"""The long tail of spec part 2 §11 and §13: what claystack can serve offline is served
(workspace users, model base costs, credit limits), hosted-only features answer empty reads,
and what needs Clay's own data answers a clear 400."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..enrichment.actions import ai
from ..errors import BadRequest, NotFound
from ..storage.models import CreditRollup, Table
from . import credits, workspaces
from .common import Scope

HOSTED_DATA = "{what} needs Clay's hosted data, which a self-hosted claystack does not have"


def hosted_only(what: str) -> BadRequest:
    return BadRequest(HOSTED_DATA.format(what=what))


async def users(conn: AsyncConnection, scope: Scope) -> list[dict[str, Any]]:
    return [
        {"id": m["userId"], "email": m["email"], "name": m["name"], "role": m["role"]}
        for m in await workspaces.members(conn, scope)
    ]


def base_costs(settings: Any) -> list[dict[str, Any]]:
    return [{"model": m, "credits": c} for m, c in sorted(ai.prices(settings).items())]


def signal(signal_id: str) -> dict[str, Any]:
    raise NotFound("Signal not found")


def empty_audience(part: str) -> dict[str, Any]:
    if part == "segments":
        return {"segments": [], "total": 0}
    if part == "count":
        return {"count": 0}
    if part == "contacts":
        return {"contacts": [], "pagination": {"total": 0, "offset": 0, "hasMore": False}}
    if part == "imports":
        return {"imports": []}
    raise NotFound("Audience resource not found")


async def workbook_balance(conn: AsyncConnection, scope: Scope, workbook_id: str) -> dict[str, Any]:
    """No limit is set on claystack: ``creditsUsed`` is what the workbook's tables spent."""
    used = await conn.scalar(
        select(func.coalesce(func.sum(-CreditRollup.amount), 0)).where(
            CreditRollup.workspace_id == scope.workspace_id,
            CreditRollup.kind == "charge",
            CreditRollup.table_id.in_(select(Table.id).where(Table.workbook_id == workbook_id)),
        )
    )
    return {
        "creditLimit": None,
        "creditsUsed": int(used or 0),
        "balance": await credits.balance(conn, scope.workspace_id),
        "workbookId": workbook_id,
    }
