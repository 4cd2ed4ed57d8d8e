"""The credit-report tests' shared set-up (tests/test_credits_*.py): a ledger written
through the real ``services.credits`` (``grant``/``charge``) on an app's own database, its
entries moved onto chosen past days with an UPDATE of ``created_at`` (the ledger records
"now", and reports over several days need history), and the expected figures recomputed
in Python from the ledger rows themselves."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, update

from claystack.server.services import credits
from claystack.server.storage.engine import Database
from claystack.server.storage.models import CreditEntry

DAY = 86_400_000
BASE = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
INTEGRATIONS = ("http-api-v2", "use-ai", "acme-enrich")
DIMS = {
    "date": ("date",),
    "user": ("userId",),
    "integration": ("integration",),
    "action": ("actionKey",),
    "table": ("tableId",),
    "field": ("tableId", "fieldId"),
}
FULL = ("date", "user", "integration", "table", "field")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


async def _write_ledger(
    db: Database,
    workspace_id: int,
    users: list[int | None],
    cells: list[tuple[str, str]],
    *,
    count: int,
    seed: int,
) -> None:
    rng = random.Random(seed)
    async with db.transaction(write=True) as conn:
        for i in range(count):
            table_id, field_id = rng.choice(cells)
            integration = rng.choice(INTEGRATIONS)
            key = f"ws{workspace_id}-exec-{i}"
            assert await credits.charge(
                conn,
                workspace_id=workspace_id,
                amount=rng.choice((0, 1, 2, 3, 5, 8)),
                idempotency_key=key,
                user_id=rng.choice(users),
                integration=integration,
                action_key=f"{integration}:{rng.choice(('a', 'b'))}",
                table_id=table_id,
                field_id=field_id,
                record_id=f"r_{i}",
            )
            at = BASE + rng.randrange(4) * DAY + rng.randrange(DAY)
            await conn.execute(
                update(CreditEntry).where(CreditEntry.idempotency_key == key).values(created_at=at)
            )
        # Charged twice under one key: the second writes nothing.
        assert not await credits.charge(
            conn,
            workspace_id=workspace_id,
            amount=100,
            idempotency_key=f"ws{workspace_id}-exec-0",
            user_id=users[0],
            integration="use-ai",
            action_key="use-ai:a",
            table_id=cells[0][0],
            field_id=cells[0][1],
            record_id="r_0",
        )
        await credits.grant(conn, workspace_id, 500, user_id=users[0])
        newest = await conn.scalar(select(CreditEntry.id).order_by(CreditEntry.id.desc()))
        await conn.execute(
            update(CreditEntry)
            .where(CreditEntry.id == newest)
            .values(created_at=BASE + DAY + 3_600_000)
        )


async def _ledger_rows(app: FastAPI, workspace_id: int) -> list[Any]:
    async with app.state.db.transaction(write=False) as conn:
        return list(
            await conn.execute(select(CreditEntry).where(CreditEntry.workspace_id == workspace_id))
        )


def _expected(
    entries: list[Any],
    *,
    start: int | None = None,
    end: int | None = None,
    users: Iterable[int] = (),
    integrations: Iterable[str] = (),
    tables: Iterable[str] = (),
    fields: Iterable[str] = (),
) -> list[Any]:
    users, integrations, tables, fields = set(users), set(integrations), set(tables), set(fields)
    return [
        e
        for e in entries
        if (start is None or e.created_at >= start)
        and (end is None or e.created_at < end)
        and (not users or e.user_id in users)
        and (not integrations or e.integration in integrations)
        and (not tables or e.table_id in tables)
        and (not fields or e.field_id in fields)
    ]


def _groups(entries: list[Any], dims: Iterable[str]) -> dict[tuple[Any, ...], tuple[int, int]]:
    values = {
        "date": lambda e: _day(e.created_at),
        "userId": lambda e: e.user_id,
        "integration": lambda e: e.integration,
        "actionKey": lambda e: e.action_key,
        "tableId": lambda e: e.table_id,
        "fieldId": lambda e: e.field_id,
    }
    keys = [k for d in dims for k in DIMS[d]]
    keys = list(dict.fromkeys(keys))
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        if e.kind != "charge":
            continue
        bucket = out[tuple((k, values[k](e)) for k in keys)]
        bucket[0] -= e.amount
        bucket[1] += 1
    return {k: (c, r) for k, (c, r) in out.items()}


def _reported(rows: list[dict[str, Any]], dims: Iterable[str]) -> dict[Any, tuple[int, int]]:
    keys = list(dict.fromkeys(k for d in dims for k in DIMS[d]))
    out = {}
    for row in rows:
        key = tuple((k, row[k]) for k in keys)
        assert key not in out, f"duplicate group {key}"
        assert isinstance(row["credits"], int) and isinstance(row["runs"], int)
        out[key] = (row["credits"], row["runs"])
    return out


def _check(report: dict[str, Any], entries: list[Any], dims: Iterable[str] = FULL) -> None:
    """Every figure of ``report`` against the ledger entries it should cover."""
    charges = [e for e in entries if e.kind == "charge"]
    assert report["totals"] == {
        "used": -sum(e.amount for e in charges),
        "runs": len(charges),
        "actions": sum(e.actions for e in charges),
        "granted": sum(e.amount for e in entries if e.kind == "grant"),
        "net": sum(e.amount for e in entries),
    }
    assert _reported(report["rows"], dims) == _groups(entries, dims)
    for dim, rows in report["breakdowns"].items():
        assert _reported(rows, (dim,)) == _groups(entries, (dim,)), dim
    assert sum(r["credits"] for r in report["rows"]) == report["totals"]["used"]
