"""Builds the search index of a big table in the background (storage/search_index.py).

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

    async def idle(self) -> None:
        """Waits for the builds in hand to end."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
