"""Local actions over claystack's own tables (spec part 2 §4.3): look rows up in another
table, write a row to another table. They run offline and free, and only ever see tables
of the workspace the cell belongs to: any other table is "not found", like a 404.

A lookup reads its target table once per change of that table (``Table.data_version``):
the rows are indexed by the target column, so a column of lookups costs one small read
per cell, not a scan.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ....integrations import Action, ActionError, ActionResult, Integration, RunContext
from ....wire.cells import CellStatus
from ...storage.repositories import fields as fields_repo
from ...storage.repositories import lookups
from ...storage.repositories import tables as tables_repo
from .. import bindings
from ..context import database
from ..formulas import is_blank
from . import subroutine

KEY = "claystack-tables"
OPERATORS = ("equal", "not_equal", "contains", "not_contains", "empty", "not_empty")
_OPERATOR_ALIASES = {
    "eq": "equal",
    "equals": "equal",
    "is": "equal",
    "neq": "not_equal",
    "not_equals": "not_equal",
    "is_not": "not_equal",
    "contain": "contains",
    "includes": "contains",
    "does_not_contain": "not_contains",
    "is_empty": "empty",
    "is_not_empty": "not_empty",
}
MAX_MATCHES = 1000  # rows a multiple-rows lookup returns at most
_CACHE_TABLES = 32

LOOKUP_INPUTS: dict[str, Any] = {
    "type": "object",
    "required": ["tableId", "targetColumn"],
    "properties": {
        "tableId": {"type": "string", "description": "The table to search (same workspace)"},
        "targetColumn": {"type": "string", "description": "Its column to match: id or name"},
        "fieldId": {"type": "string", "description": "Alias of targetColumn"},
        "filterOperator": {
            "type": "string",
            "enum": list(OPERATORS),
            "default": "equal",
            "description": "equal/not_equal compare as trimmed, case-insensitive text",
        },
        "rowValue": {"description": "The value to look for"},
    },
}
WRITE_INPUTS: dict[str, Any] = {
    "type": "object",
    "required": ["tableId"],
    "properties": {
        "tableId": {"type": "string", "description": "The table to write to (same workspace)"},
        "fields": {
            "type": "object",
            "description": "Column (id or name) → value; also accepted as 'data'",
        },
        "data": {"type": "object", "description": "Alias of fields"},
    },
}


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return orjson.dumps(value).decode().lower()


@dataclass
class _Index:
    version: int
    names: dict[str, str]  # field id → name
    rows: list[tuple[str, dict[str, Any]]]  # (record id, cells), in row order
    by_value: dict[str, dict[str, list[int]]]  # field id → normalised value → row positions
    columns: dict[str, str] = field(default_factory=dict)  # column asked for → field id
    records: dict[int, dict[str, Any]] = field(default_factory=dict)  # position → as answered

    def column(self, field_id: str) -> dict[str, list[int]]:
        found = self.by_value.get(field_id)
        if found is None:
            found = {}
            for i, (_, cells) in enumerate(self.rows):
                found.setdefault(_norm(cells.get(field_id)), []).append(i)
            self.by_value[field_id] = found
        return found


_indexes: OrderedDict[tuple[int, str], _Index] = OrderedDict()
_locks: dict[tuple[int, str], asyncio.Lock] = {}


def _text(inputs: Mapping[str, Any], *names: str, required: bool = True) -> str:
    for name in names:
        value = inputs.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value not in (None, ""):
            raise ActionError(f"{name} must be a text", CellStatus.ERROR_INVALID_INPUT)
    if required:
        raise ActionError(f"{names[0]} is required", CellStatus.ERROR_INVALID_INPUT)
    return ""


# Target checks waiting for the next read, per (database, table): the cells of a claimed
# batch run together, so one read transaction answers all of them instead of one per cell.
_next_reads: dict[tuple[int, int, str], asyncio.Future[Any]] = {}


async def _read_target(key: tuple[int, int, str], ctx: RunContext, table_id: str) -> None:
    # Later callers start another read: this one may begin after their rows were written.
    future = _next_reads.pop(key)
    try:
        async with database(ctx).transaction(write=False) as conn:
            row = await lookups.target(conn, table_id)
    except Exception as exc:  # noqa: BLE001 - every waiter gets the failure
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(row)


async def _target(ctx: RunContext, table_id: str) -> Any:
    """The target table's row if it is in the cell's workspace. Cells asking at once share
    one read, which starts after all of them asked (so it sees every row committed before
    their runs were queued)."""
    db = database(ctx)
    loop = asyncio.get_running_loop()
    key = (id(loop), id(db), table_id)
    future = _next_reads.get(key)
    if future is None:
        future = _next_reads[key] = loop.create_future()
        loop.call_soon(_start_read, loop, key, ctx, table_id)
    row = await asyncio.shield(future)
    if row is None or row.workspace_id != ctx.workspace_id:
        raise ActionError(f"Table not found: {table_id}", CellStatus.ERROR_INVALID_INPUT)
    return row


_reads: set[asyncio.Task[None]] = set()


def _start_read(
    loop: asyncio.AbstractEventLoop, key: tuple[int, int, str], ctx: RunContext, table_id: str
) -> None:
    task = loop.create_task(_read_target(key, ctx, table_id))
    _reads.add(task)
    task.add_done_callback(_reads.discard)


async def _index(ctx: RunContext, table_id: str) -> _Index:
    target = await _target(ctx, table_id)
    key = (id(database(ctx)), table_id)
    cached = _indexes.get(key)
    if cached is not None and cached.version == target.data_version:
        _indexes.move_to_end(key)
        return cached
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _indexes.get(key)
        if cached is not None and cached.version == target.data_version:
            return cached
        async with database(ctx).transaction(write=False) as conn:
            names = await fields_repo.names(conn, table_id)
            rows = await lookups.rows_in_order(conn, table_id)
        index = _Index(target.data_version, names, rows, {})
        _indexes[key] = index
        _indexes.move_to_end(key)
        while len(_indexes) > _CACHE_TABLES:
            _indexes.popitem(last=False)
        return index


def _column(index: _Index, ref: str, table_id: str) -> str:
    found = index.columns.get(ref)
    if found is None:
        found = index.columns[ref] = _find_column(index, ref, table_id)
    return found


def _find_column(index: _Index, ref: str, table_id: str) -> str:
    if ref in index.names:
        return ref
    lowered = ref.lower()
    for fid, name in index.names.items():
        if name == ref or name.lower() == lowered:
            return fid
    raise ActionError(f'No column "{ref}" in table {table_id}', CellStatus.ERROR_INVALID_INPUT)


def _operator(inputs: Mapping[str, Any]) -> str:
    raw = inputs.get("filterOperator") or "equal"
    op = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    op = _OPERATOR_ALIASES.get(op, op)
    if op not in OPERATORS:
        raise ActionError(
            f"filterOperator must be one of {', '.join(OPERATORS)}", CellStatus.ERROR_INVALID_INPUT
        )
    return op


def _matches(index: _Index, field_id: str, op: str, value: Any, limit: int) -> list[int]:
    column = index.column(field_id)
    wanted = _norm(value)
    if op == "equal":
        return column.get(wanted, [])[:limit] if wanted else []
    if op == "empty":
        return column.get("", [])[:limit]
    out: list[int] = []
    for key, positions in column.items():
        if op == "not_equal":
            hit = key != wanted and key != ""
        elif op == "contains":
            hit = bool(wanted) and wanted in key
        elif op == "not_contains":
            hit = not wanted or wanted not in key
        else:  # not_empty
            hit = key != ""
        if hit:
            out.extend(positions)
    out.sort()
    return out[:limit]


def _record(index: _Index, position: int) -> dict[str, Any]:
    """The row at ``position`` by column name; the same dict for every cell that finds it
    (results are only ever serialized)."""
    found = index.records.get(position)
    if found is None:
        rid, cells = index.rows[position]
        named = {index.names.get(fid, fid): v for fid, v in cells.items()}
        found = index.records[position] = {"id": rid, **named}
    return found


def _query(inputs: dict[str, Any]) -> tuple[str, str, str, Any]:
    """A lookup's table, column, operator and value, checked."""
    inputs = bindings.nest(inputs)
    fields = inputs.get("fields")
    if isinstance(fields, dict):  # Clay's nested form: fields|targetColumn…
        inputs = {**fields, **{k: v for k, v in inputs.items() if k != "fields"}}
    table_id = _text(inputs, "tableId")
    ref = _text(inputs, "targetColumn", "fieldId", "targetField")
    op = _operator(inputs)
    value = inputs.get("rowValue", inputs.get("value"))
    if op in ("equal", "contains") and is_blank(value):
        raise ActionError("rowValue is blank", CellStatus.ERROR_BLANK_TOKEN)
    return table_id, ref, op, value


_VALUES = ("rowValue", "value")


def _query_of(
    inputs: dict[str, Any], parsed: dict[Any, tuple[str, str, str]]
) -> tuple[str, str, str, Any]:
    """``_query``, with the checks of the inputs other than the value done once for all
    the cells of a batch that share them (a column of lookups differs only in its value)."""
    if "fields" in inputs or any("|" in k for k in inputs):
        return _query(inputs)
    try:
        key = frozenset((k, v) for k, v in inputs.items() if k not in _VALUES)
    except TypeError:  # a value that is a list or an object
        return _query(inputs)
    found = parsed.get(key)
    if found is None:
        table_id, ref, op, value = _query(inputs)
        parsed[key] = (table_id, ref, op)
        return table_id, ref, op, value
    table_id, ref, op = found
    value = inputs.get("rowValue", inputs.get("value"))
    if op in ("equal", "contains") and is_blank(value):
        raise ActionError("rowValue is blank", CellStatus.ERROR_BLANK_TOKEN)
    return table_id, ref, op, value


def _found(index: _Index, query: tuple[str, str, str, Any], limit: int) -> list[dict[str, Any]]:
    table_id, ref, op, value = query
    fid = _column(index, ref, table_id)
    return [_record(index, p) for p in _matches(index, fid, op, value, limit)]


async def _lookup_batch(
    inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext], limit: int
) -> list[list[dict[str, Any]] | ActionError]:
    """Many lookups at once: each target table read (or found cached) once for all."""
    queries: list[tuple[str, str, str, Any] | ActionError] = []
    parsed: dict[Any, tuple[str, str, str]] = {}  # inputs but the value → table, column, op
    for inputs in inputs_list:
        try:
            queries.append(_query_of(inputs, parsed))
        except ActionError as exc:
            queries.append(exc)
    indexes: dict[tuple[int, str], _Index | ActionError] = {}
    out: list[list[dict[str, Any]] | ActionError] = []
    for query, ctx in zip(queries, ctxs, strict=True):
        if isinstance(query, ActionError):
            out.append(query)
            continue
        key = (ctx.workspace_id, query[0])
        index = indexes.get(key)
        if index is None:
            try:
                index = indexes[key] = await _index(ctx, query[0])
            except ActionError as exc:
                index = indexes[key] = exc
        if isinstance(index, ActionError):
            out.append(index)
            continue
        try:
            out.append(_found(index, query, limit))
        except ActionError as exc:
            out.append(exc)
    return out


def _one(found: list[dict[str, Any]]) -> ActionResult:
    if not found:
        return ActionResult(value=None, full_value={"record": None}, has_data=False, credits=0)
    return ActionResult(value=found[0], full_value={"record": found[0]}, credits=0)


def _many(found: list[dict[str, Any]]) -> ActionResult:
    full = {"records": found, "count": len(found)}
    return ActionResult(value=found, full_value=full, has_data=bool(found), credits=0)


async def _lookup(inputs: dict[str, Any], ctx: RunContext, limit: int) -> list[dict[str, Any]]:
    """One lookup: a batch of one."""
    (found,) = await _lookup_batch([inputs], [ctx], limit)
    if isinstance(found, ActionError):
        raise found
    return found


async def lookup_row(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return _one(await _lookup(inputs, ctx, 1))


async def lookup_rows(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return _many(await _lookup(inputs, ctx, MAX_MATCHES))


async def lookup_row_batch(
    inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext]
) -> list[ActionResult | ActionError]:
    found = await _lookup_batch(inputs_list, ctxs, 1)
    return [f if isinstance(f, ActionError) else _one(f) for f in found]


async def lookup_rows_batch(
    inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext]
) -> list[ActionResult | ActionError]:
    found = await _lookup_batch(inputs_list, ctxs, MAX_MATCHES)
    return [f if isinstance(f, ActionError) else _many(f) for f in found]


async def write_row(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    """Writes one row to another table: the same row on every run of the same cell (its id
    is derived from the cell), so a retry or a re-run updates it instead of adding more."""
    from ...services import records
    from ...services.common import Actor, Scope
    from ...services.tables import TableRef

    inputs = bindings.nest(inputs)
    table_id = _text(inputs, "tableId")
    values = inputs.get("fields", inputs.get("data"))
    if isinstance(values, str):
        try:
            values = orjson.loads(values)
        except orjson.JSONDecodeError:
            values = None
    if not isinstance(values, dict) or not values:
        raise ActionError(
            "fields must be an object of column → value", CellStatus.ERROR_INVALID_INPUT
        )
    target = await _target(ctx, table_id)
    digest = hashlib.sha256(f"{ctx.table_id}:{ctx.field_id}:{ctx.record_id}".encode()).hexdigest()
    rid = f"r_w{digest[:24]}"
    async with database(ctx).unit_of_work() as uow:
        conn = uow.conn
        row = await tables_repo.get_by_id(conn, table_id)
        names = await fields_repo.names(conn, table_id)
        lowered = {name.lower(): fid for fid, name in names.items()}
        cells: dict[str, Any] = {}
        for ref, value in values.items():
            fid = ref if ref in names else lowered.get(str(ref).lower())
            if fid is None or fid.startswith(("f_created_at", "f_updated_at")):
                raise ActionError(
                    f'No column "{ref}" in table {table_id}', CellStatus.ERROR_INVALID_INPUT
                )
            cells[fid] = value
        owner = Actor(int(target.owner_id or 0), "", "")
        ref_ = TableRef(table_id, Scope(owner, ctx.workspace_id, "owner"), row)
        exists = await lookups.row_id(conn, table_id, rid)
        if exists is None:
            await records.add_records(
                uow,
                ref_,
                [{"id": rid, "cells": cells}],
                max_cell_bytes=ctx.limits.max_cell_bytes,
            )
        else:
            await records.update_records(
                uow, ref_, [(rid, cells)], max_cell_bytes=ctx.limits.max_cell_bytes
            )
    named = {names[f]: v for f, v in cells.items()}
    return ActionResult(
        value={"recordId": rid, "tableId": table_id},
        full_value={"recordId": rid, "tableId": table_id, "created": exists is None, **named},
        credits=0,
    )


integration = Integration(
    key=KEY,
    display_name="claystack tables (local)",
    actions=(
        Action(
            key="lookup-row-in-other-table",
            display_name="Lookup row in other table",
            run=lookup_row,
            run_batch=lookup_row_batch,
            input_schema=LOOKUP_INPUTS,
            output_schema={"properties": {"record": {"type": "object"}}},
        ),
        Action(
            key="lookup-multiple-rows-in-other-table",
            display_name="Lookup multiple rows in other table",
            run=lookup_rows,
            run_batch=lookup_rows_batch,
            input_schema=LOOKUP_INPUTS,
            output_schema={
                "properties": {"records": {"type": "array"}, "count": {"type": "integer"}}
            },
        ),
        Action(
            key="write-to-cell",
            display_name="Write to other table",
            run=write_row,
            input_schema=WRITE_INPUTS,
            output_schema={"properties": {"recordId": {"type": "string"}}},
        ),
        Action(
            key=subroutine.KEY,
            display_name="Execute subroutine",
            run=subroutine.run,
            input_schema=subroutine.INPUTS,
            output_schema={"properties": {"outputs": {"type": "object"}}},
        ),
    ),
    credentials_schema={"type": "object", "properties": {}, "secret": []},
)
