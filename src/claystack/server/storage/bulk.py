"""Bulk row writes, the one place that goes below SQLAlchemy Core for speed.

On SQLite a 1,000-row insert through Core spends more time binding parameters than
SQLite spends writing; here the JSON is serialized once with orjson and the rows go to
the driver in one ``executemany``. PostgreSQL keeps the Core path (insertmanyvalues).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import sqlite_driver
from .models import Record

_SQLITE_INSERT = (
    "INSERT INTO records (table_id, id, cells, meta, created_at, updated_at) "
    "VALUES (?, ?, ?, NULL, ?, ?)"
)


async def insert_records(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts rows given as dicts of ``table_id, id, cells, created_at, updated_at``."""
    if conn.dialect.name != "sqlite":
        await conn.execute(insert(Record), [{**r, "meta": None} for r in rows])
        return
    dumps = orjson.dumps
    params = [
        (r["table_id"], r["id"], dumps(r["cells"]).decode(), r["created_at"], r["updated_at"])
        for r in rows
    ]
    raw = await conn.get_raw_connection()
    await sqlite_driver.executemany(raw.dbapi_connection, _SQLITE_INSERT, params)
