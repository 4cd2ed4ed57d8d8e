"""What webhook ingestion's group commit reads and writes beside the rows it adds: the
sources of a batch (locked with their tables), their submission counts, and the idempotency
keys already used (``source_deliveries``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Source, SourceDelivery, Table

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


async def lock_sources(conn: AsyncConnection, source_ids: list[str], *, exclusive: bool) -> Any:
    """The live subscribed sources among ``source_ids``, by id: a row of the source's
    ``source_*`` columns plus every column of its table (``TableRef.row``), locked with the
    table (``exclusive``: outright; else shared with other batches)."""
    stmt = _SOURCES if exclusive else _SOURCES_SHARED
    return {r.source_id: r for r in await conn.execute(stmt, {"ids": source_ids})}


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
