"""The sweeper: formula columns have no job per cell; a column's sweep (``formula_runs``)
walks its QUEUED cells in row order, each batch evaluated in the formula worker processes
and stored with one statement in the transaction that moves the sweep on. Each workspace
has at most one sweep running, and the workspaces take turns."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Text, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ...wire.cells import CellStatus
from ..config import Settings
from ..enrichment import evaluation, formulas
from ..enrichment.pool import FormulaPool
from ..services import runs, tables
from ..services.common import now_ms
from ..services.fields import RUNNABLE_TYPES
from ..storage.engine import Database
from ..storage.models import Field, FormulaRun, Record
from ..storage.repositories import run_queue
from ..storage.repositories.run_queue import META_OBJECT
from .work import FINAL_OK, FormulaCell, cell_values, dumps

log = logging.getLogger("claystack.engine")

SWEEP_BATCHES = 16  # batches of one formula column before its workspace's next turn
_WHOLE_BYTES = 4 * 1024 * 1024  # cells of a batch evaluated whole, at most (about)
_UNSTORABLE = "The formula's value could not be stored"

# A cell still QUEUED: marked so, or in the fill's range (``run_queue.queued``) with no status.
_STILL_QUEUED = {
    "sqlite": (
        " AND (json_extract(records.meta, :status) = 'QUEUED' OR (records.seq > :after"
        " AND records.seq <= :until AND json_extract(records.meta, :status) IS NULL))"
    ),
    "postgresql": (
        " AND (records.meta -> CAST(:f AS text) ->> 'status' = 'QUEUED' OR (records.seq > :after"
        " AND records.seq <= :until AND records.meta -> CAST(:f AS text) ->> 'status' IS NULL))"
    ),
}

# One statement stores a batch of formula cells: rows matched by ``seq``, unchanged since
# they were read (``updated_at``) and still QUEUED.
_FORMULA_SQL = {
    "sqlite": (
        "UPDATE records SET cells = json_set(cells, :path, json(json_extract(v.value, '$.v'))), "
        f"meta = json_set({META_OBJECT['sqlite']}, :path, json(json_extract(v.value, '$.m'))), "
        "updated_at = :now FROM json_each(:rows) AS v "
        "WHERE records.seq = json_extract(v.value, '$.s') "
        "AND records.updated_at = json_extract(v.value, '$.u') " + _STILL_QUEUED["sqlite"]
    ),
    "postgresql": (
        "UPDATE records SET "
        "cells = records.cells || jsonb_build_object(CAST(:f AS text), v.v), "
        f"meta = {META_OBJECT['postgresql']} || jsonb_build_object(CAST(:f AS text), v.m), "
        "updated_at = :now "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(s bigint, u bigint, v jsonb, m jsonb) "
        "WHERE records.seq = v.s AND records.updated_at = v.u " + _STILL_QUEUED["postgresql"]
    ),
}


# The same for a batch evaluated whole in JavaScript (``formulas.evaluate_rows``): items
# ``[seq, updated_at, value, meta, id]``, value and meta already JSON.
_ROWS_SQL = {
    "sqlite": (
        "UPDATE records SET cells = json_set(cells, :path, v.value -> '$[2]'), "
        f"meta = json_set({META_OBJECT['sqlite']}, :path, v.value -> '$[3]'), "
        "updated_at = :now FROM json_each(:rows) AS v "
        "WHERE records.seq = v.value ->> '$[0]' AND records.updated_at = v.value ->> '$[1]' "
        + _STILL_QUEUED["sqlite"]
    ),
    "postgresql": (
        "UPDATE records SET "
        "cells = records.cells || jsonb_build_object(CAST(:f AS text), v.x -> 2), "
        f"meta = {META_OBJECT['postgresql']} || jsonb_build_object(CAST(:f AS text), v.x -> 3), "
        "updated_at = :now FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS v(x) "
        "WHERE records.seq = CAST(v.x ->> 0 AS bigint) "
        "AND records.updated_at = CAST(v.x ->> 1 AS bigint) " + _STILL_QUEUED["postgresql"]
    ),
}


# PostgreSQL cannot tell how many rows the QUEUED condition keeps (an expression of
# ``meta``), guesses very few, and so read every row of the table after the sweep's
# position and sorted them for each batch (a seq or bitmap scan: the 100 batches of a
# 1,000,000-row fill visited ~50,000,000 rows). Along the (table_id, seq) index, in row
# order, a batch stops after its rows. Settings local to the read's transaction.
_IN_ROW_ORDER = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
)


@dataclass(slots=True)
class _Batch:
    """A batch read and evaluated: ``cells`` (with ``stamps``, each row's ``updated_at``
    as read), or ``stored``, the JSON text of the rows to store (``_ROWS_SQL``)."""

    fields: dict[str, Any]
    runnable: bool
    count: int = 0
    last: int = 0
    end: bool = True  # the read reached the column's last queued cell
    cells: list[FormulaCell] = field(default_factory=list)
    stamps: dict[int, int] = field(default_factory=dict)
    stored: str | None = None


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


def _too_big(value: Any, limit: int) -> bool:
    """Whether the value's JSON is longer than ``limit`` bytes (without encoding the short
    strings, which are most values)."""
    if isinstance(value, str) and len(value) * 6 + 2 <= limit:
        return False
    return len(dumps(value)) > limit


class Sweeper:
    """``round`` starts sweeps; ``on_news`` is called when stored cells may have queued
    other work (the formulas and actions that read them)."""

    def __init__(
        self, db: Database, settings: Settings, pool: FormulaPool, on_news: Callable[[], None]
    ) -> None:
        self.db = db
        self.settings = settings
        self.pool = pool
        self.on_news = on_news
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
            sweeps = list(
                await conn.execute(
                    select(FormulaRun.workspace_id, FormulaRun.table_id, FormulaRun.field_id)
                )
            )
        by_ws: dict[int, list[tuple[int, str, str]]] = {}
        for ws, table_id, field_id in sorted(sweeps):
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
            columns = by_ws[ws]
            last = self._swept.get(ws)
            nxt = next((c for c in columns if last is None or c > last), columns[0])
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
            sweep = (
                await conn.execute(
                    select(FormulaRun).where(
                        FormulaRun.table_id == table_id, FormulaRun.field_id == field_id
                    )
                )
            ).first()
        if sweep is None:
            return False
        position, found, whole = sweep.after_seq, False, True
        writing: asyncio.Task[None] | None = None
        try:
            for _ in range(batches):
                batch = None
                if whole:
                    batch = await self.read_whole(table_id, field_id, position, limit, sweep)
                    whole = batch is not None
                if batch is None:
                    batch = await self.read_cells(table_id, field_id, position, limit, sweep)
                if writing is not None:
                    await writing
                found |= batch.count > 0
                end = batch.end
                writing = asyncio.create_task(self.store(sweep, position, batch, end))
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

    async def read_cells(
        self, table_id: str, field_id: str, position: int, limit: int, sweep: Any
    ) -> _Batch:
        """The next batch, evaluated row by row (``evaluate``)."""
        fields, rows, raw = await self.read(
            table_id, field_id, position, limit, sweep.after_seq, sweep.fill_until
        )
        target = fields.get(field_id)
        batch = _Batch(fields, target is not None and target.type == "formula")
        if rows:
            batch.cells = await self.evaluate(target, fields, rows, raw)
            batch.stamps = {r.seq: r.updated_at for r in rows}
            batch.count, batch.last = len(rows), rows[-1].seq
        batch.end = len(rows) < limit
        return batch

    async def read_whole(
        self, table_id: str, field_id: str, position: int, limit: int, sweep: Any
    ) -> _Batch | None:
        """The next batch read as one JSON text and evaluated in one call into JavaScript,
        the rows to store coming back as one JSON text, with no work per row in Python;
        None when the formula or the batch needs ``read_cells`` (it reads an action
        column's result, its column's type converts values, or ``evaluate_rows`` says
        so)."""
        pg = not self.db.is_sqlite
        async with self.db.transaction(write=pg) as conn:  # PostgreSQL: for _IN_ROW_ORDER
            fields = {
                f.id: f for f in await conn.execute(select(Field).where(Field.table_id == table_id))
            }
            target = fields.get(field_id)
            if target is None or target.type != "formula":
                return _Batch(fields, False)
            ts = target.type_settings
            refs = evaluation.references(str(ts.get("formulaText") or ""))
            if any(getattr(fields.get(r), "type", None) == "action" for r in refs):
                return None
            if (ts.get("dataTypeSettings") or {}).get("type") in evaluation.COERCED_TYPES:
                return None
            if pg:
                await conn.execute(_IN_ROW_ORDER)
            queued = (
                select(Record.seq, Record.updated_at, Record.id, Record.cells)
                .where(
                    Record.table_id == table_id,
                    Record.seq > position,
                    run_queue.queued(field_id, sweep.after_seq, sweep.fill_until),
                )
                .order_by(Record.seq)
                .limit(limit)
                .subquery()
            )
            q = queued.c
            size = func.pg_column_size(q.cells) if pg else func.length(q.cells)
            # A batch stops at _WHOLE_BYTES of cells (JavaScript's memory is limited), but
            # takes one row at least.
            before = func.sum(size).over(order_by=q.seq) - size
            sized = select(q.seq, q.updated_at, q.id, q.cells, before.label("before")).subquery()
            c = sized.c
            taken = c.before < _WHOLE_BYTES
            if pg:
                items: Any = cast(
                    func.json_agg(
                        aggregate_order_by(
                            func.json_build_array(c.seq, c.updated_at, c.id, c.cells), c.seq
                        )
                    ).filter(taken),
                    Text,
                )
            else:
                items = func.json_group_array(
                    func.json_array(c.seq, c.updated_at, c.id, func.json(c.cells))
                ).filter(taken)
            total, count, last, rows = (
                await conn.execute(
                    select(
                        func.count(),
                        func.count().filter(taken),
                        func.max(c.seq).filter(taken),
                        items,
                    )
                )
            ).one()
        batch = _Batch(fields, True, int(count), int(last or 0), end=total < limit)
        if batch.count:
            batch.stored = await self.pool.evaluate_rows(str(ts.get("formulaText") or ""), rows)
            if batch.stored is None:
                return None
        return batch

    async def read(
        self,
        table_id: str,
        field_id: str,
        position: int,
        limit: int,
        after_seq: int | None = None,
        fill_until: int | None = None,
    ) -> tuple[dict[str, Any], list[Any], bool]:
        """The table's fields, the column's next QUEUED cells after ``position`` (none when
        the column is gone or no longer a formula), and whether their ``cells`` are the JSON
        text the database holds: so for a formula that reads no action column, as it needs
        no ``meta``."""
        pg = not self.db.is_sqlite
        async with self.db.transaction(write=pg) as conn:  # PostgreSQL: for _IN_ROW_ORDER
            fields = {
                f.id: f for f in await conn.execute(select(Field).where(Field.table_id == table_id))
            }
            target = fields.get(field_id)
            if target is None or target.type != "formula":
                return fields, [], False
            refs = evaluation.references(str(target.type_settings.get("formulaText") or ""))
            raw = all(getattr(fields.get(r), "type", None) != "action" for r in refs)
            values = (
                [cast(Record.cells, Text).label("cells")] if raw else [Record.cells, Record.meta]
            )
            if pg:
                await conn.execute(_IN_ROW_ORDER)
            rows = await conn.execute(
                select(Record.seq, Record.id, Record.updated_at, *values)
                .where(
                    Record.table_id == table_id,
                    Record.seq > position,
                    run_queue.queued(field_id, after_seq, fill_until),
                )
                .order_by(Record.seq)
                .limit(limit)
            )
            return fields, list(rows), raw

    async def store(self, sweep: Any, start: int, batch: _Batch, end: bool) -> None:
        """Stores a batch read after ``start`` and moves the sweep to just before the first
        cell still QUEUED after ``start``, or ends it (``end``: the read reached the table's
        last queued cell). A cell is stored only if its row is unchanged since it was read;
        a changed one (a new input, a run queueing it again) stays QUEUED and so is read
        again, and nothing is stored when the formula itself changed since the read. The
        sweep's row is locked first, as runs that queue cells of the column lock
        it (``runs.queue_formula``), so none slips by; its ``pending`` count says whether
        any cell can remain without scanning for one."""
        table_id, field_id = sweep.table_id, sweep.field_id
        this = (FormulaRun.table_id == table_id) & (FormulaRun.field_id == field_id)
        async with self.db.unit_of_work() as uow:
            conn = uow.conn
            await uow.write_tables([table_id])  # table, then sweep, then records
            current = (
                await conn.execute(
                    select(FormulaRun.after_seq, FormulaRun.pending, FormulaRun.fill_until)
                    .where(this)
                    .with_for_update()
                )
            ).first()
            used = batch.fields.get(field_id)
            if (
                used is not None
                and batch.count
                and used.type_settings
                != await conn.scalar(
                    select(Field.type_settings).where(
                        Field.table_id == table_id, Field.id == field_id
                    )
                )
            ):
                # The formula changed after this batch was read: its values are the old
                # formula's. The change queued the column again; its sweep computes them.
                return
            after = current.after_seq if current is not None else 0
            until = current.fill_until if current is not None else None
            cells = batch.cells
            written: int | None = None
            if batch.stored is not None:
                written = await self._write_rows(conn, field_id, batch.stored, after, until)
                if written is None:  # a value the database refuses: find it cell by cell
                    cells, batch.stamps = _decode_rows(batch.stored)
                elif _read_by_others(batch.fields, field_id):
                    cells = _decode_rows(batch.stored)[0]
            if written is None:
                written = await self._write_formulas(
                    conn, field_id, cells, batch.stamps, after, until
                )
            runnable = batch.runnable
            if current is not None:
                left = max(int(current.pending) - written, 0)
                moved: dict[str, Any] = {"pending": left}
                if not runnable or (end and left == 0):
                    finished = True
                elif current.after_seq < start:
                    finished = False  # a run moved the sweep back meanwhile: it stays there
                else:
                    nxt = await conn.scalar(
                        select(Record.seq)
                        .where(
                            Record.table_id == table_id,
                            Record.seq > start,
                            run_queue.queued(field_id, current.after_seq, until),
                        )
                        .order_by(Record.seq)
                        .limit(1)
                    )
                    finished = nxt is None
                    if nxt is not None:
                        moved["after_seq"] = nxt - 1
                if finished:
                    await conn.execute(delete(FormulaRun).where(this))
                else:
                    await conn.execute(update(FormulaRun).where(this).values(**moved))
            done = [(field_id, c.record_id) for c in cells if c.status in FINAL_OK]
            if done:
                # A new result, even an equal one, is news to the formulas that read it.
                await runs.cascade(uow, sweep.workspace_id, sweep.user_id, table_id, done)
        if done:
            self.on_news()

    async def evaluate(
        self, field: Any, fields: Mapping[str, Any], rows: Sequence[Any], raw: bool
    ) -> list[FormulaCell]:
        """The cells of a batch, evaluated in the formula worker processes."""
        formula = str(field.type_settings.get("formulaText") or "")
        results: list[Any]
        if raw:
            results = await self.pool.evaluate_many_json(formula, [r.cells for r in rows])
        else:
            values = [cell_values(fields, r.cells, r.meta) for r in rows]
            single = evaluation.single_reference(formula)
            if single is not None:
                results = [v.get(single) for v in values]
            else:
                refs = evaluation.references(formula)
                payloads = [formulas.row_json(refs, v) for v in values]
                results = await self.pool.evaluate_many_json(formula, payloads)
        out: list[FormulaCell] = []
        limit = self.settings.max_cell_bytes
        data_type = (field.type_settings.get("dataTypeSettings") or {}).get("type")
        for r, value in zip(rows, results, strict=True):
            if not isinstance(value, evaluation.FormulaError):
                value = evaluation.coerce(value, data_type)
                if _too_big(value, limit):
                    value = formulas.result_too_big(limit)
            if isinstance(value, evaluation.FormulaError):
                out.append(
                    FormulaCell(
                        r.seq, r.id, CellStatus.ERROR, None, evaluation.error_message(value)
                    )
                )
            else:
                status = (
                    CellStatus.SUCCESS_NO_DATA if evaluation.is_blank(value) else CellStatus.SUCCESS
                )
                out.append(FormulaCell(r.seq, r.id, status, value))
        return out

    async def _write_rows(
        self, conn: AsyncConnection, field_id: str, rows: str, after: int, until: int | None
    ) -> int | None:
        """Stores a batch evaluated whole (``_ROWS_SQL``); how many cells it stored, None
        when the database refused the batch."""
        dialect = conn.dialect.name
        params: dict[str, Any] = {
            "now": now_ms(),
            "rows": rows,
            "after": after,
            "until": -1 if until is None else until,
        }
        if dialect == "postgresql":
            params["f"] = field_id
        else:
            params["path"] = f'$."{field_id}"'
            params["status"] = f'$."{field_id}".status'
        try:
            async with conn.begin_nested():
                result = await conn.execute(text(_ROWS_SQL[dialect]), params)
        except DBAPIError:
            return None
        return result.rowcount or 0

    async def _write_formulas(
        self,
        conn: AsyncConnection,
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
        dialect = conn.dialect.name
        items = []
        for c in cells:
            meta = (
                {"status": c.status} if c.error is None else {"status": c.status, "error": c.error}
            )
            if dialect == "postgresql":
                items.append({"s": c.seq, "u": stamps[c.seq], "v": c.value, "m": meta})
            else:  # JSON text inside JSON: json_extract gives it back as text for json()
                items.append(
                    {"s": c.seq, "u": stamps[c.seq], "v": dumps(c.value), "m": dumps(meta)}
                )
        params = {
            "f": field_id,
            "now": now_ms(),
            "rows": dumps(items),
            "after": after,
            "until": -1 if until is None else until,
        }
        if dialect != "postgresql":
            params["path"] = f'$."{field_id}"'
            params["status"] = f'$."{field_id}".status'
        try:
            async with conn.begin_nested():
                result = await conn.execute(text(_FORMULA_SQL[dialect]), params)
            return result.rowcount or 0
        except DBAPIError:
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
