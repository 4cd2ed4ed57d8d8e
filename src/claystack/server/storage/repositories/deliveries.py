"""What webhook ingestion's group commit reads and writes beside the rows it adds: the
sources of a batch (locked with their tables), their submission counts, and the idempotency
keys already used (``source_deliveries``). On PostgreSQL a batch is two statements: its
sources with their tables' fields (``lock_sources(fields=True)``), then ``write_batch``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    String,
    Text,
    any_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Field, Source, SourceDelivery, Table

# Built once: these run for every request or batch.
_HOOK = select(
    Source.id,
    Source.workspace_id,
    Source.table_id,
    Source.slug,
    Source.auth_token_hash,
    Source.type_settings,
).where(Source.hook_uuid == bindparam("uuid"), Source.deleted_at.is_(None))
_SOURCE_ROWS = (
    select(
        Source.id.label("source_id"),
        Source.field_id.label("source_field_id"),
        Source.owner_id.label("source_owner_id"),
        Source.num_submissions.label("source_submissions"),
        Source.auth_token_hash.label("source_token_hash"),
        Table,
    )
    .join(Table, Table.id == Source.table_id)
    .where(Source.id.in_(bindparam("ids", expanding=True)), Source.deleted_at.is_(None))
    .order_by(Source.id)
)
# PostgreSQL: a source being deleted (deleteRecords included) or its table waits for this
# batch, or this batch for it. Locked outright, the counts caps are checked against are
# exact; shared (KEY SHARE), batches of several processes run side by side, meeting only at
# the counter updates just before they commit.
_SOURCES = _SOURCE_ROWS.with_for_update(of=[Source, Table])
_SOURCES_SHARED = _SOURCE_ROWS.with_for_update(of=[Source, Table], read=True, key_share=True)
# PostgreSQL: each row also carries its table's fields as JSON text (``[[id, type,
# type_settings], …]``): what the rows are checked against and auto-run reads, which were
# two more round trips per batch.
# Settings only of the fields auto-run reads (``services.fields.RUNNABLE_TYPES``): a wide
# table's other fields cost each batch their id and type alone.
_RUNNABLE = ("action", "formula")
_FIELD_JSON = func.json_build_array(
    Field.id,
    Field.type,
    case((or_(*(Field.type == t for t in _RUNNABLE)), Field.type_settings), else_=None),
)
_TABLE_FIELDS = (
    select(cast(func.json_agg(_FIELD_JSON), Text))
    .where(Field.table_id == Table.id)
    .scalar_subquery()
    .label("table_fields")
)
# The ids as one array parameter: an expanding IN list is re-rendered for each batch size.
_SOURCE_ROWS_PG = (
    select(*_SOURCE_ROWS.selected_columns, _TABLE_FIELDS)
    .join_from(Source, Table, Table.id == Source.table_id)
    .where(Source.id == any_(bindparam("ids", type_=ARRAY(String))), Source.deleted_at.is_(None))
    .order_by(Source.id)
)
_SOURCES_FIELDS = _SOURCE_ROWS_PG.with_for_update(of=[Source, Table])
_SOURCES_FIELDS_SHARED = _SOURCE_ROWS_PG.with_for_update(
    of=[Source, Table], read=True, key_share=True
)
# PostgreSQL, a batch's tables in id order before ``write_batch`` updates them (one UPDATE
# locks rows in the order its plan finds them): two processes' batches never deadlock.
_LOCK_TABLES = (
    select(Table.id)
    .where(Table.id.in_(bindparam("ids", expanding=True)))
    .order_by(Table.id)
    .with_for_update(key_share=True)
)
# PostgreSQL, everything a batch writes in one statement: the rows (``[table id, record
# id, cells]``), each table's row count, version and ``updated_at`` (as
# ``UnitOfWork.write_tables``), each source's counters, and the idempotency keys claimed
# (those another transaction stored first are not returned). Every batch runs the same
# plan, so the rows it locks are locked in the same order by all of them.
_WRITE_BATCH = text(
    "WITH tab AS ("
    " UPDATE tables t SET row_count = t.row_count + x.n, data_version = t.data_version + 1,"
    " updated_at = CAST(:now AS bigint)"
    " FROM jsonb_to_recordset(CAST(:tables AS jsonb)) AS x(id text, n bigint)"
    " WHERE t.id = x.id RETURNING t.id"
    "), ins AS ("
    " INSERT INTO records (table_id, id, cells, meta, created_at, updated_at)"
    " SELECT r ->> 0, r ->> 1, r -> 2, NULL, CAST(:now AS bigint), CAST(:now AS bigint)"
    " FROM jsonb_array_elements(CAST(:rows AS jsonb)) r"
    "), src AS ("
    " UPDATE sources s SET num_records = s.num_records + x.n,"
    " num_submissions = s.num_submissions + x.n"
    " FROM jsonb_to_recordset(CAST(:sources AS jsonb)) AS x(id text, n bigint)"
    " WHERE s.id = x.id"
    "), won AS ("
    " INSERT INTO source_deliveries (source_id, idempotency_key, record_id, created_at)"
    " SELECT x.s, x.k, x.r, CAST(:now AS bigint)"
    " FROM jsonb_to_recordset(CAST(:keys AS jsonb)) AS x(s text, k text, r text)"
    " ON CONFLICT DO NOTHING RETURNING source_id, idempotency_key"
    ") SELECT id AS a, NULL AS b FROM tab UNION ALL SELECT source_id, idempotency_key FROM won"
)


class TableField(NamedTuple):
    """A field as ``lock_sources(fields=True)`` gives it (``type_settings`` only for action
    and formula fields, else None)."""

    id: str
    type: str
    type_settings: dict[str, Any] | None


_COUNT = (
    update(Source)
    .where(Source.id == bindparam("b_id"))
    .values(
        num_records=Source.num_records + bindparam("b_n"),
        num_submissions=Source.num_submissions + bindparam("b_n"),
    )
)
_STORED_KEYS = select(SourceDelivery.idempotency_key, SourceDelivery.record_id).where(
    SourceDelivery.source_id == bindparam("source_id"),
    SourceDelivery.idempotency_key.in_(bindparam("keys", expanding=True)),
)


async def hook(conn: AsyncConnection, hook_uuid: str) -> Any:
    """The live source behind a webhook URL (id, workspace_id, table_id, slug,
    auth_token_hash, type_settings), or None."""
    return (await conn.execute(_HOOK, {"uuid": hook_uuid})).first()


async def lock_sources(
    conn: AsyncConnection, source_ids: list[str], *, exclusive: bool, fields: bool = False
) -> Any:
    """The live subscribed sources among ``source_ids``, by id: a row of the source's
    ``source_*`` columns plus every column of its table (``TableRef.row``), locked with the
    table (``exclusive``: outright; else shared with other batches). ``fields``
    (PostgreSQL): each row also has ``table_fields``, the JSON text of its table's fields
    (``table_fields_of`` reads it)."""
    stmt: Any
    if fields:
        stmt = _SOURCES_FIELDS if exclusive else _SOURCES_FIELDS_SHARED
    else:
        stmt = _SOURCES if exclusive else _SOURCES_SHARED
    return {r.source_id: r for r in await conn.execute(stmt, {"ids": source_ids})}


def table_fields_of(row: Any) -> list[TableField]:
    """The fields of a ``lock_sources(fields=True)`` row's table."""
    return [TableField(*f) for f in orjson.loads(row.table_fields or "[]")]


async def write_batch(
    conn: AsyncConnection,
    rows: list[tuple[str, str, dict[str, Any]]],
    submissions: dict[str, int],
    keys: dict[tuple[str, str], str],
    now: int,
) -> tuple[set[str], set[tuple[str, str]]]:
    """PostgreSQL: inserts ``rows`` (``(table id, record id, cells)``), moves their tables'
    row counts and versions, adds ``submissions`` to the sources' counters and stores the
    idempotency ``keys`` (``(source, key) -> record id``), in one statement. Returns the
    tables found and the keys this transaction stored. The tables are locked in id order
    first when there are several."""
    counts: dict[str, int] = defaultdict(int)
    for table_id, _, _ in rows:
        counts[table_id] += 1
    if len(counts) > 1:
        await conn.execute(_LOCK_TABLES, {"ids": sorted(counts)})
    params = {
        "now": now,
        "rows": orjson.dumps(rows).decode(),
        "tables": orjson.dumps([{"id": t, "n": n} for t, n in counts.items()]).decode(),
        "sources": orjson.dumps([{"id": s, "n": n} for s, n in submissions.items()]).decode(),
        "keys": orjson.dumps([{"s": s, "k": k, "r": r} for (s, k), r in keys.items()]).decode(),
    }
    tables: set[str] = set()
    won: set[tuple[str, str]] = set()
    for a, b in await conn.execute(_WRITE_BATCH, params):
        if b is None:
            tables.add(a)
        else:
            won.add((a, b))
    return tables, won


async def count_submissions(conn: AsyncConnection, counts: dict[str, int]) -> None:
    """Adds each source's number of new submissions (and rows) to its counters."""
    if counts:
        await conn.execute(_COUNT, [{"b_id": sid, "b_n": n} for sid, n in counts.items()])


async def stored_keys(
    conn: AsyncConnection, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The record ids stored for these (source, key) pairs, looked up one source at a
    time so the primary key index serves it."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for sid, key in pairs:
        by_source[sid].append(key)
    found: dict[tuple[str, str], str] = {}
    for sid, keys in by_source.items():
        for start in range(0, len(keys), 500):
            params = {"source_id": sid, "keys": keys[start : start + 500]}
            for r in await conn.execute(_STORED_KEYS, params):
                found[(sid, r.idempotency_key)] = r.record_id
    return found


async def claim_keys(
    conn: AsyncConnection, record_of: dict[tuple[str, str], str], now: int
) -> set[tuple[str, str]]:
    """Stores the keys; returns those this transaction stored (the primary key decides)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"source_id": sid, "idempotency_key": key, "record_id": rid, "created_at": now}
        for (sid, key), rid in record_of.items()
    ]
    won: set[tuple[str, str]] = set()
    for start in range(0, len(rows), 400):
        stmt = (
            insert(SourceDelivery)
            .values(rows[start : start + 400])
            .on_conflict_do_nothing()
            .returning(SourceDelivery.source_id, SourceDelivery.idempotency_key)
        )
        won.update((r.source_id, r.idempotency_key) for r in await conn.execute(stmt))
    return won
