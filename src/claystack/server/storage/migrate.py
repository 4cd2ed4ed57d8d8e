"""Applies the Alembic migrations that ship inside the package."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by every claystack process: they queue on it, so one migrates at a time.
_PG_MIGRATION_LOCK = 0x636C6179  # "clay"


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Brings the database to ``revision``; safe to run on every start, from any number of
    processes at once (SQLite: an immediate transaction; PostgreSQL: a transaction-scoped
    advisory lock, so the second process waits and then finds nothing to do)."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
        await conn.commit()


async def lock_for_startup(conn: Any) -> None:
    """Inside a write transaction: makes processes starting together take turns (SQLite's
    write transaction already does)."""
    if conn.dialect.name != "sqlite":
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")


@functools.cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def head_revisions() -> set[str]:
    """The revisions this code migrates to (read once: parsing the scripts takes ~0.5 s,
    too long for a readiness probe polled by an orchestrator)."""
    return set(_heads())


async def current_revisions(db: Database) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )


async def pending(db: Database) -> set[str]:
    """Heads the database has not reached yet: empty when migrations are current."""
    return head_revisions() - await current_revisions(db)
