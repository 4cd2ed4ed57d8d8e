"""claystack serve: the server, imported only when this command runs."""

from __future__ import annotations

from typing import Annotated

import typer

from ._console import console
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
) -> None:
    """Start the server: migrations run first; the first start creates a demo login."""
    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        enable_reset=enable_reset or None,
    )
    import uvicorn

    from ..server.app import create_app

    application = create_app(settings)
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
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
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
