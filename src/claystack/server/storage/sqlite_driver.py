"""SQLAlchemy's aiosqlite dialect with one thread hop per statement.

The stock adapter crosses to aiosqlite's worker thread four times per statement (make a
cursor, execute, fetch, close); each crossing costs ~100 µs, which dominated small
requests. Here a statement and its fetch run in the worker thread in one call, and the
transaction's BEGIN rides along with its first statement. This leans on adapter internals
of SQLAlchemy 2.0.44+/2.1; the whole test suite runs through it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

DRIVER = "claystack_aiosqlite"


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # the sqlite3 cursor, once executed
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        raw: sqlite3.Connection = self._connection._conn
        begin = cast("_Connection", self._adapt_connection).take_begin()

        def run() -> tuple[sqlite3.Cursor, list[Any] | None]:
            if begin:
                raw.execute(begin)
            cur = raw.cursor()
            if parameters is None:
                cur.execute(operation)
            else:
                cur.execute(operation, parameters)
            return cur, (cur.fetchall() if cur.description else None)

        async with self._adapt_connection._execute_mutex:
            cur, rows = await self._connection._execute(run)
        self._cursor = cur
        if rows is not None:
            self._rows = collections.deque(rows)
        return cur

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._cursor = await executemany(self._adapt_connection, operation, seq_of_parameters)
        return self._cursor

    def close(self) -> None:
        self._rows.clear()


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("pending_begin",)
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None

    def take_begin(self) -> str | None:
        begin, self.pending_begin = self.pending_begin, None
        return begin


async def executemany(connection: Any, operation: str, seq_of_parameters: Any) -> Any:
    """``executemany`` in one hop on an adapted connection (its pending BEGIN first)."""
    raw: sqlite3.Connection = connection._connection._conn
    begin = connection.take_begin()

    def run() -> sqlite3.Cursor:
        if begin:
            raw.execute(begin)
        cur = raw.cursor()
        cur.executemany(operation, seq_of_parameters)
        return cur

    return await connection._connection._execute(run)


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return _Connection(self, await_(connection))


class Dialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "Dialect")
