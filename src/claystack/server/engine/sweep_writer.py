"""A sweep's batch stored: its values written with one statement, only in rows unchanged
since the read and still QUEUED, in the transaction that moves the sweep on (or ends it)
and queues the formulas and actions that read the new values (cascade)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from ...wire.cells import CellStatus
from ..services import runs, tables
from ..services.common import now_ms
from ..services.fields import RUNNABLE_TYPES
from ..storage.engine import Database
from ..storage.repositories import Connection, sweeps
from .sweep_reader import Batch
from .work import FINAL_OK, FormulaCell

_UNSTORABLE = "The formula's value could not be stored"


def _read_by_others(fields: Mapping[str, Any], field_id: str) -> bool:
    """Whether a formula or action column reads ``field_id`` (its new cells cascade)."""
    return any(
        field_id in tables.input_field_ids(f.type_settings)
        for f in fields.values()
        if f.type in RUNNABLE_TYPES
    )


def _decode_rows(stored: str) -> tuple[list[FormulaCell], dict[int, int]]:
    """The cells of a batch evaluated whole, and each row's ``updated_at`` as read."""
    cells, stamps = [], {}
    for seq, updated_at, value, meta, record_id in orjson.loads(stored):
        cells.append(FormulaCell(seq, record_id, meta["status"], value, meta.get("error")))
        stamps[seq] = updated_at
    return cells, stamps


class BatchWriter:
    """``store``s a sweep's batches; ``on_news`` is called when stored cells may have
    queued other work (the formulas and actions that read them)."""

    def __init__(self, db: Database, on_news: Callable[[], None]) -> None:
        self.db = db
        self.on_news = on_news

    async def store(self, sweep: Any, start: int, batch: Batch, end: bool) -> None:
        """Stores a batch read after ``start`` and moves the sweep to just before the first
        cell still QUEUED after ``start``, or ends it (``end``: the read reached the table's
        last queued cell). A cell is stored only if its row is unchanged since it was read;
        a changed one (a new input, a run queueing it again) stays QUEUED and so is read
        again, and nothing is stored when the formula itself changed since the read. The
        sweep's row is locked first, as runs that queue cells of the column lock
        it (``runs.queue_formula``), so none slips by; its ``pending`` count says whether
        any cell can remain without scanning for one."""
        table_id, field_id = sweep.table_id, sweep.field_id
        async with self.db.unit_of_work() as uow:
            conn = uow.conn
            await uow.write_tables([table_id])  # table, then sweep, then records
            current = await sweeps.lock(conn, table_id, field_id)
            used = batch.fields.get(field_id)
            if (
                used is not None
                and batch.count
                and used.type_settings != await sweeps.formula_settings(conn, table_id, field_id)
            ):
                # The formula changed after this batch was read: its values are the old
                # formula's. The change queued the column again; its sweep computes them.
                return
            after = current.after_seq if current is not None else 0
            until = current.fill_until if current is not None else None
            cells, written = await self._write(conn, field_id, batch, after, until)
            if current is not None:
                await self._move(conn, sweep, current, start, written, batch.runnable, end)
            done = [(field_id, c.record_id) for c in cells if c.status in FINAL_OK]
            if done:
                # A new result, even an equal one, is news to the formulas that read it.
                await runs.cascade(uow, sweep.workspace_id, sweep.user_id, table_id, done)
        if done:
            self.on_news()

    async def _write(
        self, conn: Connection, field_id: str, batch: Batch, after: int, until: int | None
    ) -> tuple[Sequence[FormulaCell], int]:
        """Writes the batch's cells; them (decoded when the batch was evaluated whole and
        they cascade) and how many were stored."""
        cells: Sequence[FormulaCell] = batch.cells
        written: int | None = None
        if batch.stored is not None:
            written = await self._write_rows(conn, field_id, batch.stored, after, until)
            if written is None:  # a value the database refuses: find it cell by cell
                cells, batch.stamps = _decode_rows(batch.stored)
            elif _read_by_others(batch.fields, field_id):
                cells = _decode_rows(batch.stored)[0]
        if written is None:
            written = await self._write_formulas(conn, field_id, cells, batch.stamps, after, until)
        return cells, written

    async def _move(
        self,
        conn: Connection,
        sweep: Any,
        current: Any,
        start: int,
        written: int,
        runnable: bool,
        end: bool,
    ) -> None:
        """Counts the ``written`` cells off the locked sweep (``current``) and moves it to
        just before its next QUEUED cell after ``start``, or ends it."""
        table_id, field_id = sweep.table_id, sweep.field_id
        left = max(int(current.pending) - written, 0)
        moved: dict[str, Any] = {"pending": left}
        if not runnable or (end and left == 0):
            finished = True
        elif current.after_seq < start:
            finished = False  # a run moved the sweep back meanwhile: it stays there
        else:
            nxt = await sweeps.next_queued_seq(
                conn, table_id, field_id, start, current.after_seq, current.fill_until
            )
            finished = nxt is None
            if nxt is not None:
                moved["after_seq"] = nxt - 1
        if finished:
            await sweeps.finish(conn, table_id, field_id)
        else:
            await sweeps.move(conn, table_id, field_id, **moved)

    async def _write_rows(
        self, conn: Connection, field_id: str, rows: str, after: int, until: int | None
    ) -> int | None:
        """Stores a batch evaluated whole; how many cells it stored, None when the database
        refused the batch."""
        try:
            return await sweeps.store_rows(conn, field_id, rows, after, until, now_ms())
        except sweeps.Refused:
            return None

    async def _write_formulas(
        self,
        conn: Connection,
        field_id: str,
        cells: Sequence[FormulaCell],
        stamps: Mapping[int, int],
        after: int,
        until: int | None,
    ) -> int:
        """Stores the cells whose rows still have the ``updated_at`` they were read with
        and are still QUEUED (``after`` and ``until``: the sweep's fill); how many it
        stored."""
        if not cells:
            return 0
        try:
            return await sweeps.store_cells(conn, field_id, cells, stamps, after, until, now_ms())
        except sweeps.Refused:
            if len(cells) > 1:  # find the values the database refuses (NUL on PostgreSQL)
                half = len(cells) // 2
                first = await self._write_formulas(
                    conn, field_id, cells[:half], stamps, after, until
                )
                return first + await self._write_formulas(
                    conn, field_id, cells[half:], stamps, after, until
                )
            c = cells[0]
            if c.error == _UNSTORABLE:
                raise
            failed = FormulaCell(c.seq, c.record_id, CellStatus.ERROR, None, _UNSTORABLE)
            return await self._write_formulas(conn, field_id, [failed], stamps, after, until)
