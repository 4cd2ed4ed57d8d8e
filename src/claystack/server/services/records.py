"""Rows: adding, reading, updating, deleting and listing them in view order.

This is the hot path. Rows are written with one multi-row statement per request and
read without the ORM; the table's ``row_count`` moves in the same transaction. One row is
answered as a ``wire.Record``; many rows (a page, a batch written) stay plain dicts of the
same shape (``Row``), the fast path: routes put them in their envelope model, and no model
is built per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ...wire import Record as RecordOut
from ...wire.cells import CellStatus
from ..errors import BadRequest, Conflict, InvalidParameter, NotFound, PayloadTooLarge
from ..ids import new_ids
from ..storage import bulk, search_index
from ..storage.repositories import Connection, run_queue
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import records as records_repo
from ..storage.uow import UnitOfWork
from . import runs as runs_svc
from . import tables as tables_svc
from . import views as views_svc
from .common import iso, now_ms
from .tables import SYSTEM_FIELD_IDS, TableRef

MAX_ID_LENGTH = 200


# A row in the ``wire.Record`` shape, as a plain dict (see the module's docstring).
Row = dict[str, Any]

# Every cell read carries ``metadata`` (spec part 2 §13); plain cells share this empty one.
NO_META: dict[str, Any] = {}


def cell_out(value: Any, meta: dict[str, Any] | None) -> dict[str, Any]:
    if not meta:
        return {"value": value, "metadata": NO_META}
    cell: dict[str, Any] = {"value": value, "metadata": {"status": meta.get("status")}}
    if meta.get("isStale"):
        cell["metadata"].update(isStale=True, staleReason=meta.get("staleReason"))
    if "fullValue" in meta or "error" in meta:
        cell["externalContent"] = {k: meta[k] for k in ("fullValue", "error") if k in meta}
    return cell


def record_out(
    table_id: str,
    record_id: str,
    cells: dict[str, Any],
    meta: dict[str, Any] | None,
    created: str | None,
    updated: str | None,
    only: frozenset[str] | None = None,
) -> dict[str, Any]:
    meta = meta or {}
    out_cells: dict[str, Any] = {}
    for fid in cells.keys() | meta.keys():
        if only is None or fid in only:
            out_cells[fid] = cell_out(cells.get(fid), meta.get(fid))
    if only is None or "f_created_at" in only:
        out_cells["f_created_at"] = {"value": created, "metadata": NO_META}
    if only is None or "f_updated_at" in only:
        out_cells["f_updated_at"] = {"value": updated, "metadata": NO_META}
    return {
        "id": record_id,
        "tableId": table_id,
        "cells": out_cells,
        "createdAt": created,
        "updatedAt": updated,
    }


Fills = Sequence[tuple[str, int, int]]
_QUEUED_META = {"status": CellStatus.QUEUED}


def _meta(row: Any, fills: Fills) -> Any:
    """The row's ``meta`` with the cells a formula fill has queued (``run_queue.fills``) QUEUED:
    the fill does not write them into the row."""
    meta = row.meta
    for fid, after, until in fills:
        if after < row.seq <= until:
            cell = meta.get(fid) if isinstance(meta, dict) else None
            if not isinstance(cell, dict) or cell.get("status") is None:
                meta = dict(meta) if isinstance(meta, dict) else {}
                meta[fid] = {**cell, **_QUEUED_META} if isinstance(cell, dict) else _QUEUED_META
    return meta


def _rows_out(
    table_id: str,
    rows: Iterable[Any],
    fills: Fills,
    only: frozenset[str] | None = None,
) -> list[Row]:
    stamps: dict[int, str | None] = {}

    def stamp(ms: int) -> str | None:
        text = stamps.get(ms)
        if text is None:
            text = stamps[ms] = iso(ms)
        return text

    return [
        record_out(
            table_id,
            r.id,
            r.cells,
            _meta(r, fills) if fills else r.meta,
            stamp(r.created_at),
            stamp(r.updated_at),
            only,
        )
        for r in rows
    ]


async def _writable_fields(conn: Connection, table_id: str) -> set[str]:
    return set(await tables_svc.field_ids(conn, table_id)) - SYSTEM_FIELD_IDS


def check_cells(cells: Any, writable: set[str], where: str, max_bytes: int) -> dict[str, Any]:
    """The cells of a new or changed row as stored: unknown field ids dropped, read-only
    ones a 400, ``{"value": x}`` unwrapped, a value over ``max_bytes`` a 413."""
    if not isinstance(cells, dict):
        raise InvalidParameter(f"{where}.cells", "expected object")
    if not cells.keys() <= writable:
        read_only = sorted(cells.keys() & SYSTEM_FIELD_IDS)
        if read_only:
            raise BadRequest(f"Field {read_only[0]} is read-only")
        # Unknown field ids are dropped, as on Clay (spec part 2 §1).
        cells = {k: v for k, v in cells.items() if k in writable}
    short = (max_bytes - 2) // 6  # text this short cannot exceed the limit as JSON
    out: dict[str, Any] = {}
    for fid, value in cells.items():
        if type(value) is not str or len(value) > short:  # the common case skips this
            value = unwrap(value)
            if cell_too_large(value, max_bytes):
                raise PayloadTooLarge(f"The value of {where}.cells.{fid} exceeds {max_bytes} bytes")
        out[fid] = value
    return out


def unwrap(value: Any) -> Any:
    """A cell written as ``{"value": x}`` (or ``{"value": x, "metadata": …}``) stores ``x``."""
    if isinstance(value, dict) and "value" in value and value.keys() <= {"value", "metadata"}:
        return value["value"]
    return value


def cell_too_large(value: Any, max_bytes: int) -> bool:
    """Whether a cell value takes more than ``max_bytes`` as JSON."""
    if value is None or isinstance(value, bool | int | float):
        return False
    # A character takes at most 6 bytes of JSON (``\uXXXX``): short text needs no encoding.
    if isinstance(value, str) and len(value) * 6 + 2 <= max_bytes:
        return False
    return len(orjson.dumps(value)) > max_bytes


async def add_records(
    uow: UnitOfWork,
    table: TableRef,
    records: Sequence[dict[str, Any]],
    *,
    max_cell_bytes: int,
    run_actions: bool = True,
    answer: bool = True,
) -> list[Row]:
    """Inserts rows, keeping client ids and cell values; all or nothing (a cell over
    ``max_cell_bytes`` is a 413). With ``run_actions=False`` auto-run queues only formula
    columns (an import without run); with ``answer=False`` the rows are not built into an
    answer (an import discards it)."""
    if not records:
        return []
    conn = uow.conn
    # One read for both the cells' check and auto-run.
    fields = await fields_repo.with_settings(conn, table.id)
    writable = {f.id for f in fields} - SYSTEM_FIELD_IDS
    given = [r.get("id") for r in records]
    minted = iter(new_ids("r", sum(1 for g in given if g is None)))
    now = now_ms()
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        rid = given[i]
        if rid is None:
            rid = next(minted)
        elif not isinstance(rid, str) or not rid or len(rid) > MAX_ID_LENGTH:
            raise InvalidParameter(
                f"records[{i}].id",
                f"expected a non-empty string of at most {MAX_ID_LENGTH} characters",
            )
        if rid in seen:
            raise Conflict(f"Record id {rid} appears twice in the request")
        seen.add(rid)
        rows.append(
            (rid, check_cells(rec.get("cells") or {}, writable, f"records[{i}]", max_cell_bytes))
        )
    client_ids = [g for g in given if g is not None]
    if client_ids:
        clash = await records_repo.first_existing(conn, table.id, client_ids)
        if clash is not None:
            raise Conflict(f"A record with id {clash} already exists in this table")
    # New rows lock nothing another writer holds: the table's row after them, so writers
    # adding rows to one table meet only here, just before they commit.
    out = await bulk.insert_records(
        uow, table.id, rows, now, lambda: _added_out(table.id, rows, now) if answer else []
    )
    await uow.write_tables([table.id], rows_added=len(rows), updated_at=now)
    await runs_svc.auto_run(
        uow,
        table,
        ({"id": rid, "cells": cells} for rid, cells in rows),
        actions=run_actions,
        table_fields=fields,
    )
    return out


def _added_out(table_id: str, rows: list[tuple[str, dict[str, Any]]], now: int) -> list[Row]:
    """The answer for rows just added: every cell plain, both stamps ``now``."""
    stamp = iso(now)
    stamp_cell = {"value": stamp, "metadata": NO_META}
    out = []
    for rid, cells in rows:
        cells_out = {fid: {"value": v, "metadata": NO_META} for fid, v in cells.items()}
        cells_out["f_created_at"] = cells_out["f_updated_at"] = stamp_cell
        out.append(
            {
                "id": rid,
                "tableId": table_id,
                "cells": cells_out,
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        )
    return out


async def get_record(conn: Connection, table: TableRef, record_id: str) -> RecordOut:
    row = await records_repo.one(conn, table.id, record_id)
    if row is None:
        raise NotFound("Record not found")
    return RecordOut.build(**_rows_out(table.id, [row], await run_queue.fills(conn, table.id))[0])


_MISSING = object()


async def update_records(
    uow: UnitOfWork,
    table: TableRef,
    updates: Sequence[tuple[str, dict[str, Any]]],
    *,
    max_cell_bytes: int,
) -> list[Row]:
    """Merges new cell values into existing rows; any unknown id fails the whole request.
    With auto-run on, the changes queue the formula columns that read them, and the columns
    that never ran on those rows whose inputs are now all present."""
    if not updates:
        return []
    conn = uow.conn
    writable = await _writable_fields(conn, table.id)
    ids = [rid for rid, _ in updates]
    existing = await records_repo.by_ids(conn, table.id, ids)
    fills = await run_queue.fills(conn, table.id)
    missing = [rid for rid in ids if rid not in existing]
    if missing:
        raise NotFound(f"Record not found: {missing[0]}")
    merged: dict[str, dict[str, Any]] = {}
    for i, (rid, cells) in enumerate(updates):
        cells = check_cells(cells, writable, f"records[{i}]", max_cell_bytes)
        base = merged.get(rid, existing[rid].cells)
        merged[rid] = {**base, **cells}
    now = now_ms()
    await uow.write_tables([table.id])  # the table's row before the records'
    await records_repo.set_cells(
        conn, {existing[rid].seq: cells for rid, cells in merged.items()}, now
    )
    changed = [
        (fid, rid)
        for rid, cells in merged.items()
        for fid, value in cells.items()
        if existing[rid].cells.get(fid, _MISSING) != value
    ]
    if changed:
        scope = table.scope
        await runs_svc.cascade(uow, scope.workspace_id, scope.actor.user_id, table.id, changed)
    stamp = iso(now)
    return [
        record_out(
            table.id,
            rid,
            cells,
            _meta(existing[rid], fills),
            iso(existing[rid].created_at),
            stamp,
        )
        for rid, cells in merged.items()
    ]


async def delete_record(uow: UnitOfWork, table: TableRef, record_id: str) -> None:
    # The table's row first, then the record (the unit of work's order). A miss rolls it back.
    await uow.write_tables([table.id], rows_added=-1, updated_at=now_ms())
    if not await records_repo.delete_one(uow.conn, table.id, record_id):
        raise NotFound("Record not found")


async def delete_records(
    uow: UnitOfWork,
    table: TableRef,
    *,
    record_ids: Sequence[str] | None = None,
    omit_ids: Sequence[str] = (),
    view_id: str | None = None,
) -> int:
    """Deletes the given rows, or (no ids) every row the view shows bar ``omit_ids``, or
    every row of the table. Returns how many went."""
    await uow.write_tables([table.id])  # the table's row before the records'
    conn = uow.conn
    if record_ids is not None:
        if not record_ids:
            return 0
        deleted = await records_repo.delete_by_ids(conn, table.id, record_ids)
    else:
        shown: dict[str, Any] | None = None
        if view_id is not None:
            config = await tables_svc.view_config(conn, table.id, view_id)
            if not views_svc.is_plain(config):
                shown = config
        if shown is None and not omit_ids:
            await search_index.forget(conn, [table.id])
        deleted = await records_repo.delete_shown(conn, table.id, shown, omit_ids)
    if deleted:
        await uow.write_tables([table.id], rows_added=-deleted, updated_at=now_ms())
    return deleted


async def record_ids(conn: Connection, table: TableRef, view_id: str) -> list[str]:
    """Every id the view shows, in its order."""
    config = await tables_svc.view_config(conn, table.id, view_id)
    return await records_repo.shown_ids(conn, table.id, config)


async def record_ids_json(conn: Connection, table: TableRef, view_id: str) -> bytes:
    """The same ids as a JSON array, built by the database (``records_repo.shown_ids_json``)."""
    config = await tables_svc.view_config(conn, table.id, view_id)
    return await records_repo.shown_ids_json(conn, table.id, config)


async def list_records(
    conn: Connection, table: TableRef, view_id: str, *, limit: int, offset: int
) -> list[Row]:
    cfg = await tables_svc.view_config(conn, table.id, view_id)
    if offset >= SEEK_FROM and views_svc.is_plain(cfg):
        total = await tables_svc.row_count(conn, table.id)
        start = await records_repo.seq_at(conn, table.id, offset, total)
        if start is None:
            return []
        rows = await records_repo.page_from_seq(conn, table.id, start, limit)
        return _rows_out(table.id, rows, await run_queue.fills(conn, table.id))
    view_limit, view_offset = cfg.get("limit"), cfg.get("offset") or 0
    if view_limit is not None:
        limit = max(0, min(limit, view_limit - offset))
    rows = await records_repo.view_page(conn, table.id, cfg, limit, view_offset + offset)
    return _rows_out(table.id, rows, await run_queue.fills(conn, table.id))


SEEK_FROM = 1_000


async def bulk_fetch(
    conn: Connection,
    table: TableRef,
    record_ids: Sequence[str],
    field_ids: Sequence[str] | None,
    external: Sequence[str] | None = None,
) -> list[Row]:
    """Rows by id, in the order asked. With ``external`` field ids, each row also carries
    ``externalContent: {f_…: {fullValue, status, error?}}`` at record level (a plain cell's
    ``fullValue`` is its value; blank cells are left out)."""
    if not record_ids:
        raise InvalidParameter("recordIds", "must not be empty")
    found = await records_repo.by_ids(conn, table.id, list(dict.fromkeys(record_ids)))
    only = frozenset(field_ids) if field_ids else None
    rows = [found[rid] for rid in dict.fromkeys(record_ids) if rid in found]
    fills = await run_queue.fills(conn, table.id)
    out = _rows_out(table.id, rows, fills, only)
    if external:
        for row, rec in zip(rows, out, strict=True):
            meta = _meta(row, fills) or {}
            content = {}
            for fid in external:
                m = meta.get(fid)
                if m:
                    item = {"fullValue": m.get("fullValue", row.cells.get(fid))}
                    item["status"] = "FAILED" if m.get("error") else CellStatus.SUCCESS
                    if m.get("error"):
                        item["error"] = m["error"]
                    content[fid] = item
                elif row.cells.get(fid) not in (None, ""):  # a plain cell: its value is all
                    content[fid] = {"fullValue": row.cells[fid], "status": CellStatus.SUCCESS}
            rec["externalContent"] = content
    return out


async def ensure_record(uow: UnitOfWork, table: TableRef, record_id: str) -> RecordOut:
    """The row with this id, made blank when it does not exist yet."""
    conn = uow.conn
    row = await records_repo.one(conn, table.id, record_id)
    if row is not None:
        fills = await run_queue.fills(conn, table.id)
        return RecordOut.build(**_rows_out(table.id, [row], fills)[0])
    # A blank row has no cell to measure against the size limit.
    await add_records(uow, table, [{"id": record_id, "cells": {}}], max_cell_bytes=1)
    return await get_record(conn, table, record_id)
