"""claystack serve: the server, imported only when this command runs."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ._console import console, fail
from .admin import load_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080)")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="sqlite:///path or postgresql://… (default: SQLite file)")
    ] = None,
    data_dir: Annotated[str | None, typer.Option(help="Where the SQLite file lives")] = None,
    enable_reset: Annotated[bool, typer.Option(help="Expose POST /_claystack/reset")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    workers: Annotated[
        int, typer.Option(help="HTTP processes on one port (PostgreSQL only)", min=1)
    ] = 1,
    engine: Annotated[
        bool, typer.Option(help="Run enrichment in this process (off: leave it to workers)")
    ] = True,
) -> None:
    """Start the server: migrations run first; the first start creates a demo login."""
    overrides = {
        "host": host,
        "port": port,
        "database_url": database_url,
        "data_dir": data_dir,
        "enable_reset": enable_reset or None,
        "run_workers": None if engine else False,
    }
    settings = load_settings(**overrides)
    if workers > 1 and settings.is_sqlite:
        fail(
            "SQLite serves one process: drop --workers, or use PostgreSQL "
            "(--database-url postgresql://…) for several"
        )
    import uvicorn

    console.print(
        f"claystack listening on [bold]{settings.base_url}/v3[/bold] "
        f"(database: {_redact(settings.resolved_database_url)})",
        highlight=False,
    )
    if settings.seed_demo:
        console.print(
            f"demo login: [bold]{settings.demo_email}[/bold] / "
            f"[bold]{settings.demo_password}[/bold]  (workspace 1; created on first start)",
            highlight=False,
        )
    _tune_gc()
    if workers > 1:
        # Each process builds its own app from the environment: hand it this command's options.
        for name, value in overrides.items():
            if value is not None:
                os.environ[f"CLAYSTACK_{name.upper()}"] = str(value)
        uvicorn.run(
            "claystack.server.app:create_app",
            factory=True,
            workers=workers,
            # A child still importing on a busy machine is not dead: give it time to answer.
            timeout_worker_healthcheck=60,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            access_log=False,
            # The app reads X-Forwarded-For itself, from CLAYSTACK_TRUSTED_PROXIES only.
            proxy_headers=False,
        )
        return
    from ..server.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
    )


def _tune_gc() -> None:
    """A server allocates many short-lived dicts per request (1,000-row batches); the default
    collector thresholds make it rescan long-lived objects over and over. Freeze what start-up
    built and collect the young generation less often."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
