"""claystack worker and claystack migrate: the processes beside ``serve`` on PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from ._console import console, fail
from .admin import describe_database, load_settings

DatabaseUrl = Annotated[
    str | None, typer.Option(help="postgresql://… (default: CLAYSTACK_DATABASE_URL)")
]
DataDir = Annotated[
    str | None,
    typer.Option(help="Where the SQLite file lives (default: the per-user data directory)"),
]


def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Actions executing at once (default 64)", min=1)
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the enrichment engine alone (no HTTP): start as many as you like, on any machine
    that reaches the PostgreSQL database, beside API processes started with --no-engine."""
    settings = load_settings(database_url=database_url, run_concurrency=concurrency)
    if settings.is_sqlite:
        fail(
            "a separate worker needs PostgreSQL: on SQLite, `claystack serve` runs the engine "
            "in its one process (set --database-url postgresql://…)"
        )
    import asyncio

    from ..server import worker as engine_worker

    console.print("claystack worker: running the engine (Ctrl+C stops it)", highlight=False)
    asyncio.run(engine_worker.run(settings))


def migrate(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Apply the database migrations and exit (every start also does this, under a lock)."""
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    import asyncio

    from ..server.storage import migrate as migrations
    from ..server.storage.engine import Database

    async def go() -> set[str]:
        db = Database.from_settings(settings)
        try:
            await migrations.upgrade(db)
            return await migrations.current_revisions(db)
        finally:
            await db.dispose()

    current = asyncio.run(go())
    console.print(
        f"migrations current: {', '.join(sorted(current))} "
        f"(database: {describe_database(settings)})",
        highlight=False,
    )
