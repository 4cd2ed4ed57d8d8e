"""The credit ledger: an append-only list of integer amounts; balances are sums over it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ...clock import now_ms
from .. import bulk
from ..models import CreditEntry, CreditRollup, Table

_BALANCE = select(func.coalesce(func.sum(CreditRollup.amount), 0)).where(
    CreditRollup.workspace_id == bindparam("workspace_id")
)  # built once: every credit report and engine claim asks


async def balance(conn: AsyncConnection, workspace_id: int) -> int:
    """The sum of the workspace's ledger, read from the rollup its trigger keeps in the
    same transaction as every entry (storage/counters.py)."""
    total = await conn.scalar(_BALANCE, {"workspace_id": workspace_id})
    return int(total or 0)


# One row (and its rollup's, by trigger): on the loop's thread on SQLite. Built once.
_GRANT = insert(CreditEntry).execution_options(sqlite_inline=True)


async def grant(
    conn: AsyncConnection, workspace_id: int, amount: int, user_id: int | None = None
) -> None:
    values = {"workspace_id": workspace_id, "amount": amount, "kind": "grant"}
    values.update(user_id=user_id, actions=0, created_at=now_ms())
    await conn.execute(_GRANT, values)


async def charge(
    conn: AsyncConnection,
    *,
    workspace_id: int,
    amount: int,
    idempotency_key: str,
    user_id: int | None,
    integration: str,
    action_key: str,
    table_id: str,
    field_id: str,
    record_id: str,
    actions: int = 1,
) -> bool:
    """Records one charge of ``amount`` credits (0 for a free action) and ``actions``
    executions. Returns False (and writes nothing) when ``idempotency_key`` was charged
    before, so an execution can never be billed twice."""
    existing = await conn.scalar(
        select(CreditEntry.id).where(CreditEntry.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return False
    await conn.execute(
        insert(CreditEntry).values(
            workspace_id=workspace_id,
            amount=-amount,
            kind="charge",
            user_id=user_id,
            integration=integration,
            action_key=action_key,
            table_id=table_id,
            field_id=field_id,
            record_id=record_id,
            actions=actions,
            idempotency_key=idempotency_key,
            created_at=now_ms(),
        )
    )
    return True


_CHARGE = insert(CreditEntry)
_CHARGE_COLUMNS = (
    "workspace_id, amount, kind, user_id, integration, action_key, table_id, field_id, "
    "record_id, actions, idempotency_key, created_at"
)
_SQLITE_SEEN = text(
    "SELECT idempotency_key FROM credit_ledger "
    "WHERE idempotency_key IN (SELECT value FROM json_each(:keys))"
)
_CHARGE_NAMES = _CHARGE_COLUMNS.split(", ")
# The same insert for SQLite's driver (one executemany, no per-row binding by Core); the
# tuples are in _CHARGE_COLUMNS' order.
_SQLITE_CHARGE = f"INSERT INTO credit_ledger ({_CHARGE_COLUMNS}) VALUES ({', '.join(['?'] * 12)})"


async def charge_many(conn: AsyncConnection, entries: list[dict[str, Any]]) -> int:
    """Records many charges at once (``charge``'s keyword arguments, one dict each): one
    read of the keys already charged and one insert, however many entries. Entries whose
    ``idempotency_key`` was charged before are skipped; returns how many were recorded."""
    if not entries:
        return 0
    keys = [e["idempotency_key"] for e in entries]
    seen: set[str] = set()
    if conn.dialect.name == "sqlite":
        found = await conn.scalars(_SQLITE_SEEN, {"keys": bulk.sqlite_ids(keys)})
        seen.update(found)
        keys = []
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        found = await conn.scalars(
            select(CreditEntry.idempotency_key).where(CreditEntry.idempotency_key.in_(part))
        )
        seen.update(k for k in found if k is not None)
    now = now_ms()
    rows = []
    for e in entries:
        key = e["idempotency_key"]
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            (
                e["workspace_id"],
                -e["amount"],
                "charge",
                e["user_id"],
                e["integration"],
                e["action_key"],
                e["table_id"],
                e["field_id"],
                e["record_id"],
                e.get("actions", 1),
                key,
                now,
            )
        )
    if rows and conn.dialect.name == "sqlite":
        await bulk.sqlite_many(conn, _SQLITE_CHARGE, rows)
    elif rows:
        await conn.execute(_CHARGE, [dict(zip(_CHARGE_NAMES, r, strict=True)) for r in rows])
    return len(rows)


async def spent_by_workbook(conn: AsyncConnection, workspace_id: int, workbook_id: str) -> int:
    """The credits the workbook's tables were charged."""
    used = await conn.scalar(
        select(func.coalesce(func.sum(-CreditRollup.amount), 0)).where(
            CreditRollup.workspace_id == workspace_id,
            CreditRollup.kind == "charge",
            CreditRollup.table_id.in_(select(Table.id).where(Table.workbook_id == workbook_id)),
        )
    )
    return int(used or 0)
