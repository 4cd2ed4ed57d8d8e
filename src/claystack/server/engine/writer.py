"""The writer: stores action outcomes in batches, charges credits and queues the formulas
that read the new values again (cascade)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ...wire.cells import CellStatus
from ..services import credits, runs
from ..services.common import now_ms
from ..storage.engine import Database
from ..storage.repositories import Connection, action_jobs
from ..storage.uow import UnitOfWork
from .work import FINAL_OK, Job, Outcome

log = logging.getLogger("claystack.engine")


class Writer:
    """``put`` outcomes; ``run`` stores them and calls ``on_written`` with each batch
    (stored or, after logging, dropped). Only the outcomes of jobs this process still holds
    (``owner``) are stored: a job whose lease lapsed and that another process took over is
    that process's to finish."""

    def __init__(
        self, db: Database, on_written: Callable[[Sequence[Outcome]], None], owner: str
    ) -> None:
        self.db = db
        self.on_written = on_written
        self.owner = owner
        self.results: asyncio.Queue[Outcome] = asyncio.Queue()
        self._burst = False  # outcomes came all at once (put_all): no need to wait for more
        # Held by each write and by the lease heartbeat: both lock this process's jobs,
        # in one transaction at a time, so they never deadlock on PostgreSQL.
        self.lock = asyncio.Lock()

    def put(self, outcome: Outcome) -> None:
        self.results.put_nowait(outcome)

    def put_all(self, outcomes: Sequence[Outcome]) -> None:
        """Outcomes of a batch run together: stored as soon as the writer is free."""
        for outcome in outcomes:
            self.results.put_nowait(outcome)
        self._burst = True

    async def run(self) -> None:
        """Stores outcomes as they come, in batches of what arrived within 20 ms (or at
        once, after a ``put_all``)."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.results.get()]
            deadline = loop.time() + 0.02
            while len(batch) < 2000:
                try:
                    batch.append(self.results.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                if self._burst:
                    self._burst = False
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self.results.get()
                except TimeoutError:
                    break
                batch.append(item)
            try:
                await self.write(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing %d run results failed; writing them one by one", len(batch))
                for outcome in batch:
                    try:
                        await self.write([outcome])
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("dropping the result of %s", outcome.job.key)
            finally:
                self.on_written(batch)
                for _ in batch:
                    self.results.task_done()

    async def write(self, batch: Sequence[Outcome]) -> None:
        """Stores a batch in one transaction: the cells, the credit charges (each keyed by
        its job, so a job re-run after a crash is never charged twice), the retries'
        new times, the formulas that read the cells queued again, the jobs deleted."""
        async with self.lock:
            await self._write(batch)

    async def _write(self, batch: Sequence[Outcome]) -> None:
        async with self.db.unit_of_work() as uow:
            await self.store(uow, batch)

    async def store(self, uow: UnitOfWork, batch: Sequence[Outcome], *, held: bool = False) -> None:
        """``write`` in ``uow``'s transaction; ``held``: the jobs were leased in it, so
        they are this process's without a check."""
        now = now_ms()
        conn = uow.conn
        # The tables' rows before their records' (storage/uow.py).
        await uow.write_tables({o.job.table_id for o in batch if o.status})
        if not held:
            batch = await self._ours(conn, batch)
        finals: list[tuple[str, str, str, str, str]] = []
        retries: list[tuple[str, str, str, str, int, int]] = []
        done: list[int] = []
        charges: list[dict[str, Any]] = []
        for o in batch:
            j = o.job
            if o.status is None:
                done.append(j.id)
            elif o.status == CellStatus.RETRY:
                retries.append(
                    (j.table_id, j.record_id, j.field_id, o.meta_json(), j.id, o.retry_at)
                )
            else:
                finals.append((j.table_id, j.record_id, j.field_id, o.value_json(), o.meta_json()))
                done.append(j.id)
                charges += _charge_rows(j, o)
        await credits.charge_many(conn, charges)
        await action_jobs.store_cells(conn, finals, now)
        await action_jobs.retry_later(conn, retries)
        await self._cascade(uow, batch)
        await action_jobs.delete_jobs(conn, done)

    async def _ours(self, conn: Connection, batch: Sequence[Outcome]) -> list[Outcome]:
        """The outcomes whose jobs this process still holds, their rows locked until the
        transaction ends (so no other process can take them over meanwhile)."""
        ids = [o.job.id for o in batch]
        held = await action_jobs.held(conn, ids, self.owner)
        if len(held) < len(ids):
            log.info("dropped %d results of jobs another process took over", len(ids) - len(held))
        return [o for o in batch if o.job.id in held]

    async def _cascade(self, uow: UnitOfWork, batch: Sequence[Outcome]) -> None:
        groups: dict[tuple[int, int | None, str], list[tuple[str, str]]] = {}
        for o in batch:
            if o.status in FINAL_OK:
                j = o.job
                groups.setdefault((j.workspace_id, j.user_id, j.table_id), []).append(
                    (j.field_id, j.record_id)
                )
        for (ws, user, table_id), done in groups.items():
            # A new result, even an equal one, is news to the formulas that read it.
            await runs.cascade(uow, ws, user, table_id, done)


def _charge_rows(job: Job, outcome: Outcome) -> list[dict[str, Any]]:
    """The ledger rows of what ``outcome`` cost, for ``credits.charge_many``."""
    return [
        {
            "workspace_id": job.workspace_id,
            "amount": c.amount,
            "idempotency_key": c.key,
            "user_id": job.user_id,
            "integration": c.integration,
            "action_key": c.action_key,
            "table_id": job.table_id,
            "field_id": job.field_id,
            "record_id": job.record_id,
        }
        for c in outcome.charges
    ]
