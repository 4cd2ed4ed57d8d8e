"""Action jobs (``run_jobs``) as the engine takes and finishes them: the workspaces with
ready jobs, the lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; one statement under the
process's write lock on SQLite), its heartbeat and release, the rows a claim reads and marks
RUNNING, and the writes of the outcomes (cells, retries, the finished jobs deleted).

Statements over many ids go as one JSON array parameter on SQLite (``bulk.sqlite_ids``),
and in chunks of 1,000 bound ids on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ....wire.cells import CellStatus
from .. import bulk
from ..models import Field, Record, RunJob
from .run_queue import META_OBJECT, set_meta_expr

# The columns a lease returns, in this order (the engine reads them by position).
JOB_COLUMNS = (
    "id",
    "key",
    "kind",
    "workspace_id",
    "table_id",
    "field_id",
    "record_id",
    "user_id",
    "attempts",
)

_RUNNING_CELL = orjson.dumps({"status": CellStatus.RUNNING}).decode()

# The workspaces with ready jobs: one step of the (kind, workspace_id, not_before) index per
# workspace (a loose index scan), where SELECT DISTINCT walked every queued job, 80 ms per
# claim with 100,000 jobs queued.
_WAITING = text(
    "WITH RECURSIVE w(ws) AS ("
    "SELECT min(workspace_id) FROM run_jobs WHERE kind = :k "
    "UNION ALL SELECT (SELECT min(r.workspace_id) FROM run_jobs r "
    "WHERE r.kind = :k AND r.workspace_id > w.ws) FROM w WHERE w.ws IS NOT NULL) "
    "SELECT ws FROM w WHERE ws IS NOT NULL AND EXISTS (SELECT 1 FROM run_jobs r "
    "WHERE r.kind = :k AND r.workspace_id = w.ws AND r.not_before <= :now)"
)


# The claim's lease on SQLite: the ready jobs picked, leased and read in one statement.
_SQLITE_CLAIM = text(
    "UPDATE run_jobs SET lease_until = :until, lease_owner = :owner, not_before = :until, "
    "attempts = attempts + 1 WHERE id IN (SELECT id FROM run_jobs WHERE kind = :k "
    "AND not_before <= :now AND workspace_id = :ws ORDER BY not_before, id LIMIT :n) "
    "RETURNING " + ", ".join(f'"{c}"' for c in JOB_COLUMNS)
)
# The claim's statements over many ids on SQLite: the ids as one JSON array parameter
# (storage/bulk.py: sqlite_ids), not a long IN list of bound parameters.
_SQLITE_RECORDS = text(
    "SELECT id, cells, meta FROM records "
    "WHERE table_id = :t AND id IN (SELECT value FROM json_each(:ids))"
).columns(*(Record.__table__.c[c] for c in ("id", "cells", "meta")))

_SQLITE_RUNNING = text(
    f"UPDATE records SET meta = json_set({META_OBJECT['sqlite']}, :path, json(:cell)) "
    "WHERE table_id = :t AND id IN (SELECT value FROM json_each(:ids))"
)

# An outcome's cell on PostgreSQL: its value and run state (on SQLite: _SQLITE_WRITE); a
# retry's: its run state only.
_PG_WRITE = text(
    "UPDATE records SET "
    "cells = cells || jsonb_build_object(CAST(:f AS text), CAST(:value AS jsonb)), "
    f"meta = {META_OBJECT['postgresql']} "
    "|| jsonb_build_object(CAST(:f AS text), CAST(:meta AS jsonb)), updated_at = :now "
    "WHERE table_id = :t AND id = :r"
)
_META_SQL = {
    "sqlite": text(
        f"UPDATE records SET meta = json_set({META_OBJECT['sqlite']}, :path, json(:meta)) "
        "WHERE table_id = :t AND id = :r"
    ),
    "postgresql": text(
        f"UPDATE records SET meta = {META_OBJECT['postgresql']} "
        "|| jsonb_build_object(CAST(:f AS text), CAST(:meta AS jsonb)) "
        "WHERE table_id = :t AND id = :r"
    ),
}

# SQLite's statements of the outcomes: the cells positional, in one executemany (see
# storage/bulk.py), and the job rows by one JSON array parameter.
_SQLITE_WRITE = (
    "UPDATE records SET cells = json_set(cells, ?1, json(?2)), "
    f"meta = json_set({META_OBJECT['sqlite']}, ?1, json(?3)), updated_at = ?4 "
    "WHERE table_id = ?5 AND id = ?6"
)
_SQLITE_HELD = text(
    "SELECT id FROM run_jobs WHERE id IN (SELECT value FROM json_each(:ids)) "
    "AND lease_owner = :owner"
)
_SQLITE_DELETE = text("DELETE FROM run_jobs WHERE id IN (SELECT value FROM json_each(:ids))")


# -- the lease -------------------------------------------------------------------------------


async def waiting_workspaces(conn: AsyncConnection, kind: str, now: int) -> list[int]:
    """The workspaces with jobs of ``kind`` ready at ``now``."""
    return list(await conn.scalars(_WAITING, {"k": kind, "now": now}))


async def renew(conn: AsyncConnection, owner: str, until: int) -> int:
    """Extends the lease of every job ``owner`` holds to ``until``; how many."""
    result = await conn.execute(
        update(RunJob)
        .where(RunJob.lease_owner == owner)
        .values(lease_until=until, not_before=until)
    )
    return result.rowcount or 0


async def release(conn: AsyncConnection, owner: str, now: int) -> int:
    """Makes every job ``owner`` holds claimable at ``now``; how many."""
    result = await conn.execute(
        update(RunJob)
        .where(RunJob.lease_owner == owner)
        .values(lease_until=None, lease_owner=None, not_before=now)
    )
    return result.rowcount or 0


async def lease(
    conn: AsyncConnection,
    kind: str,
    now: int,
    wants: Sequence[tuple[int, int]],
    *,
    until: int,
    owner: str,
) -> tuple[list[Any], bool]:
    """Leases up to ``n`` ready jobs of ``kind`` of each ``(workspace, n)`` of ``wants`` to
    ``owner`` until ``until``, counting an attempt of each. Their rows (``JOB_COLUMNS``) in
    queue order per workspace, and whether the rows' ``attempts`` count this attempt."""
    if conn.dialect.name == "sqlite":
        return await _lease_sqlite(conn, kind, now, wants, until, owner), True
    ready = (RunJob.kind == kind) & (RunJob.not_before <= now)
    rows: list[Any] = []
    for ws, n in wants:
        rows += await conn.execute(
            select(*[RunJob.__table__.c[c] for c in JOB_COLUMNS])
            .where(ready, RunJob.workspace_id == ws)
            .order_by(RunJob.not_before, RunJob.id)
            .limit(n)
            .with_for_update(skip_locked=True)
        )
    ids = [r[0] for r in rows]
    # A claimed job is invisible to other claims until its lease runs out (a lapsed
    # lease, of a process that died, makes it ready again: a takeover).
    for start in range(0, len(ids), 1000):
        await conn.execute(
            update(RunJob)
            .where(RunJob.id.in_(ids[start : start + 1000]))
            .values(
                lease_until=until,
                lease_owner=owner,
                not_before=until,
                attempts=RunJob.attempts + 1,
            )
        )
    return rows, False


async def _lease_sqlite(
    conn: AsyncConnection,
    kind: str,
    now: int,
    wants: Sequence[tuple[int, int]],
    until: int,
    owner: str,
) -> list[Any]:
    """``lease`` in one statement per workspace (the process holds SQLite's write lock,
    so no job is taken twice), which counts the attempt too."""
    rows: list[Any] = []
    for ws, n in wants:
        params = {"k": kind, "now": now, "ws": ws, "n": n, "until": until}
        found = list(await conn.execute(_SQLITE_CLAIM, {**params, "owner": owner}))
        found.sort(key=lambda r: r[0])  # RETURNING's order is SQLite's, not the queue's
        rows += found
    return rows


async def fields_of_tables(conn: AsyncConnection, table_ids: set[str]) -> list[Any]:
    """Every field (every column) of these tables."""
    return list(await conn.execute(select(Field).where(Field.table_id.in_(table_ids))))


async def cells_of_rows(conn: AsyncConnection, table_id: str, record_ids: list[str]) -> list[Any]:
    """``id``, ``cells`` and ``meta`` of the table's rows with these (distinct) ids."""
    if conn.dialect.name == "sqlite":
        params = {"t": table_id, "ids": bulk.sqlite_ids(record_ids)}
        return list(await conn.execute(_SQLITE_RECORDS, params))
    rows: list[Any] = []
    for start in range(0, len(record_ids), 1000):
        rows += await conn.execute(
            select(Record.id, Record.cells, Record.meta).where(
                Record.table_id == table_id, Record.id.in_(record_ids[start : start + 1000])
            )
        )
    return rows


async def mark_running(
    conn: AsyncConnection, table_id: str, field_id: str, record_ids: list[str]
) -> None:
    """Marks the column's cells of these rows RUNNING."""
    if conn.dialect.name == "sqlite":
        params = {
            "t": table_id,
            "path": f'$."{field_id}"',
            "cell": _RUNNING_CELL,
            "ids": bulk.sqlite_ids(record_ids),
        }
        await conn.execute(_SQLITE_RUNNING, params)
        return
    await conn.execute(
        update(Record)
        .where(Record.table_id == table_id, Record.id.in_(record_ids))
        .values(meta=set_meta_expr(conn, field_id, _RUNNING_CELL))
    )


# -- outcomes --------------------------------------------------------------------------------


async def held(conn: AsyncConnection, ids: Sequence[int], owner: str) -> set[int]:
    """Which of the jobs ``ids`` ``owner`` still holds, their rows locked until the
    transaction ends on PostgreSQL (on SQLite the write lock is held: no row locks)."""
    found: set[int] = set()
    if conn.dialect.name == "sqlite":
        found.update(
            await conn.scalars(_SQLITE_HELD, {"ids": bulk.sqlite_ids(ids), "owner": owner})
        )
        return found
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(
            await conn.scalars(
                select(RunJob.id)
                .where(RunJob.id.in_(chunk), RunJob.lease_owner == owner)
                .with_for_update()
            )
        )
    return found


async def store_cells(
    conn: AsyncConnection, cells: Sequence[tuple[str, str, str, str, str]], now: int
) -> None:
    """Stores each ``(table id, record id, field id, value JSON, meta JSON)`` cell, its row
    updated at ``now``."""
    if not cells:
        return
    if conn.dialect.name == "sqlite":
        rows = [(f'$."{f}"', v, m, now, t, r) for t, r, f, v, m in cells]
        await bulk.sqlite_many(conn, _SQLITE_WRITE, rows)
        return
    params = [
        {"f": f, "meta": m, "t": t, "r": r, "value": v, "now": now} for t, r, f, v, m in cells
    ]
    await conn.execute(_PG_WRITE, params)


async def retry_later(
    conn: AsyncConnection, retries: Sequence[tuple[str, str, str, str, int, int]]
) -> None:
    """For each ``(table id, record id, field id, meta JSON, job id, at)``: stores the
    cell's run state and releases its job, to be claimed again at ``at``."""
    if not retries:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        cells = [{"f": f, "meta": m, "t": t, "r": r} for t, r, f, m, _, _ in retries]
    else:
        cells = [{"path": f'$."{f}"', "meta": m, "t": t, "r": r} for t, r, f, m, _, _ in retries]
    await conn.execute(_META_SQL[dialect], cells)
    await conn.execute(
        update(RunJob)
        .where(RunJob.id == bindparam("b_id"))
        .values(lease_until=None, lease_owner=None, not_before=bindparam("b_at")),
        [{"b_id": job_id, "b_at": at} for _, _, _, _, job_id, at in retries],
    )


async def delete_jobs(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Deletes the jobs ``ids`` (finished or dropped)."""
    if conn.dialect.name == "sqlite":
        if ids:
            await conn.execute(_SQLITE_DELETE, {"ids": bulk.sqlite_ids(ids)})
        return
    for start in range(0, len(ids), 1000):
        await conn.execute(delete(RunJob).where(RunJob.id.in_(ids[start : start + 1000])))
