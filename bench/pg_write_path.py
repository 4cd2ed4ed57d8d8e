"""PostgreSQL write path, statement by statement (issue 14): the cost of the count triggers
and of the unnest insert, measured in-process on a fresh schema with alternating runs so
that a busy machine weighs on every variant alike.

    .venv/bin/python bench/pg_write_path.py --database postgresql://127.0.0.1:5432/test

    insert   1,000 rows of 5 text cells: Core executemany (before) vs one JSON array (now),
             each with the count triggers and with them dropped
    formula  a 1,000-row formula batch stored by one UPDATE … FROM jsonb_to_recordset
             (the sweeper's statement), with the triggers and without
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import asyncpg
import orjson
from sqlalchemy import insert, text

from claystack.server.storage import bulk, counters, migrate
from claystack.server.storage.engine import Database
from claystack.server.storage.models import Record
from claystack.server.storage.repositories.sweeps import _FORMULA_SQL
from claystack.server.storage.uow import UnitOfWork

ROUNDS = 15


async def core_insert(conn: Any, rows: list[dict[str, Any]]) -> None:
    await conn.execute(insert(Record), [{**r, "meta": None} for r in rows])


async def json_insert(conn: Any, rows: list[dict[str, Any]]) -> None:
    pairs = [(r["id"], r["cells"]) for r in rows]
    await bulk.insert_records(UnitOfWork(conn, write=True), "t", pairs, 0, lambda: None)


async def main(url: str) -> None:
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    db = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), schema=schema)
    try:
        await migrate.upgrade(db)
        async with db.transaction(write=True) as conn:
            await conn.execute(
                text(
                    "INSERT INTO workspaces (id, name, created_at, updated_at) "
                    "VALUES (1, 'w', 0, 0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO tables (id, workspace_id, name, type, settings, field_group_map, "
                    "row_count, data_version, created_at, updated_at) "
                    "VALUES ('t', 1, 't', 'spreadsheet', '{}', '{}', 0, 0, 0, 0)"
                )
            )
        times: dict[str, list[float]] = {}
        n = 0

        def rows() -> list[dict[str, Any]]:
            nonlocal n
            n += 1
            return [
                {
                    "table_id": "t",
                    "id": f"r{n}_{i}",
                    "cells": {f"c{k}": f"value {i} {k}" for k in range(5)},
                    "created_at": 0,
                    "updated_at": 0,
                }
                for i in range(1000)
            ]

        async def timed(label: str, fn: Any, *args: Any) -> None:
            async with db.transaction(write=True) as conn:
                t0 = time.perf_counter()
                await fn(conn, *args)
                times.setdefault(label, []).append(time.perf_counter() - t0)

        async def formula(conn: Any, seqs: list[int]) -> None:
            items = [{"s": s, "u": 0, "v": f"V{s}", "m": {"status": "SUCCESS"}} for s in seqs]
            params = {"f": "F", "now": 1, "rows": orjson.dumps(items).decode()}
            await conn.execute(
                text(
                    "UPDATE records SET meta = jsonb_build_object('F', jsonb_build_object("
                    "'status', 'QUEUED')), updated_at = 0 WHERE seq = ANY(:s)"
                ),
                {"s": seqs},
            )
            await conn.execute(text(_FORMULA_SQL["postgresql"]), params)

        async def triggers(on: bool) -> None:
            async with db.transaction(write=True) as conn:
                for stmt in counters.DROP_TRIGGERS["postgresql"]:
                    await conn.execute(text(stmt))
                if on:
                    for stmt in counters.TRIGGERS["postgresql"]:
                        await conn.execute(text(stmt))

        for _ in range(ROUNDS):
            for on in (True, False):
                await triggers(on)
                tag = "triggers" if on else "no triggers"
                await timed(f"insert core, {tag}", core_insert, rows())
                await timed(f"insert JSON array, {tag}", json_insert, rows())
                async with db.transaction(write=False) as conn:
                    seqs = list(
                        await conn.scalars(
                            text("SELECT seq FROM records ORDER BY seq DESC LIMIT 1000")
                        )
                    )
                await timed(f"formula batch, {tag}", formula, seqs)
        for label, samples in sorted(times.items()):
            median = statistics.median(samples) * 1000
            print(f"{label:32} median {median:7.1f} ms per 1,000 rows ({len(samples)} runs)")
    finally:
        await db.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.database))
