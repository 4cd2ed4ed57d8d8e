"""Formula sweeps (``formula_runs``) as the engine walks them: the sweeps to start, a
batch of a column's QUEUED cells read in row order (as rows, or as one JSON text to be
evaluated whole), and a batch's values stored with one statement, only in rows unchanged
since the read and still QUEUED, in the transaction that moves the sweep on.

The statements that store values run in a savepoint: a value the database refuses (NUL in
text on PostgreSQL) raises ``Refused`` with the transaction still usable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Select, Text, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Field, FormulaRun, Record
from . import run_queue
from .run_queue import META_OBJECT


class Refused(Exception):
    """The database refused a batch's values (the cause: its error); nothing was stored."""


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
# order, a batch stops after its rows. Settings local to the read's transaction, which so
# must be one (``Database.transaction(write=True)`` on PostgreSQL).
_IN_ROW_ORDER = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
)


def _sweep(table_id: str, field_id: str) -> Any:
    return (FormulaRun.table_id == table_id) & (FormulaRun.field_id == field_id)


# -- choosing a sweep ------------------------------------------------------------------------


async def all_columns(conn: AsyncConnection) -> list[Any]:
    """``(workspace id, table id, field id)`` of every sweep."""
    return list(
        await conn.execute(
            select(FormulaRun.workspace_id, FormulaRun.table_id, FormulaRun.field_id)
        )
    )


async def get(conn: AsyncConnection, table_id: str, field_id: str) -> Any:
    """The column's sweep (every column), or None."""
    return (
        await conn.execute(
            select(FormulaRun).where(
                FormulaRun.table_id == table_id, FormulaRun.field_id == field_id
            )
        )
    ).first()


# -- reading a batch -------------------------------------------------------------------------


async def queued_rows(
    conn: AsyncConnection,
    table_id: str,
    field_id: str,
    position: int,
    limit: int,
    after_seq: int | None,
    fill_until: int | None,
    *,
    raw: bool,
) -> list[Any]:
    """The first ``limit`` rows after ``position`` whose cell of the column is QUEUED
    (``after_seq`` and ``fill_until``: the sweep's fill), in row order: ``seq``, ``id``,
    ``updated_at`` and ``cells`` (``raw``: as the JSON text the database holds; else parsed,
    with ``meta``)."""
    values = [cast(Record.cells, Text).label("cells")] if raw else [Record.cells, Record.meta]
    if conn.dialect.name == "postgresql":
        await conn.execute(_IN_ROW_ORDER)
    columns = (Record.seq, Record.id, Record.updated_at, *values)
    query = _queued(columns, table_id, field_id, position, limit, after_seq, fill_until)
    return list(await conn.execute(query))


def _queued(
    columns: Sequence[Any],
    table_id: str,
    field_id: str,
    position: int,
    limit: int,
    after_seq: int | None,
    fill_until: int | None,
) -> Select[Any]:
    """``columns`` of the first ``limit`` rows after ``position`` whose cell of the column
    is QUEUED, in row order."""
    return (
        select(*columns)
        .where(
            Record.table_id == table_id,
            Record.seq > position,
            run_queue.queued(field_id, after_seq, fill_until),
        )
        .order_by(Record.seq)
        .limit(limit)
    )


async def queued_rows_json(
    conn: AsyncConnection,
    table_id: str,
    field_id: str,
    position: int,
    limit: int,
    after_seq: int | None,
    fill_until: int | None,
    *,
    max_bytes: int,
) -> tuple[int, int, int | None, Any]:
    """``queued_rows`` as one JSON text of ``[seq, updated_at, id, cells]`` items, taking
    rows while their ``cells`` before them come to less than ``max_bytes`` (so one row at
    least): ``(rows read, rows taken, last seq taken, the JSON text)``."""
    pg = conn.dialect.name == "postgresql"
    if pg:
        await conn.execute(_IN_ROW_ORDER)
    columns = (Record.seq, Record.updated_at, Record.id, Record.cells)
    queued = _queued(columns, table_id, field_id, position, limit, after_seq, fill_until).subquery()
    q = queued.c
    size = func.pg_column_size(q.cells) if pg else func.length(q.cells)
    before = func.sum(size).over(order_by=q.seq) - size
    sized = select(q.seq, q.updated_at, q.id, q.cells, before.label("before")).subquery()
    c = sized.c
    taken = c.before < max_bytes
    if pg:
        items: Any = cast(
            func.json_agg(
                aggregate_order_by(func.json_build_array(c.seq, c.updated_at, c.id, c.cells), c.seq)
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
    return total, count, last, rows


# -- storing a batch -------------------------------------------------------------------------


async def lock(conn: AsyncConnection, table_id: str, field_id: str) -> Any:
    """Locks the column's sweep; its ``after_seq``, ``pending`` and ``fill_until``, or
    None when it is gone."""
    return (
        await conn.execute(
            select(FormulaRun.after_seq, FormulaRun.pending, FormulaRun.fill_until)
            .where(_sweep(table_id, field_id))
            .with_for_update()
        )
    ).first()


async def formula_settings(conn: AsyncConnection, table_id: str, field_id: str) -> Any:
    """The column's ``type_settings`` now (None: it is gone)."""
    return await conn.scalar(
        select(Field.type_settings).where(Field.table_id == table_id, Field.id == field_id)
    )


async def next_queued_seq(
    conn: AsyncConnection, table_id: str, field_id: str, start: int, after_seq: int, until: Any
) -> int | None:
    """The ``seq`` of the first row after ``start`` whose cell of the column is QUEUED."""
    return await conn.scalar(
        select(Record.seq)
        .where(
            Record.table_id == table_id,
            Record.seq > start,
            run_queue.queued(field_id, after_seq, until),
        )
        .order_by(Record.seq)
        .limit(1)
    )


async def finish(conn: AsyncConnection, table_id: str, field_id: str) -> None:
    """Deletes the column's sweep: nothing is left to do."""
    await conn.execute(delete(FormulaRun).where(_sweep(table_id, field_id)))


async def move(conn: AsyncConnection, table_id: str, field_id: str, **values: Any) -> None:
    """Updates the column's sweep (``pending``, ``after_seq``)."""
    await conn.execute(update(FormulaRun).where(_sweep(table_id, field_id)).values(**values))


def _params(dialect: str, field_id: str, now: int, rows: str, after: int, until: int | None) -> Any:
    params: dict[str, Any] = {
        "now": now,
        "rows": rows,
        "after": after,
        "until": -1 if until is None else until,
    }
    if dialect == "postgresql":
        params["f"] = field_id
    else:
        params["path"] = f'$."{field_id}"'
        params["status"] = f'$."{field_id}".status'
    return params


async def _store(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> int:
    try:
        async with conn.begin_nested():
            result = await conn.execute(text(sql), params)
    except DBAPIError as exc:
        raise Refused from exc
    return result.rowcount or 0


async def store_rows(
    conn: AsyncConnection,
    field_id: str,
    rows: str,
    after: int,
    until: int | None,
    now: int,
) -> int:
    """Stores a batch evaluated whole (``_ROWS_SQL``: ``rows`` is its JSON text) in rows
    still QUEUED (``after``, ``until``: the sweep's fill); how many cells it stored."""
    dialect = conn.dialect.name
    return await _store(
        conn, _ROWS_SQL[dialect], _params(dialect, field_id, now, rows, after, until)
    )


async def store_cells(
    conn: AsyncConnection,
    field_id: str,
    cells: Sequence[Any],
    stamps: Mapping[int, int],
    after: int,
    until: int | None,
    now: int,
) -> int:
    """Stores the ``cells`` (``seq``, ``status``, ``value``, ``error``) whose rows still
    have the ``updated_at`` they were read with (``stamps``, by seq) and are still QUEUED
    (``after``, ``until``: the sweep's fill); how many it stored."""
    dialect = conn.dialect.name
    items = []
    for c in cells:
        meta = {"status": c.status} if c.error is None else {"status": c.status, "error": c.error}
        if dialect == "postgresql":
            items.append({"s": c.seq, "u": stamps[c.seq], "v": c.value, "m": meta})
        else:  # JSON text inside JSON: json_extract gives it back as text for json()
            items.append({"s": c.seq, "u": stamps[c.seq], "v": _dumps(c.value), "m": _dumps(meta)})
    params = _params(dialect, field_id, now, _dumps(items), after, until)
    return await _store(conn, _FORMULA_SQL[dialect], params)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
