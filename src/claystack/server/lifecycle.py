"""Start-up, seeding and reset."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from . import security
from .engine import Runner
from .enrichment.actions import _http as http_clients
from .enrichment.pool import FormulaPool
from .indexer import SearchIndexer
from .jobs import JobRunner
from .services import accounts
from .state import AppState, state_of
from .storage import migrate
from .storage.reset import empty_tables

log = logging.getLogger("claystack")


def version() -> str:
    try:
        return package_version("claystack")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


async def start(app: FastAPI) -> None:
    state = state_of(app)
    db, settings = state.db, state.settings
    await migrate.upgrade(db)
    async with db.transaction(write=True) as conn:
        # Processes starting together must not both create the secret or the demo login.
        await migrate.lock_for_startup(conn)
        state.secret = await accounts.instance_secret(conn, settings)
        state.webhooks.secret = state.secret
        seeded = await accounts.seed_demo(conn, settings, state.secret)
    state.seeded = seeded
    if seeded:
        log.warning(
            "claystack: created demo user %s (password %r) in workspace %s",
            settings.demo_email,
            settings.demo_password,
            seeded["workspaceId"],
        )
    await security.prepare_dummy_hash(settings.password_hash_cost)
    await _start_workers(app)


async def _start_workers(
    app: FastAPI, formulas: FormulaPool | None = None, *, idle: bool = False
) -> None:
    """New run workers (when enabled) and job runner: nothing in memory is left from before
    (``formulas``, idle formula worker processes, hold nothing). ``idle``: the database holds
    no work (a reset), so neither looks before it is woken or its poll interval is up."""
    state = state_of(app)
    db, settings = state.db, state.settings
    if settings.run_workers:
        # No recovery step: the jobs of a process that died come back as their leases lapse.
        runner = Runner(db, settings, formulas)
        formulas = None
        runner.start(idle=idle)
        state.runner = runner
    db.listeners.jobs_queued = lambda: _wake_runner(state)
    if formulas is not None:
        formulas.close()
    jobs = JobRunner(db, settings)
    jobs.start(idle=idle)
    state.jobs = jobs
    state.search_indexer = SearchIndexer(
        db, min_rows=settings.view_index_min_rows, chunk=settings.view_index_build_chunk
    )
    db.listeners.filter_indexes = state.search_indexer.filter_indexes


def _wake_runner(state: AppState) -> None:
    if state.runner is not None:
        state.runner.wake()


async def stop(app: FastAPI) -> None:
    """Drains the webhook writer, stops the run workers (the jobs in hand finish within
    ``shutdown_grace_seconds`` or are released), closes outbound HTTP sessions."""
    state = state_of(app)
    await state.webhooks.close()
    if state.jobs is not None:
        await state.jobs.stop()
    await _stop_indexer(state)
    if state.runner is not None:
        await state.runner.stop()
    await http_clients.aclose()


async def _stop_indexer(state: AppState) -> None:
    if state.search_indexer is not None:
        await state.search_indexer.stop()


async def ping(app: FastAPI) -> None:
    async with state_of(app).db.transaction(write=False) as conn:
        await conn.execute(text("SELECT 1"))


async def pending_migrations(app: FastAPI) -> set[str]:
    """The migrations the database still lacks (empty when it is current)."""
    return await migrate.pending(state_of(app).db)


def migration_heads() -> list[str]:
    """The revisions a current database is at, sorted."""
    return sorted(migrate.head_revisions())


async def reset(app: FastAPI) -> dict[str, Any] | None:
    """Empties every table but ``instance`` and seeds again, in one transaction; the run
    workers and job runner start anew (no rate-limit buckets or plans of before) and idle:
    nothing is queued, so they look again when woken by new work or at their next poll
    (the export files of the deleted jobs go at the job runner's first, ``job_poll_seconds``
    on)."""
    state = state_of(app)
    db, settings = state.db, state.settings
    formulas = None
    if state.runner is not None:
        # Its jobs are deleted below; its idle formula workers serve the next runner (a
        # worker process takes ~0.1 s of CPU to start).
        await state.runner.stop(grace=0, release=False, keep_pool=True)
        formulas = state.runner.pool
    jobs = state.jobs
    if jobs is not None:
        await jobs.stop()
    await _stop_indexer(state)
    async with db.transaction(write=True) as conn:
        await empty_tables(conn)
        seeded = await accounts.seed_demo(conn, settings, state.require_secret())
    state.auth_cache.forget()
    state.webhooks.reset()
    if jobs is not None:
        await _start_workers(app, formulas, idle=True)
    elif formulas is not None:
        formulas.close()
    return seeded
