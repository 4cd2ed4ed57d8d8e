"""The run queue's SQL: cells marked QUEUED in ``records.meta``, action jobs
(``run_jobs``), formula sweeps (``formula_runs``: one per formula column with cells to
compute, walked in row order by the engine), stale marks, and the status counts
``runstatus`` reads.

A set of rows to queue is a ``Rows``: a whole table, the rows a selection names
(``select(Record.seq)…``, from ``rows_of_view``/``rows_by_ids``), or rows by id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from ....wire.cells import CellStatus
from ..models import CellStatusCount, Field, FormulaRun, Record, RunJob
from .view_rows import apply_view

QUEUED_CELL = orjson.dumps({"status": CellStatus.QUEUED}).decode()
NOWHERE = 2**62  # the position of a sweep that has nothing queued yet
PENDING_STATUSES = (
    CellStatus.QUEUED,
    CellStatus.RUNNING,
    CellStatus.RETRY,
    CellStatus.AWAITING_CALLBACK,
)

# Plain rows may hold SQL NULL or JSON null in ``meta``; both read as an empty object.
META_OBJECT = {
    "sqlite": "(CASE WHEN json_type(records.meta) = 'object' THEN records.meta ELSE '{}' END)",
    "postgresql": (
        "(CASE WHEN jsonb_typeof(records.meta) = 'object' THEN records.meta ELSE '{}'::jsonb END)"
    ),
}


def cell_status(field_id: str) -> ColumnElement[Any]:
    """SQL for the status of a row's ``field_id`` cell (NULL when it never ran)."""
    return Record.meta[(field_id, "status")].as_string()


def set_meta_expr(conn: AsyncConnection, field_id: str, cell_json: str) -> ColumnElement[Any]:
    """SQL for ``meta`` with ``meta[field_id]`` replaced by the JSON text ``cell_json``."""
    if conn.dialect.name == "postgresql":
        base: ColumnElement[Any] = literal_column(META_OBJECT["postgresql"])
        return base.op("||")(
            func.jsonb_build_object(literal(field_id, String), cast(literal(cell_json), JSONB))
        )
    return func.json_set(
        literal_column(META_OBJECT["sqlite"]),
        literal(f'$."{field_id}"', String),
        func.json(literal(cell_json, String)),
    )


def queued(field_id: str, after_seq: int | None, fill_until: int | None) -> ColumnElement[bool]:
    """SQL: the row's ``field_id`` cell is QUEUED, marked so or inside the column's fill
    (``FormulaRun.fill_until``) with no status yet."""
    status = cell_status(field_id)
    if fill_until is None or after_seq is None:
        return status == CellStatus.QUEUED
    in_fill = and_(Record.seq > after_seq, Record.seq <= fill_until, status.is_(None))
    return or_(status == CellStatus.QUEUED, in_fill)


def _insert(conn: AsyncConnection, model: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model)


# -- sets of rows --------------------------------------------------------------------------


def rows_of_view(table_id: str, view_config: dict[str, Any], limit: int | None = None) -> Any:
    """A selection: the rows a view shows, in its order (the first ``limit`` of them)."""
    stmt = apply_view(select(Record.seq), table_id, view_config)
    return stmt if limit is None else stmt.limit(limit)


def rows_by_ids(table_id: str, record_ids: Sequence[str]) -> Any:
    """A selection: the table's rows with these ids."""
    return select(Record.seq).where(Record.table_id == table_id, Record.id.in_(record_ids))


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows of one table to queue a column on: every row, the rows of a ``selection``, or
    those with these ``ids``; with ``unless_success``, rows whose cell of the column is
    SUCCESS are left out."""

    table_id: str
    selection: Select[Any] | None = None
    ids: Sequence[str] | None = None
    unless_success: bool = False

    def where(self, field_id: str) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [Record.table_id == self.table_id]
        if self.selection is not None:
            conds.append(Record.seq.in_(self.selection.scalar_subquery()))
        if self.ids is not None:
            conds.append(Record.id.in_(list(self.ids)))
        if self.unless_success:
            status = cell_status(field_id)
            conds.append(or_(status.is_(None), status != CellStatus.SUCCESS))
        return conds


async def count_selected(conn: AsyncConnection, selection: Select[Any]) -> int:
    n = await conn.scalar(
        select(func.count()).select_from(Record).where(Record.seq.in_(selection.scalar_subquery()))
    )
    return int(n or 0)


async def mark_queued(conn: AsyncConnection, rows: Rows, field_id: str) -> None:
    """Marks the column's cells of ``rows`` QUEUED."""
    await conn.execute(
        update(Record)
        .where(*rows.where(field_id))
        .values(meta=set_meta_expr(conn, field_id, QUEUED_CELL))
    )


# -- action jobs ---------------------------------------------------------------------------

_JOB_COLUMNS = [
    "key",
    "kind",
    "workspace_id",
    "table_id",
    "field_id",
    "record_id",
    "user_id",
    "attempts",
    "not_before",
    "created_at",
]


async def add_jobs_for(
    conn: AsyncConnection,
    columns: Sequence[tuple[Rows, str, str]],
    *,
    workspace_id: int,
    user_id: int | None,
    now: int,
) -> None:
    """A job per cell of each ``(rows, field id, key prefix)``, row by row and each row's
    columns in the given order: the engine claims jobs in key order, so a run of several
    columns fills rows one after another. Cells that already have a job keep it."""
    jobs = [
        select(
            (literal(prefix, String) + Record.id).label("key"),
            literal("action", String).label("kind"),
            literal(workspace_id, BigInteger).label("workspace_id"),
            literal(rows.table_id, String).label("table_id"),
            literal(fid, String).label("field_id"),
            Record.id.label("record_id"),
            literal(user_id, BigInteger).label("user_id"),
            literal(0, Integer).label("attempts"),
            literal(now, BigInteger).label("not_before"),
            literal(now, BigInteger).label("created_at"),
            Record.seq.label("seq"),
            literal(pos, Integer).label("pos"),
        ).where(*rows.where(fid))
        for pos, (rows, fid, prefix) in enumerate(columns)
    ]
    if not jobs:
        return
    every: Any = union_all(*jobs).subquery() if len(jobs) > 1 else jobs[0].subquery()
    ordered = select(*[every.c[c] for c in _JOB_COLUMNS]).order_by(every.c.seq, every.c.pos)
    await conn.execute(
        _insert(conn, RunJob).from_select(_JOB_COLUMNS, ordered).on_conflict_do_nothing()
    )


async def add_jobs(
    conn: AsyncConnection,
    keys: Sequence[str],
    cells: Sequence[tuple[str, str]],
    *,
    workspace_id: int,
    table_id: str,
    user_id: int | None,
    now: int,
) -> None:
    """A job per ``(field id, record id)`` cell, keyed by ``keys``; cells that already have
    a job keep it."""
    await conn.execute(
        _insert(conn, RunJob).on_conflict_do_nothing(),
        [
            {
                "key": keys[i],
                "kind": "action",
                "workspace_id": workspace_id,
                "table_id": table_id,
                "field_id": fid,
                "record_id": rid,
                "user_id": user_id,
                "attempts": 0,
                "not_before": now,
                "lease_until": None,
                "created_at": now,
            }
            for i, (fid, rid) in enumerate(cells)
        ],
    )


# -- formula sweeps ------------------------------------------------------------------------


# Built once (every read of rows asks), inline on SQLite: a table has a sweep per column.
_FILLS = (
    select(FormulaRun.field_id, FormulaRun.after_seq, FormulaRun.fill_until)
    .where(FormulaRun.table_id == bindparam("table_id"), FormulaRun.fill_until.is_not(None))
    .execution_options(sqlite_inline=True)
)


async def fills(conn: AsyncConnection, table_id: str) -> list[tuple[str, int, int]]:
    """The table's formula fills: ``(field id, after_seq, fill_until)``, whose cells without
    a status read as QUEUED (see ``queued``)."""
    rows = await conn.execute(_FILLS, {"table_id": table_id})
    return [(r.field_id, int(r.after_seq), int(r.fill_until)) for r in rows]


@functools.cache
def _open_sweep(dialect: str) -> Any:
    """``open_sweep``'s one statement for a dialect: the upsert answers with the row."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(FormulaRun).values(
        table_id=bindparam("t"),
        field_id=bindparam("f"),
        workspace_id=bindparam("ws"),
        user_id=bindparam("u"),
        after_seq=NOWHERE,
        pending=0,
        updated_at=bindparam("now"),
    )
    return (
        ins.on_conflict_do_update(
            index_elements=[FormulaRun.table_id, FormulaRun.field_id],
            set_={"user_id": ins.excluded.user_id, "updated_at": ins.excluded.updated_at},
        )
        .returning(FormulaRun.after_seq, FormulaRun.fill_until)
        .execution_options(sqlite_inline=True)
    )


async def open_sweep(
    conn: AsyncConnection,
    table_id: str,
    field_id: str,
    workspace_id: int,
    user_id: int | None,
    now: int,
) -> tuple[int, int | None]:
    """Locks the column's sweep, made (at ``NOWHERE``) if there is none; its ``(after_seq,
    fill_until)``."""
    params = {"t": table_id, "f": field_id, "ws": workspace_id, "u": user_id, "now": now}
    current = (await conn.execute(_open_sweep(conn.dialect.name), params)).one()
    until = current.fill_until
    return int(current.after_seq), None if until is None else int(until)


async def seq_bounds(conn: AsyncConnection, table_id: str) -> tuple[int, int] | None:
    """The first and last ``seq`` of the table's rows (None: it has none)."""
    first, last = (
        await conn.execute(
            select(func.min(Record.seq), func.max(Record.seq)).where(Record.table_id == table_id)
        )
    ).one()
    return None if first is None else (int(first), int(last))


async def count_unrun(
    conn: AsyncConnection, table_id: str, field_id: str, after: int, until: int
) -> int:
    """Rows with ``after < seq <= until`` whose cell of the column has no status."""
    if until <= after:
        return 0
    n = await conn.scalar(
        select(func.count())
        .select_from(Record)
        .where(
            Record.table_id == table_id,
            Record.seq > after,
            Record.seq <= until,
            cell_status(field_id).is_(None),
        )
    )
    return int(n or 0)


def _bound_status() -> ColumnElement[Any]:
    """``cell_status`` with the cell's path bound by name: ``status_path``, the pair
    ``(field id, "status")``; the same SQL."""
    meta = Record.__table__.c.meta
    path = bindparam("status_path", type_=JSON.JSONPathType())
    return BinaryExpression(meta, path, operators.json_path_getitem_op, type_=meta.type).as_string()


@functools.cache
def _mark_rows_by_id(dialect: str, variant: str) -> Any:
    """``mark_formula_queued``'s statement for rows by id (new rows, the common case), built
    once per dialect and ``variant``: ``with_status``, ``no_fill`` or ``fill``."""
    status = _bound_status()
    not_queued = and_(status.is_not(None), status != CellStatus.QUEUED)
    unmarked = not_queued
    if variant == "no_fill":
        unmarked = or_(status.is_(None), not_queued)
    elif variant == "fill":
        outside = or_(Record.seq <= bindparam("after"), Record.seq > bindparam("until"))
        unmarked = or_(and_(status.is_(None), outside), not_queued)
    key, cell = bindparam("meta_key", type_=String), bindparam("cell", type_=String)
    meta: ColumnElement[Any]
    if dialect == "postgresql":
        base: ColumnElement[Any] = literal_column(META_OBJECT["postgresql"])
        meta = base.op("||")(func.jsonb_build_object(key, cast(cell, JSONB)))
    else:
        meta = func.json_set(literal_column(META_OBJECT["sqlite"]), key, func.json(cell))
    by_id = (Record.table_id == bindparam("t"), Record.id.in_(bindparam("ids", expanding=True)))
    return update(Record).where(*by_id, unmarked).values(meta=meta).returning(Record.seq)


async def mark_formula_queued(
    conn: AsyncConnection,
    rows: Rows,
    field_id: str,
    after: int,
    until: int | None,
    *,
    only_with_status: bool,
) -> list[int]:
    """Marks the formula cells of ``rows`` QUEUED that are not queued yet (by their mark, or
    as cells without a status inside the sweep's fill ``after < seq <= until``); with
    ``only_with_status``, only cells that have a status. Returns their ``seq``s."""
    dialect = conn.dialect.name
    if rows.selection is None and rows.ids is not None and not rows.unless_success:
        variant = "with_status" if only_with_status else "no_fill" if until is None else "fill"
        params: dict[str, Any] = {
            "t": rows.table_id,
            "ids": list(rows.ids),
            "status_path": (field_id, "status"),
            "meta_key": field_id if dialect == "postgresql" else f'$."{field_id}"',
            "cell": QUEUED_CELL,
        }
        if variant == "fill":
            params.update(after=after, until=until)
        return list(await conn.scalars(_mark_rows_by_id(dialect, variant), params))
    status = cell_status(field_id)
    # Cells inside the fill are queued already: marked again, they would be counted twice.
    not_queued = and_(status.is_not(None), status != CellStatus.QUEUED)
    if only_with_status:
        unmarked = not_queued
    elif until is None:
        unmarked = or_(status.is_(None), not_queued)
    else:
        outside = or_(Record.seq <= after, Record.seq > until)
        unmarked = or_(and_(status.is_(None), outside), not_queued)
    marked = await conn.scalars(
        update(Record)
        .where(*rows.where(field_id), unmarked)
        .values(meta=set_meta_expr(conn, field_id, QUEUED_CELL))
        .returning(Record.seq)
    )
    return list(marked)


_THE_SWEEP = (FormulaRun.table_id == bindparam("t")) & (FormulaRun.field_id == bindparam("f"))
_DROP_EMPTY_SWEEP = (
    delete(FormulaRun)
    .where(_THE_SWEEP, FormulaRun.after_seq == NOWHERE)
    .execution_options(sqlite_inline=True)
)
_WIDEN_SWEEP = (
    update(FormulaRun)
    .where(_THE_SWEEP)
    .values(
        after_seq=case(
            (FormulaRun.after_seq > bindparam("start"), bindparam("start")),
            else_=FormulaRun.after_seq,
        ),
        pending=FormulaRun.pending + bindparam("added"),
    )
    .execution_options(sqlite_inline=True)
)
_WIDEN_FILL = _WIDEN_SWEEP.values(fill_until=bindparam("fill_until"))


async def drop_empty_sweep(conn: AsyncConnection, table_id: str, field_id: str) -> None:
    """Removes the column's sweep if ``open_sweep`` just made it and nothing was queued."""
    await conn.execute(_DROP_EMPTY_SWEEP, {"t": table_id, "f": field_id})


async def widen_sweep(
    conn: AsyncConnection,
    table_id: str,
    field_id: str,
    *,
    start: int,
    added: int,
    fill_until: int | None,
) -> None:
    """Moves the sweep back to ``start`` (if it is further on), counts ``added`` more
    pending cells and, given ``fill_until``, sets the fill's end."""
    params = {"t": table_id, "f": field_id, "start": start, "added": added}
    if fill_until is None:
        await conn.execute(_WIDEN_SWEEP, params)
    else:
        await conn.execute(_WIDEN_FILL, {**params, "fill_until": fill_until})


# -- stale marks ---------------------------------------------------------------------------

_STALE_SQL = {
    "sqlite": (
        f"UPDATE records SET meta = json_set({META_OBJECT['sqlite']}, :path, "
        "json_patch(COALESCE(json_extract(records.meta, :path), '{}'), :stale)) "
        "WHERE table_id = :t"
    ),
    "postgresql": (
        f"UPDATE records SET meta = {META_OBJECT['postgresql']} || jsonb_build_object("
        "CAST(:f AS text), COALESCE(records.meta -> CAST(:f AS text), '{}'::jsonb) "
        "|| CAST(:stale AS jsonb)) WHERE table_id = :t"
    ),
}


async def mark_stale(
    conn: AsyncConnection,
    table_id: str,
    field_id: str,
    record_ids: Sequence[str] | None,
    stale: dict[str, Any],
) -> None:
    """Merges ``stale`` into the metadata of the column's cells (of these rows, or all)."""
    dialect = conn.dialect.name
    params: dict[str, Any] = {"t": table_id, "stale": orjson.dumps(stale).decode()}
    if dialect == "postgresql":
        params["f"] = field_id
    else:
        params["path"] = f'$."{field_id}"'
    sql = _STALE_SQL[dialect]
    stmt = text(sql)
    if record_ids is not None:
        stmt = text(sql + " AND records.id IN :ids").bindparams(bindparam("ids", expanding=True))
        params["ids"] = list(record_ids)
    await conn.execute(stmt, params)


# -- progress ------------------------------------------------------------------------------


def _status_counts(runnable_types: Sequence[str]) -> Any:
    """One statement (one snapshot, so a cell that finishes meanwhile is counted once, and
    one round trip): the table's action and formula fields in their order, each with its
    pending counts from the job queue and the formula sweeps and its final ones from the
    counts the triggers keep beside the rows (storage/counters.py), a few rows per field."""
    table_id = bindparam("t", type_=String)
    c = CellStatusCount
    finals = (
        select(c.field_id, c.status, func.sum(c.n).label("n"))
        .where(c.table_id == table_id, c.status.not_in(PENDING_STATUSES))
        .group_by(c.field_id, c.status)
    )
    status = case(
        (RunJob.lease_until.is_not(None), CellStatus.RUNNING),
        (RunJob.not_before > bindparam("now", type_=BigInteger), CellStatus.RETRY),
        else_=CellStatus.QUEUED,
    )
    jobs = (
        select(RunJob.field_id, status.label("status"), func.count().label("n"))
        .where(RunJob.table_id == table_id)
        .group_by(RunJob.field_id, status)
    )
    sweeps = select(
        FormulaRun.field_id, literal("QUEUED", String).label("status"), FormulaRun.pending
    ).where(FormulaRun.table_id == table_id, FormulaRun.pending > 0)
    counts = union_all(finals, jobs, sweeps).subquery()
    return (
        select(Field.id, counts.c.status, counts.c.n)
        .join(counts, counts.c.field_id == Field.id)
        .where(Field.table_id == table_id, Field.type.in_(runnable_types))
        .order_by(Field.position, Field.id)
    )


_STATUS_COUNTS: dict[tuple[str, ...], Any] = {}  # built once per set of types: it is polled


async def status_counts(
    conn: AsyncConnection, table_id: str, runnable_types: Sequence[str], now: int
) -> list[tuple[str, str, int]]:
    """``(field id, status, count)`` of the table's fields of ``runnable_types``, in the
    fields' order: pending counts from the job queue and the sweeps, final ones from the
    per-field counts."""
    key = tuple(runnable_types)
    stmt = _STATUS_COUNTS.get(key)
    if stmt is None:
        stmt = _STATUS_COUNTS[key] = _status_counts(key)
    rows = await conn.execute(stmt, {"t": table_id, "now": now})
    return [(fid, st, int(n or 0)) for fid, st, n in rows]
