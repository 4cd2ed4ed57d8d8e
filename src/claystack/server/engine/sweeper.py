"""The sweeper: formula columns have no job per cell; a column's sweep (``formula_runs``)
walks its QUEUED cells in row order, each batch evaluated in the formula worker processes
(``sweep_reader``) and stored with one statement in the transaction that moves the sweep on
(``sweep_writer``). Each workspace has at most one sweep running, and the workspaces take
turns."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from ..config import Settings
from ..enrichment.pool import FormulaPool
from ..storage.engine import Database
from ..storage.repositories import sweeps
from .sweep_reader import BatchReader
from .sweep_writer import BatchWriter

log = logging.getLogger("claystack.engine")

SWEEP_BATCHES = 16  # batches of one formula column before its workspace's next turn


class Sweeper:
    """``round`` starts sweeps; ``on_news`` is called when stored cells may have queued
    other work (the formulas and actions that read them)."""

    def __init__(
        self, db: Database, settings: Settings, pool: FormulaPool, on_news: Callable[[], None]
    ) -> None:
        self.db = db
        self.settings = settings
        self.pool = pool
        self.reader = BatchReader(db, settings, pool)
        self.writer = BatchWriter(db, on_news)
        self.wake_event = asyncio.Event()
        self._sweeping: dict[int, asyncio.Task[None]] = {}  # workspace → its running sweep
        self._swept: dict[int, tuple[int, str, str]] = {}  # workspace → its last sweep started
        self._turn = 0

    async def stop(self) -> None:
        tasks = list(self._sweeping.values())
        self._sweeping = {}
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def round(self) -> bool:
        """Starts the next sweep of every workspace that has none running, taking the
        workspaces in turn and each one's columns in turn, so that one workspace's backlog
        (or a formula that hits its time limit) delays no other's."""
        async with self.db.transaction(write=False) as conn:
            columns = await sweeps.all_columns(conn)
        by_ws: dict[int, list[tuple[int, str, str]]] = {}
        for ws, table_id, field_id in sorted(columns):
            by_ws.setdefault(ws, []).append((ws, table_id, field_id))
        order = sorted(by_ws)
        if order:  # whose turn it is to start first, when there are more than workers
            turn = self._turn % len(order)
            order = order[turn:] + order[:turn]
            self._turn += 1
        started = False
        for ws in order:
            if ws in self._sweeping:
                continue
            if len(self._sweeping) >= self.pool.size:
                break
            mine = by_ws[ws]
            last = self._swept.get(ws)
            nxt = next((c for c in mine if last is None or c > last), mine[0])
            self._swept[ws] = nxt
            task = asyncio.create_task(self._run(nxt[1], nxt[2]), name="claystack-sweep")
            self._sweeping[ws] = task
            task.add_done_callback(functools.partial(self._done, ws))
            started = True
        return started

    def _done(self, workspace_id: int, _: object = None) -> None:
        self._sweeping.pop(workspace_id, None)
        self.wake_event.set()

    async def _run(self, table_id: str, field_id: str) -> None:
        try:
            await self.sweep(table_id, field_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the engine must outlive any one bad batch
            log.exception("evaluating formula column %s/%s failed", table_id, field_id)
            await asyncio.sleep(self.settings.run_poll_seconds)

    async def sweep(self, table_id: str, field_id: str, batches: int = SWEEP_BATCHES) -> bool:
        """Up to ``batches`` batches of one formula column in row order, each read and
        evaluated while the one before it is written; whether it found cells to do.
        Evaluation holds no lock: a slow formula keeps no other writer waiting."""
        limit = self.settings.run_formula_batch
        async with self.db.transaction(write=False) as conn:
            sweep = await sweeps.get(conn, table_id, field_id)
        if sweep is None:
            return False
        position, found, whole = sweep.after_seq, False, True
        writing: asyncio.Task[None] | None = None
        try:
            for _ in range(batches):
                batch = None
                if whole:
                    batch = await self.reader.read_whole(table_id, field_id, position, limit, sweep)
                    whole = batch is not None
                if batch is None:
                    batch = await self.reader.read_cells(table_id, field_id, position, limit, sweep)
                if writing is not None:
                    await writing
                found |= batch.count > 0
                end = batch.end
                writing = asyncio.create_task(self.writer.store(sweep, position, batch, end))
                if end:
                    break
                position = batch.last
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
        return found
