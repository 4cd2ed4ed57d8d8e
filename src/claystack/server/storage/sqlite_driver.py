"""SQLAlchemy's aiosqlite dialect with one thread hop per statement.

The stock adapter crosses to aiosqlite's worker thread four times per statement (make a
cursor, execute, fetch, close); each crossing costs ~100 µs, which dominated small
requests. Here a statement and its fetch run in the worker thread in one call, and the
transaction's BEGIN rides along with its first statement. This leans on adapter internals
of SQLAlchemy 2.0.44+/2.1; the whole test suite runs through it.

Statements marked ``execution_options(sqlite_inline=True)`` (point lookups, single-row
writes and the few rows of a table's fields or views, which take microseconds in SQLite)
skip the worker thread altogether and run on the event loop's thread, an ``executemany``
too: a thread hop costs more than they do. A transaction that ran only such statements
commits inline too. Anything that may scan runs in the worker thread as before, so the
loop is never blocked by a long query.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.concurrency import await_

DRIVER = "claystack_aiosqlite"
T = TypeVar("T")


async def _nothing() -> None:
    return None


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # the sqlite3 cursor, once executed
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()

    def execute_inline(self, operation: Any, parameters: Any) -> Any:
        conn = cast("_Connection", self._adapt_connection)
        if conn._execute_mutex.locked():  # another statement is in the worker thread
            return self.execute(operation, parameters)
        raw: sqlite3.Connection = self._connection._conn
        await_(_nothing())  # SQLAlchemy's async layer insists that an execute awaits once
        try:
            begin = conn.take_begin()
            if begin:
                raw.execute(begin)
            cur = raw.cursor()
            cur.execute(operation, () if parameters is None else parameters)
            rows = cur.fetchall() if cur.description else None
        except Exception as error:
            conn._handle_exception(error)
        self._cursor = cur  # type: ignore[assignment]  # a sqlite3 cursor, as in _execute_async
        if rows is not None:
            self._rows = collections.deque(rows)
        return cur

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        raw: sqlite3.Connection = self._connection._conn
        conn = cast("_Connection", self._adapt_connection)
        conn.inline_only = False
        begin = conn.take_begin()

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

    def executemany_inline(self, operation: Any, seq_of_parameters: Any) -> Any:
        conn = cast("_Connection", self._adapt_connection)
        if conn._execute_mutex.locked():
            return self.executemany(operation, seq_of_parameters)
        raw: sqlite3.Connection = self._connection._conn
        await_(_nothing())
        try:
            begin = conn.take_begin()
            if begin:
                raw.execute(begin)
            cur = raw.cursor()
            cur.executemany(operation, seq_of_parameters)
        except Exception as error:
            conn._handle_exception(error)
        self._cursor = cur  # type: ignore[assignment]
        return cur

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._cursor = await executemany(self._adapt_connection, operation, seq_of_parameters)
        return self._cursor

    def close(self) -> None:
        self._rows.clear()


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("pending_begin", "inline_only")
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None
        self.inline_only = True  # no statement of this transaction went to the thread

    def start(self, begin: str) -> None:
        self.pending_begin = begin
        self.inline_only = True

    def take_begin(self) -> str | None:
        begin, self.pending_begin = self.pending_begin, None
        return begin

    def _finish(self, inline: Any, threaded: Any) -> None:
        raw: sqlite3.Connection | None = self._connection._conn if self._connection else None
        if raw is None or not raw.in_transaction:
            return  # nothing began (BEGIN is sent with the first statement): no hop at all
        if not self.inline_only:
            threaded()
            return
        try:
            inline(raw)
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        self._finish(sqlite3.Connection.commit, super().commit)

    def rollback(self) -> None:
        self._finish(sqlite3.Connection.rollback, super().rollback)


async def executemany(connection: Any, operation: str, seq_of_parameters: Any) -> Any:
    """``executemany`` in one hop on an adapted connection (its pending BEGIN first)."""
    raw: sqlite3.Connection = connection._connection._conn
    connection.inline_only = False
    begin = connection.take_begin()

    def run() -> sqlite3.Cursor:
        if begin:
            raw.execute(begin)
        cur = raw.cursor()
        cur.executemany(operation, seq_of_parameters)
        return cur

    return await connection._connection._execute(run)


async def run_in_worker(conn: AsyncConnection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn(raw)`` with the transaction's sqlite3 connection, in the worker thread and one
    hop (its pending BEGIN first): statements that need no result between them, or only
    SQLite's, for the price of one crossing. Errors are sqlite3's own."""
    adapted = cast("_Connection", (await conn.get_raw_connection()).dbapi_connection)
    raw: sqlite3.Connection = adapted._connection._conn
    adapted.inline_only = False
    begin = adapted.take_begin()

    def run() -> T:
        if begin:
            raw.execute(begin)
        return fn(raw)

    async with adapted._execute_mutex:
        return cast(T, await adapted._connection._execute(run))


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        # Used from the loop's thread (inline statements) and aiosqlite's, never at once.
        kw["check_same_thread"] = False
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return _Connection(self, await_(connection))


class Dialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI(aiosqlite, sqlite3)

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        if context is not None and context.execution_options.get("sqlite_inline"):
            cursor.execute_inline(statement, parameters)
        else:
            cursor.execute(statement, parameters)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        if context is not None and context.execution_options.get("sqlite_inline"):
            cursor.executemany_inline(statement, parameters)
        else:
            cursor.executemany(statement, parameters)


registry.register(f"sqlite.{DRIVER}", __name__, "Dialect")
