"""Builds the search index of a big table in the background (storage/search_index.py), and on
PostgreSQL makes and drops views' filter indexes outside any transaction.

A search of a big table without an index asks for one; this process then lists the table
and indexes its rows a chunk per write transaction, so writers wait at most one chunk.
Searches scan as before until the last chunk is in. Another process (or this one after a
restart) that finds the table still building carries on from ``built_to``.
"""

from __future__ import annotations

import asyncio
import logging

from .storage import search_index
from .storage.engine import Database

log = logging.getLogger("claystack.indexer")


class SearchIndexer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._filters: set[asyncio.Task[None]] = set()

    def request(self, table_id: str) -> None:
        """Starts indexing the table (a no-op while this process already does)."""
        if table_id in self._tasks:
            return
        task = asyncio.create_task(self._build(table_id), name="claystack-search-index")
        self._tasks[table_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(table_id, None))

    async def _build(self, table_id: str) -> None:
        try:
            async with self.db.transaction(write=True) as conn:
                await search_index.enable(conn, table_id)
            done = False
            while not done:
                async with self.db.transaction(write=True) as conn:
                    done = await search_index.build_step(conn, table_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the next search asks again
            log.exception("indexing table %s for search failed", table_id)

    def filter_indexes(self, table_id: str, field_ids: list[str], drop: bool) -> None:
        """Makes (or drops) a table's filter indexes in the background (PostgreSQL,
        ``CONCURRENTLY``); a view's filter scans until its index is there."""
        task = asyncio.create_task(self._filter_indexes(table_id, field_ids, drop))
        self._filters.add(task)
        task.add_done_callback(self._filters.discard)

    async def _filter_indexes(self, table_id: str, field_ids: list[str], drop: bool) -> None:
        try:
            await search_index.change_filter_indexes_concurrently(
                self.db.engine, table_id, field_ids, drop=drop
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # the next filter asks again; a left-over index only costs writes
            log.exception(
                "%s filter indexes of table %s failed", "dropping" if drop else "making", table_id
            )

    def _in_hand(self) -> list[asyncio.Task[None]]:
        return [*self._tasks.values(), *self._filters]

    async def idle(self) -> None:
        """Waits for the builds in hand to end."""
        while tasks := self._in_hand():
            await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        tasks = self._in_hand()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._filters.clear()
