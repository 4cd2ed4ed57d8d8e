"""A process that runs the enrichment engine alone, with no HTTP: ``claystack worker``.

Any number of them (and of API processes started with the engine off) can share one
PostgreSQL database: each claims jobs from the shared queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from .config import Settings
from .engine import Runner
from .enrichment.actions import _http as http_clients
from .services import accounts
from .storage import migrate
from .storage.engine import Database

log = logging.getLogger("claystack")


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Migrates, starts the engine and runs until ``stop`` is set or SIGTERM/SIGINT arrives;
    then stops claiming, lets the jobs in hand finish and exits."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
            pass
    db = Database.from_settings(settings)
    runner: Runner | None = None
    try:
        await migrate.upgrade(db)
        async with db.transaction(write=True) as conn:
            await migrate.lock_for_startup(conn)
            await accounts.instance_secret(conn, settings)  # made here if this start is the first
        runner = Runner(db, settings)
        runner.start()
        db.listeners.jobs_queued = runner.wake
        log.warning("claystack worker: running (concurrency %d)", settings.run_concurrency)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.stop()
        await http_clients.aclose()
        await db.dispose()
