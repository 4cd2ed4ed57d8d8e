"""The action queue: ``run_jobs`` rows claimed in batches under a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; the process's write lock on SQLite). The claiming process (its
``owner`` token) renews its leases by heartbeat and releases them when it stops; the jobs of
a process that died come back when their leases lapse, to whichever process claims next."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ...wire.cells import CellStatus
from ..config import Settings
from ..errors import ClayError
from ..services import app_accounts, credits
from ..services.common import now_ms
from ..storage import bulk
from ..storage.engine import Database
from ..storage.models import Field, Record, RunJob
from ..storage.repositories.run_queue import META_OBJECT, set_meta_expr
from .work import JOB_COLUMNS, Job, job_from_row

_RUNNING_CELL = orjson.dumps({"status": CellStatus.RUNNING}).decode()

Credentials = Mapping[str, Any] | ClayError

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


async def resolve_credentials(
    conn: AsyncConnection, workspace_id: int, auth_account_id: str, integration: str
) -> Mapping[str, Any] | ClayError:
    """The credentials an action runs with, from the field's ``authAccountId``; the error
    (account deleted, of another workspace or integration) when it cannot be used, which
    ends the cell instead of the batch."""
    try:
        return await app_accounts.resolve_credentials(
            conn, workspace_id, auth_account_id, integration
        )
    except ClayError as exc:
        return exc


@dataclass(slots=True)
class Claim:
    """Claimed jobs, with their tables' fields and rows (by ``(table id, id)``), the
    credentials their actions use and their workspaces' balances at the claim."""

    jobs: list[Job]
    fields: dict[tuple[str, str], Any]
    records: dict[tuple[str, str], Any]
    creds: dict[tuple[int, str, str], Credentials]
    balances: dict[int, int]

    def by_workspace(self) -> list[Claim]:
        """One claim per workspace (sharing the lookups)."""
        groups: dict[int, list[Job]] = {}
        for j in self.jobs:
            groups.setdefault(j.workspace_id, []).append(j)
        return [
            Claim(jobs, self.fields, self.records, self.creds, self.balances)
            for jobs in groups.values()
        ]


class ActionQueue:
    def __init__(self, db: Database, settings: Settings, owner: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner or uuid.uuid4().hex

    def _lease_ms(self) -> int:
        return int(self.settings.run_lease_seconds * 1000)

    async def renew(self) -> int:
        """The heartbeat: extends the lease of every job this process holds. A job whose
        lease lapsed and that another process took over is no longer ours, so not renewed."""
        until = now_ms() + self._lease_ms()
        async with self.db.transaction(write=True) as conn:
            result = await conn.execute(
                update(RunJob)
                .where(RunJob.lease_owner == self.owner)
                .values(lease_until=until, not_before=until)
            )
        return result.rowcount or 0

    async def release(self) -> int:
        """Makes every job this process holds claimable at once (a graceful stop)."""
        async with self.db.transaction(write=True) as conn:
            result = await conn.execute(
                update(RunJob)
                .where(RunJob.lease_owner == self.owner)
                .values(lease_until=None, lease_owner=None, not_before=now_ms())
            )
        return result.rowcount or 0

    async def claim(self, limit: int, room: Callable[[int], int]) -> Claim | None:
        """Leases up to ``limit`` ready action jobs and marks their cells RUNNING; with
        what planning them needs. None when no job is ready. The workspaces with ready
        jobs share ``limit`` evenly, each taking no more than ``room(workspace)``, so one
        workspace's backlog never fills a claim that another's jobs are waiting for."""
        shares = await self.shares(limit, room)
        return await self.lease(shares) if shares else None

    async def lease(self, shares: Sequence[tuple[int, int]]) -> Claim | None:
        """``claim`` of the jobs of ``shares``."""
        async with self.db.transaction(write=True) as conn:
            claim = await self.take(conn, shares)
            if claim is not None:
                await self.mark_running(conn, claim.jobs, claim.records)
        return claim

    async def shares(self, limit: int, room: Callable[[int], int]) -> list[tuple[int, int]]:
        """How many jobs to claim of each workspace with ready jobs (``claim``)."""
        async with self.db.transaction(write=False) as conn:
            waiting = list(await conn.scalars(_WAITING, {"k": "action", "now": now_ms()}))
        wants = {ws: room(ws) for ws in sorted(waiting)}
        wants = {ws: n for ws, n in wants.items() if n > 0}
        if not wants:
            return []
        share = max(1, limit // len(wants))
        return [(ws, min(n, share)) for ws, n in wants.items()]

    async def take(self, conn: AsyncConnection, shares: Sequence[tuple[int, int]]) -> Claim | None:
        """Leases the jobs of ``shares`` in ``conn``'s write transaction, with what planning
        them needs; their cells are not marked (``mark_running``)."""
        kind = "action"
        now = now_ms()
        lease_jobs = self._lease_sqlite if conn.dialect.name == "sqlite" else self._lease
        jobs = await lease_jobs(conn, kind, now, shares)
        if not jobs:
            return None
        fields, records = await self.load(conn, jobs)
        balances: dict[int, int] = {}
        creds: dict[tuple[int, str, str], Credentials] = {}
        for ws in {j.workspace_id for j in jobs}:
            balances[ws] = await credits.balance(conn, ws)
        for j in jobs:
            f = fields.get((j.table_id, j.field_id))
            if f is None:
                continue
            ts = f.type_settings
            for step in ts.get("steps") or [ts]:
                aa, pkg = step.get("authAccountId"), step.get("actionPackageId", "")
                if aa and (j.workspace_id, aa, pkg) not in creds:
                    creds[(j.workspace_id, aa, pkg)] = await resolve_credentials(
                        conn, j.workspace_id, aa, pkg
                    )
        return Claim(jobs, fields, records, creds, balances)

    async def _lease(
        self, conn: AsyncConnection, kind: str, now: int, wants: Sequence[tuple[int, int]]
    ) -> list[Job]:
        """Leases up to ``n`` ready jobs of each ``(workspace, n)`` of ``wants``."""
        until = now + self._lease_ms()
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
                    lease_owner=self.owner,
                    not_before=until,
                    attempts=RunJob.attempts + 1,
                )
            )
        return [job_from_row(r, claimed=True) for r in rows]

    async def _lease_sqlite(
        self, conn: AsyncConnection, kind: str, now: int, wants: Sequence[tuple[int, int]]
    ) -> list[Job]:
        """``_lease`` in one statement per workspace (the process holds SQLite's write
        lock, so no job is taken twice), which counts the attempt too."""
        until = now + self._lease_ms()
        rows: list[Any] = []
        for ws, n in wants:
            params = {"k": kind, "now": now, "ws": ws, "n": n, "until": until}
            found = list(await conn.execute(_SQLITE_CLAIM, {**params, "owner": self.owner}))
            found.sort(key=lambda r: r[0])  # RETURNING's order is SQLite's, not the queue's
            rows += found
        return [job_from_row(r) for r in rows]

    async def load(
        self, conn: AsyncConnection, jobs: Sequence[Job]
    ) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
        table_ids = {j.table_id for j in jobs}
        fields: dict[tuple[str, str], Any] = {}
        for f in await conn.execute(select(Field).where(Field.table_id.in_(table_ids))):
            fields[(f.table_id, f.id)] = f
        records: dict[tuple[str, str], Any] = {}
        by_table: dict[str, list[str]] = {}
        for j in jobs:
            by_table.setdefault(j.table_id, []).append(j.record_id)
        sqlite = conn.dialect.name == "sqlite"
        for table_id, rids in by_table.items():
            unique = list(dict.fromkeys(rids))
            if sqlite:
                params = {"t": table_id, "ids": bulk.sqlite_ids(unique)}
                for r in await conn.execute(_SQLITE_RECORDS, params):
                    records[(table_id, r.id)] = r
                continue
            for start in range(0, len(unique), 1000):
                rows = await conn.execute(
                    select(Record.id, Record.cells, Record.meta).where(
                        Record.table_id == table_id, Record.id.in_(unique[start : start + 1000])
                    )
                )
                for r in rows:
                    records[(table_id, r.id)] = r
        return fields, records

    async def mark_running(
        self, conn: AsyncConnection, jobs: Sequence[Job], records: Mapping[Any, Any]
    ) -> None:
        """Marks the cells of ``jobs`` RUNNING (those whose rows ``records`` holds)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for j in jobs:
            if (j.table_id, j.record_id) in records:
                groups.setdefault((j.table_id, j.field_id), []).append(j.record_id)
        sqlite = conn.dialect.name == "sqlite"
        for (table_id, field_id), rids in groups.items():
            if sqlite:
                params = {
                    "t": table_id,
                    "path": f'$."{field_id}"',
                    "cell": _RUNNING_CELL,
                    "ids": bulk.sqlite_ids(rids),
                }
                await conn.execute(_SQLITE_RUNNING, params)
                continue
            await conn.execute(
                update(Record)
                .where(Record.table_id == table_id, Record.id.in_(rids))
                .values(meta=set_meta_expr(conn, field_id, _RUNNING_CELL))
            )
