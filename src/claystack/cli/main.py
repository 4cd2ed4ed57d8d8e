from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from ._console import console, err, fail
from ._errors import ErrorHandlingGroup

app = typer.Typer(
    name="claystack",
    help="A self-hostable, Clay-compatible data-enrichment server, its SDK and CLI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ErrorHandlingGroup,
)
users_app = typer.Typer(help="Manage users (acts on the server's database directly).")
workspaces_app = typer.Typer(help="Manage workspaces and their members (database directly).")
app.add_typer(users_app, name="users")
app.add_typer(workspaces_app, name="workspace")

T = TypeVar("T")
__all__ = ["app", "console", "err", "fail", "main"]


@app.command()
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
    settings = _settings(
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


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Password")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    workspace: Annotated[
        int | None, typer.Option(help="Add to this workspace id (default: a new one)")
    ] = None,
    role: Annotated[str, typer.Option(help="Role in that workspace")] = "member",
) -> None:
    """Create a user, in an existing workspace or in a new workspace of their own."""

    async def run(conn: Any, settings: Any) -> dict[str, Any]:
        from ..server.services import accounts

        secret = await accounts.instance_secret(conn, settings)
        user = await accounts.create_user(conn, secret, email=email, name=name, password=password)
        if workspace is None:
            ws = await accounts.create_workspace(
                conn,
                name=f"{user['name']}'s workspace",
                owner_id=user["id"],
                credits=settings.initial_credits,
            )
        else:
            ws = workspace
            await accounts.add_member(conn, workspace_id=ws, email=email, role=role)
        return {**user, "workspaceId": ws}

    user = _with_db(run)
    console.print(
        f"created user {user['id']} <{user['email']}> in workspace {user['workspaceId']}",
        highlight=False,
    )


@workspaces_app.command("invite")
def workspace_invite(
    workspace: Annotated[int, typer.Argument(help="Workspace id")],
    email: Annotated[str, typer.Argument(help="Email of an existing user")],
    role: Annotated[str, typer.Option(help="owner, admin, member or viewer")] = "member",
) -> None:
    """Add an existing user to a workspace (or change their role there)."""

    async def run(conn: Any, settings: Any) -> None:
        from ..server.services import accounts

        await accounts.add_member(conn, workspace_id=workspace, email=email, role=role)

    _with_db(run)
    console.print(f"{email} is now {role} of workspace {workspace}", highlight=False)


@workspaces_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Workspace name")],
    owner: Annotated[str, typer.Option(help="Email of the owning user")],
) -> None:
    """Create a workspace owned by an existing user."""

    async def run(conn: Any, settings: Any) -> int:
        from sqlalchemy import select

        from ..server.errors import NotFound
        from ..server.services import accounts
        from ..server.storage.models import User

        owner_id = await conn.scalar(select(User.id).where(User.email == owner.lower()))
        if owner_id is None:
            raise NotFound(f"No user with email {owner}")
        return await accounts.create_workspace(
            conn, name=name, owner_id=owner_id, credits=settings.initial_credits
        )

    console.print(f"created workspace {_with_db(run)}", highlight=False)


def _tune_gc() -> None:
    """A server allocates many short-lived dicts per request (1,000-row batches); the default
    collector thresholds make it rescan long-lived objects over and over. Freeze what start-up
    built and collect the young generation less often."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from ..server.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}")


def _with_db(fn: Callable[[Any, Any], Awaitable[T]]) -> T:
    from ..server.errors import ClayError
    from ..server.storage import migrate
    from ..server.storage.engine import Database

    settings = _settings()

    async def go() -> T:
        db = Database(settings.resolved_database_url, schema=settings.database_schema)
        try:
            await migrate.upgrade(db)
            async with db.transaction(write=True) as conn:
                return await fn(conn, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except ClayError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot reach the database: {exc}")
    raise AssertionError("unreachable")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


from . import commands  # noqa: E402  (registers the API commands on ``app``)
from .views import views_app  # noqa: E402

commands.register(app)
app.add_typer(views_app, name="views")


def main() -> None:
    app()
