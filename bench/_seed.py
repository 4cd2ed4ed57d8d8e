"""Big tables built by SQL: rows written straight into ``records`` (and the table's kept row
count), for benchmarks and browser tests that need 100,000 or 1,000,000 rows to read, not to
write. The table and its fields are made through the API first; only the rows skip it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from claystack.server.ids import new_ids

CHUNK = 10_000


def _chunks(n: int, cells: Callable[[int], dict[str, Any]]) -> Iterator[list[tuple[Any, ...]]]:
    now = int(time.time() * 1000)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        ids = new_ids("r", size)
        yield [
            (rid, orjson.dumps(cells(start + i)).decode(), now, now) for i, rid in enumerate(ids)
        ]


def seed_rows(
    database_url: str,
    table_id: str,
    n: int,
    cells: Callable[[int], dict[str, Any]],
    *,
    schema: str = "",
) -> None:
    """Appends ``n`` rows whose cells are ``cells(i)`` to a table, by SQL.

    ``database_url`` is claystack's (``sqlite:///path`` or ``postgresql://…``); ``schema`` is
    the PostgreSQL schema the server uses, if not the default.
    """
    if database_url.startswith("sqlite"):
        _seed_sqlite(database_url.split("///", 1)[1], table_id, n, cells)
    else:
        work = _seed_postgresql(database_url, schema, table_id, n, cells)
        # Playwright's sync API keeps an event loop running in this thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, work).result()


def _seed_sqlite(path: str, table_id: str, n: int, cells: Callable[[int], dict[str, Any]]) -> None:
    db = sqlite3.connect(path, timeout=60)
    try:
        for rows in _chunks(n, cells):
            db.executemany(
                "INSERT INTO records (table_id, id, cells, meta, created_at, updated_at) "
                "VALUES (?, ?, ?, NULL, ?, ?)",
                [(table_id, *row) for row in rows],
            )
        db.execute(
            "UPDATE tables SET row_count = row_count + ?, data_version = data_version + 1 "
            "WHERE id = ?",
            (n, table_id),
        )
        db.commit()
    finally:
        db.close()


async def _seed_postgresql(
    url: str, schema: str, table_id: str, n: int, cells: Callable[[int], dict[str, Any]]
) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if schema:
            await conn.execute(f'SET search_path TO "{schema}"')
        async with conn.transaction():
            for rows in _chunks(n, cells):
                await conn.copy_records_to_table(
                    "records",
                    records=[(table_id, rid, c, None, t0, t1) for rid, c, t0, t1 in rows],
                    columns=["table_id", "id", "cells", "meta", "created_at", "updated_at"],
                    schema_name=schema or None,
                )
            await conn.execute(
                "UPDATE tables SET row_count = row_count + $1, "
                "data_version = data_version + 1 WHERE id = $2",
                n,
                table_id,
            )
    finally:
        await conn.close()
