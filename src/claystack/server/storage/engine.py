"""Engine set-up for both backends, and the one way the server opens a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .uow import CommitListeners, UnitOfWork


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    """The engine plus what the backend needs to keep writers correct.

    SQLite allows one writer: writers in this process queue on an asyncio lock instead of
    spinning in SQLite's busy handler, and each write transaction starts with
    ``BEGIN IMMEDIATE`` so another process (the CLI) waits instead of failing mid-way.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str = "",
        echo: bool = False,
        synchronous_commit: str = "on",
        index_min_rows: int = 10_000,
        pool_size: int = 10,
        max_overflow: int = 20,
    ) -> None:
        self.url = url
        # A table of this many rows gets indexes for its views' EQUAL filters (uow.filter_indexes)
        self.index_min_rows = index_min_rows
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {
            "json_serializer": _dumps,
            "json_deserializer": orjson.loads,
            "echo": echo,
        }
        if self.is_sqlite:
            from .sqlite_driver import DRIVER

            url = url.replace("sqlite+aiosqlite://", f"sqlite+{DRIVER}://", 1)
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Every transaction ends in an explicit COMMIT or ROLLBACK (``_begin``), so the
            # pool's own rollback on check-in would only cost another thread hop.
            kwargs["pool_reset_on_return"] = None
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 8
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
            server: dict[str, str] = {}
            if schema:
                server["search_path"] = schema
            if synchronous_commit != "on":
                server["synchronous_commit"] = synchronous_commit
            if server:
                kwargs["connect_args"] = {"server_settings": server}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.write_lock = asyncio.Lock()
        self.listeners = CommitListeners()
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)

    @classmethod
    def from_settings(cls, settings: Any) -> Database:
        """The database the settings name, with their per-connection options."""
        return cls(
            settings.resolved_database_url,
            schema=settings.database_schema,
            synchronous_commit=settings.database_synchronous_commit,
            index_min_rows=settings.view_index_min_rows,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """One transaction; committed when the block ends, rolled back on any error. A read
        on PostgreSQL is a run of autocommit statements instead (see ``_begin``)."""
        if self.is_sqlite and write:
            async with self.write_lock:
                async with self._begin(immediate=True) as conn:
                    yield conn
        else:
            async with self._begin(immediate=False, write=write) as conn:
                yield conn

    @asynccontextmanager
    async def unit_of_work(self, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
        """One transaction as a unit of work (``storage/uow.py``): its after-commit hooks run
        once the commit has happened, and not at all if the block raises."""
        async with self.transaction(write=write) as conn:
            uow = UnitOfWork(
                conn, write=write, listeners=self.listeners, index_min_rows=self.index_min_rows
            )
            yield uow
            await uow.before_commit()
        await uow.committed()

    @asynccontextmanager
    async def _begin(
        self, *, immediate: bool, write: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        # PostgreSQL reads run without BEGIN and COMMIT (two round trips of a request that
        # sends three or four statements): under READ COMMITTED every statement takes its
        # own snapshot inside a transaction too, so a read sees exactly what it saw there.
        engine = self.engine if write or self.is_sqlite else self._autocommit
        async with engine.connect() as conn:
            # Explicit, not on the first statement: what ``run_in_worker`` sends does not
            # pass through SQLAlchemy, whose commit must come all the same.
            await conn.begin()
            adapted = None
            if self.is_sqlite:
                # SQLAlchemy's begin() sends nothing to sqlite3 (autocommit mode, see
                # _sqlite_on_connect); the driver sends BEGIN with the first statement. The
                # connection was just checked out: its DB-API connection is at hand without
                # I/O (no greenlet hop to fetch it).
                adapted = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
                adapted.start("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()
            finally:
                if adapted is not None:
                    adapted.pending_begin = None

    async def ping(self) -> None:
        """One round trip to the database (readiness): raises when it cannot answer."""
        async with self.transaction(write=False) as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module; ``_begin`` issues BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # 16 MiB of page cache per connection: the pool holds up to 16, and RSS must stay low.
    cur.execute("PRAGMA cache_size=-16384")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
