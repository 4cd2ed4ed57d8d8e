"""Indexes that let a view's search and filters skip most of a big table's rows.

**Search** (SQLite): an FTS5 ``trigram`` index (``records_search``, contentless,
``detail=none``) over the text of each row's cells, for the tables listed in
``search_tables`` only: indexing a row costs several times its insert, so a table joins
the list when it is first searched at size, and bulk inserts elsewhere pay nothing but
one primary-key probe in the trigger. A table's existing rows are indexed in chunks
(``build_step``), each its own short write transaction: ``built_to`` is how far the chunks
got and ``target`` the last ``seq`` the table had when it joined; a row is in the index
exactly when ``seq <= built_to OR seq > target`` (the triggers and the builder agree on
that), and the index is used only once ``built_to >= target``. A query of trigrams can only
say which rows *may* hold the text: the callers keep their exact test after it.

On PostgreSQL the same list feeds ``record_search`` (``seq``, ``table_id`` and the row's
JSON text lowered), with a ``pg_trgm`` GIN index answering ``LIKE '%…%'``; statement-level
triggers keep it, and rows leave it with their record (foreign key).

**Filters**: a partial expression index per (table, field),
``lower(CAST(json_extract(cells, '$."f_…"') AS VARCHAR)) WHERE table_id = 't_…'`` (PostgreSQL:
``lower(cells ->> 'f_…')``), made when a view of a big table filters on that field:
``EQUAL`` becomes an index lookup. Writes to other tables only test the index's ``WHERE``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import BigInteger, bindparam, column, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .models import SearchTable

# Below these sizes a scan is fast enough and an index not worth its writes.
SEARCH_MIN_ROWS = 10_000
FILTER_MIN_ROWS = 10_000
BUILD_CHUNK = 20_000
# Ids we write into SQL text (index expressions must be literal); others get no index.
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,60}$")

# The text of a row's cells as search compares it: strings as written, integers and
# booleans as Python spells them; for anything else (reals, objects, arrays) the whole
# JSON text, so the index never misses what the exact test after it would keep.
_SQLITE_TEXT = (
    "(SELECT group_concat(CASE type WHEN 'text' THEN value WHEN 'integer' THEN value "
    "WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN '' ELSE {c} END, "
    "char(10)) FROM json_each({c}))"
)


def _indexed(row: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM search_tables s WHERE s.table_id = {row}.table_id "
        f"AND ({row}.seq <= s.built_to OR {row}.seq > s.target))"
    )


def _fts_insert(row: str) -> str:
    return (
        f"INSERT INTO records_search(rowid, body) VALUES ({row}.seq, "
        f"{_SQLITE_TEXT.format(c=row + '.cells')});"
    )


def _fts_delete(row: str) -> str:
    return (
        "INSERT INTO records_search(records_search, rowid, body) VALUES ('delete', "
        f"{row}.seq, {_SQLITE_TEXT.format(c=row + '.cells')});"
    )


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION claystack_record_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO record_search (seq, table_id, body)
    SELECT n.seq, n.table_id, lower(n.cells::text) FROM claystack_new n
    JOIN search_tables s ON s.table_id = n.table_id
    WHERE n.seq <= s.built_to OR n.seq > s.target;
  ELSE
    -- Through the (short) list first: updates of other tables' rows probe nothing.
    UPDATE record_search r SET body = lower(n.cells::text)
    FROM claystack_new n JOIN search_tables s ON s.table_id = n.table_id
    WHERE r.seq = n.seq AND r.body IS DISTINCT FROM lower(n.cells::text);
  END IF;
  RETURN NULL;
END $$
"""

CREATE: dict[str, list[str]] = {
    "sqlite": [
        "CREATE VIRTUAL TABLE records_search USING fts5(body, content='', "
        "tokenize='trigram', detail='none')",
        "CREATE TRIGGER records_search_insert AFTER INSERT ON records FOR EACH ROW "
        f"WHEN {_indexed('new')} BEGIN {_fts_insert('new')} END",
        "CREATE TRIGGER records_search_update AFTER UPDATE OF cells ON records FOR EACH ROW "
        f"WHEN old.cells IS NOT new.cells AND {_indexed('old')} "
        f"BEGIN {_fts_delete('old')} {_fts_insert('new')} END",
        "CREATE TRIGGER records_search_delete AFTER DELETE ON records FOR EACH ROW "
        f"WHEN {_indexed('old')} BEGIN {_fts_delete('old')} END",
    ],
    "postgresql": [
        "CREATE TABLE record_search (seq BIGINT PRIMARY KEY REFERENCES records (seq) "
        "ON DELETE CASCADE, table_id VARCHAR(40) NOT NULL, body TEXT NOT NULL)",
        "CREATE INDEX ix_record_search_body ON record_search USING gin (body {ops})",
        _PG_FUNCTION,
        "CREATE TRIGGER records_search_insert AFTER INSERT ON records "
        "REFERENCING NEW TABLE AS claystack_new "
        "FOR EACH STATEMENT EXECUTE FUNCTION claystack_record_search()",
        "CREATE TRIGGER records_search_update AFTER UPDATE ON records "
        "REFERENCING NEW TABLE AS claystack_new "
        "FOR EACH STATEMENT EXECUTE FUNCTION claystack_record_search()",
    ],
}
DROP: dict[str, list[str]] = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS records_search_insert",
        "DROP TRIGGER IF EXISTS records_search_update",
        "DROP TRIGGER IF EXISTS records_search_delete",
        "DROP TABLE IF EXISTS records_search",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS records_search_insert ON records",
        "DROP TRIGGER IF EXISTS records_search_update ON records",
        "DROP FUNCTION IF EXISTS claystack_record_search()",
        "DROP TABLE IF EXISTS record_search",
    ],
}
# Emptying every table (``lifecycle.reset``): an FTS5 table without content is emptied
# by command; PostgreSQL's ``record_search`` goes with its records.
RESET = {"sqlite": "INSERT INTO records_search(records_search) VALUES ('delete-all')"}


# -- search ----------------------------------------------------------------------------------


async def state(conn: AsyncConnection, table_id: str) -> str:
    """``absent`` (not listed), ``building`` or ``ready``."""
    row = (
        await conn.execute(
            text("SELECT built_to, target FROM search_tables WHERE table_id = :t"),
            {"t": table_id},
        )
    ).first()
    if row is None:
        return "absent"
    return "ready" if row.built_to >= row.target else "building"


async def enable(conn: AsyncConnection, table_id: str) -> None:
    """Lists the table (a no-op when it is): its rows from now on are indexed as written,
    the ones it has by ``build_step``."""
    await conn.execute(
        text(
            "INSERT INTO search_tables (table_id, built_to, target) "
            "SELECT CAST(:t AS VARCHAR(40)), 0, coalesce(max(seq), 0) FROM records "
            "WHERE table_id = :t "
            "ON CONFLICT (table_id) DO NOTHING"
        ),
        {"t": table_id},
    )


def candidates(dialect: str, table_id: str, needle: str) -> Any:
    """A select of the ``seq`` of the table's rows whose text may contain ``needle`` (lower
    case, at least 3 characters; ASCII on SQLite, whose trigram folding the exact test
    after it may not share for other text), or None when the index cannot answer."""
    if len(needle) < 3:
        return None
    if dialect == "sqlite":
        if not needle.isascii():
            return None
        grams = dict.fromkeys(needle[i : i + 3] for i in range(len(needle) - 2))
        query = " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)
        return (
            text("SELECT rowid FROM records_search WHERE records_search MATCH :q")
            .bindparams(bindparam("q", query, unique=True))
            .columns(column("rowid", BigInteger))
        )
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (
        text("SELECT seq FROM record_search WHERE table_id = :st AND body LIKE :sp ESCAPE '\\'")
        .bindparams(bindparam("st", table_id, unique=True), bindparam("sp", pattern, unique=True))
        .columns(column("seq", BigInteger))
    )


async def forget(conn: AsyncConnection, table_ids: list[str]) -> None:
    """Takes tables off the list before all their rows go, so that the rows' delete does not
    re-read each row's text for the index (SQLite): the index keeps their entries, which
    can only add candidates that the exact test after it drops."""
    if table_ids:
        await conn.execute(delete(SearchTable).where(SearchTable.table_id.in_(table_ids)))


async def build_step(conn: AsyncConnection, table_id: str, chunk: int = BUILD_CHUNK) -> bool:
    """Indexes the next ``chunk`` rows of the table that are not indexed yet, in the
    caller's (write) transaction; True when none are left (or the table is gone)."""
    lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
    row = (
        await conn.execute(
            text(f"SELECT built_to, target FROM search_tables WHERE table_id = :t{lock}"),
            {"t": table_id},
        )
    ).first()
    if row is None or row.built_to >= row.target:
        return True
    params = {"t": table_id, "lo": row.built_to, "top": row.target, "n": chunk}
    got = (
        await conn.execute(
            text(
                "SELECT count(*) AS n, max(seq) AS hi FROM (SELECT seq FROM records "
                "WHERE table_id = :t AND seq > :lo AND seq <= :top ORDER BY seq LIMIT :n) x"
            ),
            params,
        )
    ).one()
    # A short chunk is the last one: the rest of the range holds no rows of this table.
    hi = int(got.hi) if got.n >= chunk else int(row.target)
    params["hi"] = hi
    if conn.dialect.name == "sqlite":
        body = _SQLITE_TEXT.format(c="cells")
        insert = (
            f"INSERT INTO records_search(rowid, body) SELECT seq, {body} FROM records "
            "WHERE table_id = :t AND seq > :lo AND seq <= :hi"
        )
    else:
        insert = (
            "INSERT INTO record_search (seq, table_id, body) "
            "SELECT seq, table_id, lower(cells::text) FROM records "
            "WHERE table_id = :t AND seq > :lo AND seq <= :hi ON CONFLICT (seq) DO NOTHING"
        )
    await conn.execute(text(insert), params)
    await conn.execute(text("UPDATE search_tables SET built_to = :hi WHERE table_id = :t"), params)
    if hi < row.target:
        return False
    if conn.dialect.name == "postgresql":
        # Fresh statistics, or the planner may read the table's rows instead of the index
        # (a table just bulk-loaded has none yet).
        await conn.execute(text("ANALYZE records, record_search"))
    return True


# -- filters ---------------------------------------------------------------------------------


def safe_id(value: str) -> bool:
    return bool(_SAFE_ID.match(value))


def cell_expression(dialect: str, field_id: str, column: str = "cells") -> str:
    """The lowered text of a cell, spelled as its index spells it."""
    if dialect == "sqlite":
        # The CAST as SQLAlchemy's ``as_string()`` writes it: numbers compare as text.
        return f"lower(CAST(json_extract({column}, '$.\"{field_id}\"') AS VARCHAR))"
    return f"lower(({column} ->> '{field_id}'))"


def filter_index_name(table_id: str, field_id: str) -> str:
    digest = hashlib.sha1(f"{table_id}/{field_id}".encode()).hexdigest()[:24]
    return f"ix_records_view_{digest}"


def _filter_index_sql(dialect: str, table_id: str, field_id: str, concurrently: bool) -> str:
    name = filter_index_name(table_id, field_id)
    expr = cell_expression(dialect, field_id)
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {name} ON records ({expr}) WHERE table_id = '{table_id}'"
    )


async def ensure_filter_index(conn: AsyncConnection, table_id: str, field_id: str) -> bool:
    """Makes the (table, field) expression index if it is not there, in the caller's
    transaction; False for ids that cannot be written into SQL text."""
    if not (safe_id(table_id) and safe_id(field_id)):
        return False
    await conn.execute(text(_filter_index_sql(conn.dialect.name, table_id, field_id, False)))
    return True


async def drop_filter_indexes(conn: AsyncConnection, table_id: str, field_ids: list[str]) -> None:
    """Drops the indexes of deleted fields (or of every field of a deleted table), in the
    caller's transaction."""
    for field_id in field_ids:
        if safe_id(table_id) and safe_id(field_id):
            await conn.execute(
                text(f"DROP INDEX IF EXISTS {filter_index_name(table_id, field_id)}")
            )


async def change_filter_indexes_concurrently(
    engine: AsyncEngine, table_id: str, field_ids: list[str], *, drop: bool
) -> None:
    """PostgreSQL: makes (or drops) the indexes outside any transaction, ``CONCURRENTLY``.
    In a transaction, ``CREATE INDEX`` holds a SHARE lock on ``records`` for the whole build
    (every table's writers wait) and ``DROP INDEX`` an ACCESS EXCLUSIVE one (it queues behind
    any long reader, an export say, and every table's readers queue behind it).

    One process at a time works on an index (an advisory lock on its name; another process
    that finds it taken leaves the index to it). A build that failed or was cancelled leaves
    an invalid index behind: the next build drops it first."""
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for field_id in field_ids:
            if not (safe_id(table_id) and safe_id(field_id)):
                continue
            name = filter_index_name(table_id, field_id)
            key = {"k": "claystack:" + name}
            if not await auto.scalar(_TRY_LOCK, key):
                continue
            try:
                if drop or await auto.scalar(_INVALID, {"n": name}):
                    await auto.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
                if not drop:
                    sql = _filter_index_sql("postgresql", table_id, field_id, True)
                    await auto.execute(text(sql))
            finally:
                await auto.execute(_UNLOCK, key)


_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtext(:k))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtext(:k))")
# An index of this name in the search path's schema that a failed build left unusable.
_INVALID = text(
    "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :n AND c.relnamespace = current_schema()::regnamespace"
)
