"""The action queue: ``run_jobs`` rows claimed in batches under a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; the process's write lock on SQLite). The claiming process (its
``owner`` token) renews its leases by heartbeat and releases them when it stops; the jobs of
a process that died come back when their leases lapse, to whichever process claims next."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import ClayError
from ..services import app_accounts, credits
from ..services.common import now_ms
from ..storage.engine import Database
from ..storage.repositories import Connection, action_jobs
from .work import Job, job_from_row

Credentials = Mapping[str, Any] | ClayError


async def resolve_credentials(
    conn: Connection, workspace_id: int, auth_account_id: str, integration: str
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
            return await action_jobs.renew(conn, self.owner, until)

    async def release(self) -> int:
        """Makes every job this process holds claimable at once (a graceful stop)."""
        async with self.db.transaction(write=True) as conn:
            return await action_jobs.release(conn, self.owner, now_ms())

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
            waiting = await action_jobs.waiting_workspaces(conn, "action", now_ms())
        wants = {ws: room(ws) for ws in sorted(waiting)}
        wants = {ws: n for ws, n in wants.items() if n > 0}
        if not wants:
            return []
        share = max(1, limit // len(wants))
        return [(ws, min(n, share)) for ws, n in wants.items()]

    async def take(self, conn: Connection, shares: Sequence[tuple[int, int]]) -> Claim | None:
        """Leases the jobs of ``shares`` in ``conn``'s write transaction, with what planning
        them needs; their cells are not marked (``mark_running``)."""
        kind = "action"
        now = now_ms()
        until = now + self._lease_ms()
        rows, counted = await action_jobs.lease(
            conn, kind, now, shares, until=until, owner=self.owner
        )
        jobs = [job_from_row(r, claimed=not counted) for r in rows]
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

    async def load(
        self, conn: Connection, jobs: Sequence[Job]
    ) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
        fields: dict[tuple[str, str], Any] = {}
        for f in await action_jobs.fields_of_tables(conn, {j.table_id for j in jobs}):
            fields[(f.table_id, f.id)] = f
        records: dict[tuple[str, str], Any] = {}
        by_table: dict[str, list[str]] = {}
        for j in jobs:
            by_table.setdefault(j.table_id, []).append(j.record_id)
        for table_id, rids in by_table.items():
            for r in await action_jobs.cells_of_rows(conn, table_id, list(dict.fromkeys(rids))):
                records[(table_id, r.id)] = r
        return fields, records

    async def mark_running(
        self, conn: Connection, jobs: Sequence[Job], records: Mapping[Any, Any]
    ) -> None:
        """Marks the cells of ``jobs`` RUNNING (those whose rows ``records`` holds)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for j in jobs:
            if (j.table_id, j.record_id) in records:
                groups.setdefault((j.table_id, j.field_id), []).append(j.record_id)
        for (table_id, field_id), rids in groups.items():
            await action_jobs.mark_running(conn, table_id, field_id, rids)
