"""Export and import jobs: run in the background of the server process that claims them.

A job's state lives in its row, so any process can answer for it. A process claims a job
by setting its lease (one UPDATE that only one claimer can win), renews it with every write
of its progress, and releases it when it stops; a job whose lease lapsed (its process died)
is claimed again by the next poll of any server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import astuple

from .config import Settings
from .services import exports, imports, retention
from .services.common import now_ms
from .services.leases import Lease
from .storage.engine import Database
from .storage.repositories import jobs as jobs_repo

log = logging.getLogger("claystack.jobs")


class JobRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._running: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, tuple[str, Lease]] = {}  # job id → (kind, its lease)
        self._poller: asyncio.Task[None] | None = None

    def start(self, *, idle: bool = False) -> None:
        """Starts polling for jobs; with ``idle`` (after a reset: there are none) the first
        poll comes after ``job_poll_seconds``."""
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(idle), name="claystack-jobs")

    async def stop(self) -> None:
        """Stops the jobs in hand and releases them, so another process resumes them at
        once (each resumes from its stored progress)."""
        tasks = list(self._running.values())
        held = dict(self._held)
        if self._poller is not None:
            tasks.append(self._poller)
        self._poller = None
        self._running = {}
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if held:
            try:
                await self._release(held)
            except Exception:  # the leases lapse anyway
                log.exception("releasing export and import jobs failed")

    async def _release(self, held: dict[str, tuple[str, Lease]]) -> None:
        async with self.db.transaction(write=True) as conn:
            for job_id, (kind, lease) in held.items():
                await jobs_repo.release(conn, kind, job_id, tuple(lease.values()))

    def submit(self, kind: str, job_id: str) -> None:
        """Starts a job just committed (a no-op if this process already runs it)."""
        if job_id not in self._running:
            task = asyncio.create_task(self._run(kind, job_id), name=f"claystack-{kind}")
            self._running[job_id] = task
            task.add_done_callback(lambda _: self._running.pop(job_id, None))

    async def _claim(self, kind: str, job_id: str) -> Lease | None:
        now = now_ms()
        lease = Lease(
            now + int(self.settings.job_lease_seconds * 1000), self.settings.job_lease_seconds
        )
        async with self.db.transaction(write=True) as conn:
            won = await jobs_repo.claim(conn, kind, job_id, lease.value, now)
        return lease if won else None

    async def _run(self, kind: str, job_id: str) -> None:
        try:
            lease = await self._claim(kind, job_id)
            if lease is None:
                return
            self._held[job_id] = (kind, lease)
            if kind == "export":
                await exports.run_export(self.db, self.settings, job_id, lease)
            else:
                await imports.run_import(self.db, self.settings, job_id, lease)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a job's failure is its own, never the server's
            log.exception("%s job %s failed", kind, job_id)
            try:
                await self._fail(kind, job_id, f"Internal error: {type(exc).__name__}")
            except Exception:
                log.exception("could not mark %s job %s failed", kind, job_id)
        finally:
            self._held.pop(job_id, None)

    async def _fail(self, kind: str, job_id: str, message: str) -> None:
        async with self.db.transaction(write=True) as conn:
            await jobs_repo.fail(conn, kind, job_id, message, now_ms())

    async def _poll(self, idle: bool = False) -> None:
        next_sweep = 0.0
        if idle:
            await asyncio.sleep(self.settings.job_poll_seconds)
        while True:
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.retention_sweep_seconds
                    swept = await retention.sweep(self.db, self.settings)
                    if swept.exports or swept.uploads:
                        log.info("deleted %d export and %d upload files", *astuple(swept))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deleting old export and upload files failed")
            try:
                async with self.db.transaction(write=False) as conn:
                    found = await jobs_repo.claimable(conn, now_ms())
                for kind, job_id in found:
                    self.submit(kind, job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("polling jobs failed")
            await asyncio.sleep(self.settings.job_poll_seconds)
