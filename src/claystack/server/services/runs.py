"""Starting enrichment runs and reading their progress.

A run marks its cells QUEUED and, in the same transaction, records the work: a ``run_jobs``
row per action cell, and for a formula column one ``formula_runs`` row that the engine's
sweep walks in row order. The engine's workers (``server/engine/``) do the rest. The SQL is
in ``storage/repositories/run_queue.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ...wire import RunStarted, RunStatus
from ..enrichment import evaluation
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id, new_ids
from ..storage.repositories import Connection, run_queue
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import records as records_repo
from ..storage.repositories import tables as tables_repo
from ..storage.repositories.run_queue import Rows
from ..storage.uow import UnitOfWork
from . import tables as tables_svc
from .common import now_ms
from .fields import RUNNABLE_TYPES
from .tables import TableRef


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


async def queue_formula(
    uow: UnitOfWork,
    workspace_id: int,
    user_id: int | None,
    field_id: str,
    targets: Sequence[Rows],
    *,
    fill: bool = False,
) -> None:
    """Marks the formula cells of each of ``targets`` QUEUED (those not queued yet) and
    starts or widens the column's sweep so that it reaches them. A ``fill`` queues every
    row of the table: the cells with no status through the sweep's range (``fill_until``),
    without writing their rows; only cells that have a status are marked."""
    table_id = targets[0].table_id
    # The sweep's row before the records' (and after the table's, which the caller holds):
    # a sweep storing cells of this column takes them in that order too, so on PostgreSQL
    # the two wait for each other instead of deadlocking.
    uow.declared(table_id)
    uow.jobs_queued()
    conn = uow.conn
    after, until = await run_queue.open_sweep(
        conn, table_id, field_id, workspace_id, user_id, now_ms()
    )
    added = 0
    new_until: int | None = None
    start = after
    if fill:
        bounds = await run_queue.seq_bounds(conn, table_id)
        if bounds is not None:
            first, last = bounds
            start = min(start, first - 1)
            new_until = last if until is None else max(until, last)
            # Exact whatever the fill held before: its unrun cells were counted then.
            added = await run_queue.count_unrun(conn, table_id, field_id, start, new_until)
            if until is not None:
                added -= await run_queue.count_unrun(conn, table_id, field_id, after, until)
    seqs: list[int] = []
    for rows in targets:
        seqs += await run_queue.mark_formula_queued(
            conn, rows, field_id, after, until, only_with_status=new_until is not None
        )
    if seqs:
        start = min(start, min(seqs) - 1)
    if not fill and until is not None and start < after:
        # Moved back, the fill's range takes in rows the sweep had passed: any without a
        # status (none, as a rule) are queued now too.
        added += await run_queue.count_unrun(conn, table_id, field_id, start, min(after, until))
    if not seqs and not added and new_until is None:
        await run_queue.drop_empty_sweep(conn, table_id, field_id)
        return
    await run_queue.widen_sweep(
        conn, table_id, field_id, start=start, added=len(seqs) + added, fill_until=new_until
    )


# -- what to run ---------------------------------------------------------------------------


async def runnable_fields(conn: Connection, table_id: str, field_ids: Any) -> dict[str, str]:
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


async def selection(conn: Connection, table: TableRef, run_records: Any) -> Any:
    """The rows a ``runRecords`` body names (a ``run_queue`` selection)."""
    if run_records is None:
        raise _bad('Field "runRecords" - Required')
    if not isinstance(run_records, dict):
        raise _bad('Field "runRecords" - expected an object')
    if "viewIdTopRecords" in run_records:
        top = run_records["viewIdTopRecords"]
        if not isinstance(top, dict) or not isinstance(top.get("viewId"), str):
            raise _bad('Field "runRecords.viewIdTopRecords.viewId" - Required')
        config = await tables_svc.view_config(conn, table.id, top["viewId"])
        n = _count(top.get("numRecords"), "runRecords.viewIdTopRecords.numRecords")
        if n is not None:
            limit = config.get("limit")
            n = n if limit is None else min(n, limit)
        return run_queue.rows_of_view(table.id, config, n)
    if "recordIds" in run_records:
        ids = run_records["recordIds"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _bad('Field "runRecords.recordIds" - expected a list of record ids')
        other = run_records.get("tableId")
        if other is not None and other != table.id:
            raise _bad('Field "runRecords.tableId" - does not match the table in the URL')
        return run_queue.rows_by_ids(table.id, ids)
    if "viewId" in run_records:
        if not isinstance(run_records["viewId"], str):
            raise _bad('Field "runRecords.viewId" - expected a view id')
        config = await tables_svc.view_config(conn, table.id, run_records["viewId"])
        return run_queue.rows_of_view(table.id, config)
    raise _bad('Field "runRecords" - expected viewIdTopRecords, viewId or recordIds')


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
    chosen = await selection(conn, table, run_records)
    fields = await runnable_fields(conn, table.id, field_ids)
    count = await run_queue.count_selected(conn, chosen)
    await uow.write_tables([table.id])  # the table's row before the records'
    scope = table.scope
    rows = Rows(table.id, selection=chosen, unless_success=not force)
    actions: list[tuple[Rows, str, str]] = []
    for fid, ftype in fields.items():
        if ftype == "formula":
            await queue_formula(uow, scope.workspace_id, scope.actor.user_id, fid, [rows])
            continue
        actions.append((rows, fid, new_id("rj") + ":"))
        await run_queue.mark_queued(conn, rows, fid)
    if actions:
        uow.jobs_queued()
        await run_queue.add_jobs_for(
            conn,
            actions,
            workspace_id=scope.workspace_id,
            user_id=scope.actor.user_id,
            now=now_ms(),
        )
    return RunStarted.build(recordCount=count, runMode="INDIVIDUAL")


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
            Rows(table_id, ids=rids[start : start + 1000]) for start in range(0, len(rids), 1000)
        ]
        if field_kind[fid] == "formula":
            await queue_formula(uow, workspace_id, user_id, fid, chunks)
            continue
        for rows in chunks:
            await run_queue.mark_queued(conn, rows, fid)
    if not actions:
        return
    uow.jobs_queued()
    await run_queue.add_jobs(
        conn,
        new_ids("rj", len(actions)),
        actions,
        workspace_id=workspace_id,
        table_id=table_id,
        user_id=user_id,
        now=now_ms(),
    )


async def auto_run(
    uow: UnitOfWork,
    table: TableRef,
    rows: Iterable[dict[str, Any]],
    *,
    actions: bool = True,
    table_fields: Sequence[Any] | None = None,
) -> None:
    """Queues the table's action and formula fields (formula fields only, without
    ``actions``) for new rows whose referenced inputs are all present, when the table's
    ``AUTO_RUN_ON`` is on. ``table_fields``: the table's fields (``id``, ``type``,
    ``type_settings``) when the caller has read them already in this transaction."""
    if not (table.row.settings or {}).get("AUTO_RUN_ON", True):
        return
    types = RUNNABLE_TYPES if actions else ("formula",)
    if table_fields is None:
        table_fields = await fields_repo.of_types(uow.conn, table.id, types)
    fields = [
        f
        for f in table_fields
        if f.type in types
        and (f.type != "formula" or f.type_settings.get("formulaText"))  # empty: nothing to do
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
    settings = await tables_repo.settings(conn, table_id)
    if not (settings or {}).get("AUTO_RUN_ON", True):
        await _mark_stale_readers(uow, table_id, done)
        return
    fields = await fields_repo.of_types(conn, table_id, RUNNABLE_TYPES)
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
    rows = await records_repo.by_ids(conn, table_id, rids)
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


async def run_status(conn: Connection, table: TableRef) -> RunStatus:
    """Cell status counts per action and formula field: pending ones from the job queue and
    the formula sweeps, final ones from the per-field counts."""
    counts: dict[str, dict[str, int]] = {}
    for fid, status, n in await run_queue.status_counts(conn, table.id, RUNNABLE_TYPES, now_ms()):
        if n:
            counts.setdefault(fid, {})[status] = int(n)
    out = {
        fid: [{"status": st, "count": n} for st, n in sorted(by_status.items())]
        for fid, by_status in counts.items()
    }
    return RunStatus.build(statusCountsByField=out)


# -- a new or changed formula column -------------------------------------------------------

STALE = {"isStale": True, "staleReason": "TABLE_AUTO_RUN_OFF"}


async def _mark_stale_readers(
    uow: UnitOfWork, table_id: str, done: Sequence[tuple[str, str]]
) -> None:
    """With auto-run off, the formula cells that read changed cells are marked stale."""
    formulas = await fields_repo.of_types(uow.conn, table_id, ("formula",))
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
    await run_queue.mark_stale(uow.conn, table_id, field_id, record_ids, STALE)


async def fill_column(uow: UnitOfWork, table: TableRef, field_id: str) -> None:
    """Computes a formula column on every row without a run call, through the formula
    sweep, while the table's auto-run is on; with it off, marks the cells stale (§4.2)."""
    await uow.write_tables([table.id])
    settings = await tables_repo.settings(uow.conn, table.id)
    scope = table.scope
    if (settings or {}).get("AUTO_RUN_ON", True):
        await queue_formula(
            uow, scope.workspace_id, scope.actor.user_id, field_id, [Rows(table.id)], fill=True
        )
        return
    await _stale(uow, table.id, field_id, None)
