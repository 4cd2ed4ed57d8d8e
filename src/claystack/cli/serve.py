"""claystack serve: the server, imported only when this command runs."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import no_collections
from ._console import console, err, fail
from .admin import describe_database, load_settings, run_on_database


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080)")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="sqlite:///path or postgresql://… (default: SQLite file)")
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Where the SQLite file lives (default: the per-user data directory)"),
    ] = None,
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
    app = None
    with no_collections():  # create_served_app collects once and tunes the collector
        settings = load_settings(**overrides)
        if workers > 1 and settings.is_sqlite:
            fail(
                "SQLite serves one process: drop --workers, or use PostgreSQL "
                "(--database-url postgresql://…) for several"
            )
        _check_port(settings.host, settings.port)
        import uvicorn

        where = describe_database(settings)
        _note_old_default(settings)
        _announce(settings, where, seeded=_prepare(settings))
        if workers == 1:
            from ..server.app import create_served_app

            app = create_served_app(settings)
    if app is None:
        # Each process builds its own app from the environment: hand it this command's options.
        for name, value in overrides.items():
            if value is not None:
                os.environ[f"CLAYSTACK_{name.upper()}"] = str(value)
        uvicorn.run(
            "claystack.server.app:create_served_app",
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
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
    )


def _announce(settings: Any, where: str, *, seeded: bool) -> None:
    """The database, the demo login (made now, or on the first start) and the address."""
    console.print(f"database: {where}", highlight=False)
    if seeded:
        console.print(
            f"created the demo login: [bold]{settings.demo_email}[/bold] / "
            f"[bold]{settings.demo_password}[/bold] (workspace 1)",
            highlight=False,
        )
    elif settings.seed_demo:
        console.print(
            f"demo login (made on the first start): {settings.demo_email} / "
            f"{settings.demo_password}, unless changed since",
            highlight=False,
        )
    console.print(f"claystack listening on [bold]{settings.base_url}/v3[/bold]", highlight=False)


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(
                    f"port {port} on {host} is already in use (another claystack serve?); "
                    "stop it or pick another with --port or CLAYSTACK_PORT"
                )
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _note_old_default(settings: Any) -> None:
    old = Path(".claystack") / "claystack.db"
    if settings.sqlite_path is not None and old.is_file():
        if old.resolve() != settings.sqlite_path.resolve():
            err.print(
                f"note: {old} (the default of earlier versions) is not used; "
                "pass --data-dir .claystack to keep using it",
                highlight=False,
            )


def _prepare(settings: Any) -> bool:
    """Migrates and seeds before serving, so the output can say whether the demo login is new."""
    from ..server.services import accounts
    from ..server.storage import migrate

    async def seed(conn: Any, settings: Any) -> bool:
        # Several `serve`s may start together on one PostgreSQL database: take turns.
        await migrate.lock_for_startup(conn)
        secret = await accounts.instance_secret(conn, settings)
        return await accounts.seed_demo(conn, settings, secret) is not None

    return bool(run_on_database(seed, settings))
