"""Starting enrichment runs and reading their progress.

A run marks its cells QUEUED and, in the same transaction, records the work: a ``run_jobs``
row per action cell, and for a formula column one ``formula_runs`` row that the engine's
sweep walks in row order. The engine's workers (``server/engine/``) do the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import (
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

from ...wire import RunStarted, RunStatus
from ...wire.cells import CellStatus
from ..enrichment import evaluation
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id, new_ids
from ..storage.models import CellStatusCount, Field, FormulaRun, Record, RunJob, Table
from ..storage.uow import UnitOfWork
from . import tables as tables_svc
from . import views as views_svc
from .common import now_ms
from .fields import RUNNABLE_TYPES
from .tables import TableRef

QUEUED_CELL = orjson.dumps({"status": CellStatus.QUEUED}).decode()
_NOWHERE = 2**62  # the position of a sweep that has nothing queued yet
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


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


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


def _insert(conn: AsyncConnection, model: Any = RunJob) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model)


def queued(field_id: str, after_seq: int | None, fill_until: int | None) -> ColumnElement[bool]:
    """SQL: the row's ``field_id`` cell is QUEUED, marked so or inside the column's fill
    (``FormulaRun.fill_until``) with no status yet."""
    status = cell_status(field_id)
    if fill_until is None or after_seq is None:
        return status == CellStatus.QUEUED
    in_fill = and_(Record.seq > after_seq, Record.seq <= fill_until, status.is_(None))
    return or_(status == CellStatus.QUEUED, in_fill)


async def fills(conn: AsyncConnection, table_id: str) -> list[tuple[str, int, int]]:
    """The table's formula fills: ``(field id, after_seq, fill_until)``, whose cells without
    a status read as QUEUED (see ``queued``)."""
    rows = await conn.execute(
        select(FormulaRun.field_id, FormulaRun.after_seq, FormulaRun.fill_until).where(
            FormulaRun.table_id == table_id, FormulaRun.fill_until.is_not(None)
        )
    )
    return [(r.field_id, int(r.after_seq), int(r.fill_until)) for r in rows]


async def _count_unrun(
    conn: AsyncConnection, table_id: str, field_id: str, after: int, until: int
) -> int:
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


async def _queue_formula(
    uow: UnitOfWork,
    workspace_id: int,
    user_id: int | None,
    table_id: str,
    field_id: str,
    where: Sequence[Sequence[ColumnElement[bool]]],
    *,
    fill: bool = False,
) -> None:
    """Marks the formula cells that each ``where`` selects QUEUED (those not queued yet)
    and starts or widens the column's sweep so that it reaches them. A ``fill`` queues
    every row of the table: the cells with no status through the sweep's range
    (``fill_until``), without writing their rows; only cells that have a status are
    marked."""
    # The sweep's row before the records' (and after the table's, which the caller holds):
    # a sweep storing cells of this column takes them in that order too, so on PostgreSQL
    # the two wait for each other instead of deadlocking.
    uow.declared(table_id)
    uow.jobs_queued()
    conn = uow.conn
    this = (FormulaRun.table_id == table_id) & (FormulaRun.field_id == field_id)
    ins = _insert(conn, FormulaRun).values(
        table_id=table_id,
        field_id=field_id,
        workspace_id=workspace_id,
        user_id=user_id,
        after_seq=_NOWHERE,
        pending=0,
        updated_at=now_ms(),
    )
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=[FormulaRun.table_id, FormulaRun.field_id],
            set_={"user_id": ins.excluded.user_id, "updated_at": ins.excluded.updated_at},
        )
    )
    current = (
        await conn.execute(select(FormulaRun.after_seq, FormulaRun.fill_until).where(this))
    ).one()
    after, until = int(current.after_seq), current.fill_until
    status = cell_status(field_id)
    # Cells inside the fill are queued already: marked again, they would be counted twice.
    not_queued = and_(status.is_not(None), status != CellStatus.QUEUED)
    if until is None:
        unmarked = or_(status.is_(None), not_queued)
    else:
        outside = or_(Record.seq <= after, Record.seq > until)
        unmarked = or_(and_(status.is_(None), outside), not_queued)
    added = 0
    values: dict[str, Any] = {}
    start = after
    if fill:
        bounds = (
            await conn.execute(
                select(func.min(Record.seq), func.max(Record.seq)).where(
                    Record.table_id == table_id
                )
            )
        ).one()
        if bounds[0] is not None:
            first, last = int(bounds[0]), int(bounds[1])
            start = min(start, first - 1)
            new_until = last if until is None else max(int(until), last)
            # Exact whatever the fill held before: its unrun cells were counted then.
            added = await _count_unrun(conn, table_id, field_id, start, new_until)
            if until is not None:
                added -= await _count_unrun(conn, table_id, field_id, after, int(until))
            until = new_until
            values["fill_until"] = new_until
            unmarked = not_queued
    seqs: list[int] = []
    for conds in where:
        marked = await conn.scalars(
            update(Record)
            .where(*conds, unmarked)
            .values(meta=set_meta_expr(conn, field_id, QUEUED_CELL))
            .returning(Record.seq)
        )
        seqs += marked
    if seqs:
        start = min(start, min(seqs) - 1)
    if not fill and until is not None and start < after:
        # Moved back, the fill's range takes in rows the sweep had passed: any without a
        # status (none, as a rule) are queued now too.
        added += await _count_unrun(conn, table_id, field_id, start, min(after, int(until)))
    if not seqs and not added and "fill_until" not in values:
        await conn.execute(delete(FormulaRun).where(this, FormulaRun.after_seq == _NOWHERE))
        return
    await conn.execute(
        update(FormulaRun)
        .where(this)
        .values(
            after_seq=case((FormulaRun.after_seq > start, start), else_=FormulaRun.after_seq),
            pending=FormulaRun.pending + len(seqs) + added,
            **values,
        )
    )


# -- what to run ---------------------------------------------------------------------------


async def _runnable_fields(conn: AsyncConnection, table_id: str, field_ids: Any) -> dict[str, str]:
    if field_ids is None:
        raise _bad('Field "fieldIds" - Required')
    if not isinstance(field_ids, list) or not all(isinstance(f, str) for f in field_ids):
        raise _bad('Field "fieldIds" - expected a list of field ids')
    if not field_ids:
        raise _bad('Field "fieldIds" - must not be empty')
    types = await tables_svc.field_ids(conn, table_id)
    out: dict[str, str] = {}
    for fid in dict.fromkeys(field_ids):
        if fid not in types:
            raise NotFound(f"Field not found: {fid}")
        if types[fid] in RUNNABLE_TYPES:  # others (source, text…) are a no-op (§4.4)
            out[fid] = types[fid]
    return out


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f'Field "{name}" - expected a non-negative integer')
    return value


async def _selection(conn: AsyncConnection, table: TableRef, run_records: Any) -> Select[Any]:
    """``select(Record.seq)`` of the rows a ``runRecords`` body names."""
    if run_records is None:
        raise _bad('Field "runRecords" - Required')
    if not isinstance(run_records, dict):
        raise _bad('Field "runRecords" - expected an object')
    if "viewIdTopRecords" in run_records:
        top = run_records["viewIdTopRecords"]
        if not isinstance(top, dict) or not isinstance(top.get("viewId"), str):
            raise _bad('Field "runRecords.viewIdTopRecords.viewId" - Required')
        config = await tables_svc.view_config(conn, table.id, top["viewId"])
        stmt = views_svc.apply_view(select(Record.seq), table.id, config)
        n = _count(top.get("numRecords"), "runRecords.viewIdTopRecords.numRecords")
        if n is not None:
            limit = config.get("limit")
            stmt = stmt.limit(n if limit is None else min(n, limit))
        return stmt
    if "recordIds" in run_records:
        ids = run_records["recordIds"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _bad('Field "runRecords.recordIds" - expected a list of record ids')
        other = run_records.get("tableId")
        if other is not None and other != table.id:
            raise _bad('Field "runRecords.tableId" - does not match the table in the URL')
        return select(Record.seq).where(Record.table_id == table.id, Record.id.in_(ids))
    if "viewId" in run_records:
        if not isinstance(run_records["viewId"], str):
            raise _bad('Field "runRecords.viewId" - expected a view id')
        config = await tables_svc.view_config(conn, table.id, run_records["viewId"])
        return views_svc.apply_view(select(Record.seq), table.id, config)
    raise _bad('Field "runRecords" - expected viewIdTopRecords, viewId or recordIds')


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


async def start_run(
    uow: UnitOfWork,
    table: TableRef,
    *,
    field_ids: Any,
    run_records: Any,
    force: bool = False,
) -> RunStarted:
    """Queues ``field_ids`` for the rows ``run_records`` names. Cells already SUCCESS are
    kept unless ``force``; a cell that is already queued or running keeps its job."""
    conn = uow.conn
    selection = await _selection(conn, table, run_records)
    fields = await _runnable_fields(conn, table.id, field_ids)
    seqs = selection.scalar_subquery()
    count = await conn.scalar(select(func.count()).select_from(Record).where(Record.seq.in_(seqs)))
    await uow.write_tables([table.id])  # the table's row before the records'
    now = now_ms()
    scope = table.scope
    jobs: list[Any] = []  # one SELECT of job rows per action column
    for fid, ftype in fields.items():
        conds: list[ColumnElement[bool]] = [Record.table_id == table.id, Record.seq.in_(seqs)]
        if not force:
            status = cell_status(fid)
            conds.append(or_(status.is_(None), status != CellStatus.SUCCESS))
        if ftype == "formula":
            await _queue_formula(
                uow, scope.workspace_id, scope.actor.user_id, table.id, fid, [conds]
            )
            continue
        token = new_id("rj") + ":"
        jobs.append(
            select(
                (literal(token, String) + Record.id).label("key"),
                literal("action", String).label("kind"),
                literal(scope.workspace_id, BigInteger).label("workspace_id"),
                literal(table.id, String).label("table_id"),
                literal(fid, String).label("field_id"),
                Record.id.label("record_id"),
                literal(scope.actor.user_id, BigInteger).label("user_id"),
                literal(0, Integer).label("attempts"),
                literal(now, BigInteger).label("not_before"),
                literal(now, BigInteger).label("created_at"),
                Record.seq.label("seq"),
                literal(len(jobs), Integer).label("pos"),
            ).where(*conds)
        )
        await conn.execute(
            update(Record).where(*conds).values(meta=set_meta_expr(conn, fid, QUEUED_CELL))
        )
    if jobs:
        uow.jobs_queued()
        # Row by row, each row's columns in the request's order: the engine claims jobs in
        # id order, so a run of several columns fills rows one after another.
        every: Any = union_all(*jobs).subquery() if len(jobs) > 1 else jobs[0].subquery()
        ordered = select(*[every.c[c] for c in _JOB_COLUMNS]).order_by(every.c.seq, every.c.pos)
        await conn.execute(
            _insert(conn).from_select(_JOB_COLUMNS, ordered).on_conflict_do_nothing()
        )
    return RunStarted.build(recordCount=int(count or 0), runMode="INDIVIDUAL")


async def enqueue_rows(
    uow: UnitOfWork,
    workspace_id: int,
    user_id: int | None,
    table_id: str,
    field_kind: dict[str, str],
    pairs: Sequence[tuple[str, str]],
) -> None:
    """Queues explicit (field id, record id) pairs, e.g. for rows just added."""
    conn = uow.conn
    by_field: dict[str, list[str]] = {}
    for fid, rid in pairs:
        by_field.setdefault(fid, []).append(rid)
    actions = [(fid, rid) for fid, rid in pairs if field_kind[fid] == "action"]
    if pairs:
        await uow.write_tables([table_id])
    for fid, rids in by_field.items():
        chunks = [
            [Record.table_id == table_id, Record.id.in_(rids[start : start + 1000])]
            for start in range(0, len(rids), 1000)
        ]
        if field_kind[fid] == "formula":
            await _queue_formula(uow, workspace_id, user_id, table_id, fid, chunks)
            continue
        for conds in chunks:
            await conn.execute(
                update(Record).where(*conds).values(meta=set_meta_expr(conn, fid, QUEUED_CELL))
            )
    if not actions:
        return
    uow.jobs_queued()
    now = now_ms()
    keys = new_ids("rj", len(actions))
    await conn.execute(
        _insert(conn).on_conflict_do_nothing(),
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
            for i, (fid, rid) in enumerate(actions)
        ],
    )


async def auto_run(
    uow: UnitOfWork,
    table: TableRef,
    rows: Iterable[dict[str, Any]],
    *,
    actions: bool = True,
) -> None:
    """Queues the table's action and formula fields (formula fields only, without
    ``actions``) for new rows whose referenced inputs are all present, when the table's
    ``AUTO_RUN_ON`` is on."""
    if not (table.row.settings or {}).get("AUTO_RUN_ON", True):
        return
    conn = uow.conn
    types = RUNNABLE_TYPES if actions else ("formula",)
    fields = [
        f
        for f in await conn.execute(
            select(Field.id, Field.type, Field.type_settings).where(
                Field.table_id == table.id, Field.type.in_(types)
            )
        )
        if f.type != "formula" or f.type_settings.get("formulaText")  # empty: nothing to do
    ]
    if not fields:
        return
    kinds = {f.id: ("formula" if f.type == "formula" else "action") for f in fields}
    refs = {f.id: tables_svc.input_field_ids(f.type_settings) for f in fields}
    pairs: list[tuple[str, str]] = []
    for row in rows:
        cells = row["cells"]
        for f in fields:
            if all(not evaluation.is_blank(cells.get(r)) for r in refs[f.id]):
                pairs.append((f.id, row["id"]))
    scope = table.scope
    await enqueue_rows(uow, scope.workspace_id, scope.actor.user_id, table.id, kinds, pairs)


async def cascade(
    uow: UnitOfWork,
    workspace_id: int,
    user_id: int | None,
    table_id: str,
    done: Sequence[tuple[str, str]],
) -> None:
    """Auto-run downstream: once (field, record) cells get a new value, queues the table's
    action and formula fields that read them and have never run on that row, when all
    their inputs are now present, and queues again the formula fields that have run (a
    formula follows its inputs) unless the changed field itself reads that formula through
    other formulas: "never run" and that check keep a cycle of fields from looping."""
    conn = uow.conn
    settings = await conn.scalar(select(Table.settings).where(Table.id == table_id))
    if not (settings or {}).get("AUTO_RUN_ON", True):
        await _mark_stale_readers(uow, table_id, done)
        return
    fields = list(
        await conn.execute(
            select(Field.id, Field.type, Field.type_settings).where(
                Field.table_id == table_id, Field.type.in_(RUNNABLE_TYPES)
            )
        )
    )
    refs = {f.id: tables_svc.input_field_ids(f.type_settings) for f in fields}
    readers: dict[str, list[str]] = {}
    for f in fields:
        for r in refs[f.id]:
            readers.setdefault(r, []).append(f.id)
    wanted = [(fid, rid) for fid, rid in done if fid in readers]
    if not wanted:
        return
    kinds = {f.id: ("formula" if f.type == "formula" else "action") for f in fields}
    types = {f.id: f.type for f in fields}
    upstream = _formula_upstream(types, refs)
    rids = list(dict.fromkeys(rid for _, rid in wanted))
    rows: dict[str, Any] = {}
    for start in range(0, len(rids), 1000):
        for found in await conn.execute(
            select(Record.id, Record.cells, Record.meta).where(
                Record.table_id == table_id, Record.id.in_(rids[start : start + 1000])
            )
        ):
            rows[found.id] = found
    pairs: set[tuple[str, str]] = set()
    for fid, rid in wanted:
        row = rows.get(rid)
        if row is None:
            continue
        meta = row.meta if isinstance(row.meta, dict) else {}
        values = dict(row.cells)
        for ref, cell in meta.items():
            if types.get(ref) == "action" and isinstance(cell, dict) and "fullValue" in cell:
                values[ref] = cell["fullValue"]
        for reader in readers[fid]:
            if reader not in meta:
                if all(not evaluation.is_blank(values.get(r)) for r in refs[reader]):
                    pairs.add((reader, rid))
            elif types[reader] == "formula" and reader not in upstream.get(fid, ()):
                pairs.add((reader, rid))
    await enqueue_rows(uow, workspace_id, user_id, table_id, kinds, sorted(pairs))


def _formula_upstream(types: dict[str, str], refs: dict[str, list[str]]) -> dict[str, set[str]]:
    """For each formula field, the formula fields it reads directly or through others."""
    out: dict[str, set[str]] = {}
    for fid, kind in types.items():
        if kind != "formula":
            continue
        seen: set[str] = set()
        todo = [fid]
        while todo:
            for r in refs.get(todo.pop(), ()):
                if types.get(r) == "formula" and r not in seen:
                    seen.add(r)
                    todo.append(r)
        out[fid] = seen
    return out


# -- progress ------------------------------------------------------------------------------


def _status_counts() -> Any:
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
        .where(Field.table_id == table_id, Field.type.in_(RUNNABLE_TYPES))
        .order_by(Field.position, Field.id)
    )


# Built once: ``runstatus`` is polled.
_STATUS_COUNTS = _status_counts()


async def run_status(conn: AsyncConnection, table: TableRef) -> RunStatus:
    """Cell status counts per action and formula field: pending ones from the job queue and
    the formula sweeps, final ones from the per-field counts."""
    counts: dict[str, dict[str, int]] = {}
    for fid, status, n in await conn.execute(_STATUS_COUNTS, {"t": table.id, "now": now_ms()}):
        if n:
            counts.setdefault(fid, {})[status] = int(n)
    out = {
        fid: [{"status": st, "count": n} for st, n in sorted(by_status.items())]
        for fid, by_status in counts.items()
    }
    return RunStatus.build(statusCountsByField=out)


# -- a new or changed formula column -------------------------------------------------------

STALE = {"isStale": True, "staleReason": "TABLE_AUTO_RUN_OFF"}
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


async def _mark_stale_readers(
    uow: UnitOfWork, table_id: str, done: Sequence[tuple[str, str]]
) -> None:
    """With auto-run off, the formula cells that read changed cells are marked stale."""
    formulas = list(
        await uow.conn.execute(
            select(Field.id, Field.type_settings).where(
                Field.table_id == table_id, Field.type == "formula"
            )
        )
    )
    if not formulas or not done:
        return
    changed: dict[str, set[str]] = {}
    for fid, rid in done:
        changed.setdefault(fid, set()).add(rid)
    for f in formulas:
        rids = sorted(
            {r for ref in tables_svc.input_field_ids(f.type_settings) for r in changed.get(ref, ())}
        )
        for start in range(0, len(rids), 1000):
            await _stale(uow, table_id, f.id, rids[start : start + 1000])


async def _stale(
    uow: UnitOfWork, table_id: str, field_id: str, record_ids: Sequence[str] | None
) -> None:
    uow.declared(table_id)
    conn = uow.conn
    dialect = conn.dialect.name
    params: dict[str, Any] = {"t": table_id, "stale": orjson.dumps(STALE).decode()}
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


async def fill_column(uow: UnitOfWork, table: TableRef, field_id: str) -> None:
    """Computes a formula column on every row without a run call, through the formula
    sweep, while the table's auto-run is on; with it off, marks the cells stale (§4.2)."""
    await uow.write_tables([table.id])
    settings = await uow.conn.scalar(select(Table.settings).where(Table.id == table.id))
    scope = table.scope
    if (settings or {}).get("AUTO_RUN_ON", True):
        await _queue_formula(
            uow,
            scope.workspace_id,
            scope.actor.user_id,
            table.id,
            field_id,
            [[Record.table_id == table.id]],
            fill=True,
        )
        return
    await _stale(uow, table.id, field_id, None)
