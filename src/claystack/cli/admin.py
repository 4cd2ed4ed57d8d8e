"""claystack users … and claystack workspace …: act on the server's database directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from ._console import console, fail

T = TypeVar("T")

users_app = typer.Typer(help="Manage users (acts on the server's database directly).")
workspaces_app = typer.Typer(help="Manage workspaces and their members (database directly).")

DataDirOpt = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        envvar="CLAYSTACK_DATA_DIR",
        help="Where the SQLite file lives (default: the per-user data directory, as serve)",
    ),
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CLAYSTACK_DATABASE_URL",
        help="sqlite:///path or postgresql://… (default: the SQLite file in --data-dir)",
    ),
]


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Password")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    workspace: Annotated[
        int | None, typer.Option(help="Add to this workspace id (default: a new one)")
    ] = None,
    role: Annotated[str, typer.Option(help="Role in that workspace")] = "member",
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Create a user, in an existing workspace or in a new workspace of their own."""

    async def run(conn: Any, settings: Any) -> dict[str, Any]:
        from ..server.services import accounts

        secret = await accounts.instance_secret(conn, settings)
        user = await accounts.create_user(
            conn,
            secret,
            email=email,
            name=name,
            password=password,
            cost=settings.password_hash_cost,
        )
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

    user, where = _with_db(run, data_dir, database_url)
    console.print(
        f"created user {user['id']} <{user['email']}> in workspace {user['workspaceId']} "
        f"(database: {where})",
        highlight=False,
    )


@users_app.command("rotate-token")
def users_rotate_token(
    email: Annotated[str, typer.Option(help="The user's login email")],
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Only revoke the token; make no new one")
    ] = False,
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Give a user a new API token (printed once) or revoke it; the old token stops
    working at once, in every server process."""

    async def run(conn: Any, settings: Any) -> str | None:
        from ..server.services import accounts

        user_id = await accounts.user_id_by_email(conn, email)
        if revoke:
            await accounts.revoke_api_token(conn, user_id)
            return None
        secret = await accounts.instance_secret(conn, settings)
        return await accounts.rotate_api_token(conn, secret, user_id)

    token, where = _with_db(run, data_dir, database_url)
    if token is None:
        console.print(f"revoked the API token of {email} (database: {where})", highlight=False)
    else:
        console.print(token, highlight=False, soft_wrap=True)


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Option(help="The user's login email")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Password")
    ],
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Change a user's password; every session of the user ends."""

    async def run(conn: Any, settings: Any) -> None:
        from ..server.services import accounts

        user_id = await accounts.user_id_by_email(conn, email)
        await accounts.set_password(conn, user_id, password, cost=settings.password_hash_cost)

    _, where = _with_db(run, data_dir, database_url)
    console.print(
        f"changed the password of {email}; their sessions have ended (database: {where})",
        highlight=False,
    )


@workspaces_app.command("invite")
def workspace_invite(
    workspace: Annotated[int, typer.Argument(help="Workspace id")],
    email: Annotated[str, typer.Argument(help="Email of an existing user")],
    role: Annotated[str, typer.Option(help="owner, admin, member or viewer")] = "member",
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Add an existing user to a workspace (or change their role there)."""

    async def run(conn: Any, settings: Any) -> None:
        from ..server.services import accounts

        await accounts.add_member(conn, workspace_id=workspace, email=email, role=role)

    _, where = _with_db(run, data_dir, database_url)
    console.print(
        f"{email} is now {role} of workspace {workspace} (database: {where})", highlight=False
    )


@workspaces_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Workspace name")],
    owner: Annotated[str, typer.Option(help="Email of the owning user")],
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
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

    workspace_id, where = _with_db(run, data_dir, database_url)
    console.print(f"created workspace {workspace_id} (database: {where})", highlight=False)


def load_settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from ..server.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}")


def describe_database(settings: Any) -> str:
    """Where the data is, for people: the SQLite file's path or the redacted URL."""
    path = settings.sqlite_path
    if path is not None:
        return str(path.resolve())
    url = str(settings.database_url)
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _with_db(
    fn: Callable[[Any, Any], Awaitable[T]],
    data_dir: str | None,
    database_url: str | None,
) -> tuple[T, str]:
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    where = describe_database(settings)
    path = settings.sqlite_path
    if path is not None and not path.is_file():
        # Creating an empty database here would report success for a user nobody can use.
        fail(
            f"no claystack database at {where}; start `claystack serve` once first, or point "
            "to the server's data with --data-dir or --database-url"
        )

    return run_on_database(fn, settings), where


def run_on_database(fn: Callable[[Any, Any], Awaitable[T]], settings: Any) -> T:
    """Migrates the database, then runs ``fn(conn, settings)`` in one write transaction."""
    from ..server.errors import ClayError
    from ..server.storage import migrate
    from ..server.storage.engine import Database

    async def go() -> T:
        db = Database(settings.resolved_database_url, schema=settings.database_schema)
        try:
            await migrate.upgrade(db)
            async with db.transaction(write=True) as conn:
                return await fn(conn, settings)
        finally:
            await db.dispose()

    import asyncio

    try:
        return asyncio.run(go())
    except ClayError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot reach the database: {exc}")
    raise AssertionError("unreachable")


def check_counts(
    repair: Annotated[
        bool, typer.Option("--repair", help="Replace counts that differ with the recount")
    ] = False,
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Recount the per-field cell statuses from the rows and the credit rollup from the
    ledger, and compare them with what the database keeps (exit 1 if they differ)."""

    async def run(conn: Any, settings: Any) -> list[tuple[str, dict[str, Any]]]:
        from ..server.storage import counters

        cells = await counters.check_cell_counts(conn, rebuild=repair)
        rollup = await counters.check_credit_rollup(conn, rebuild=repair)
        return [("cell status", d) for d in cells] + [("credit rollup", d) for d in rollup]

    diffs, where = _with_db(run, data_dir, database_url)
    for kind, d in diffs[:50]:
        console.print(
            f"{kind} {d['key']}: kept {d['stored']}, recounted {d['recount']}", highlight=False
        )
    if not diffs:
        console.print(f"counts are exact (database: {where})", highlight=False)
        return
    if repair:
        console.print(f"repaired {len(diffs)} differing counts", highlight=False)
        return
    fail(f"{len(diffs)} counts differ; run again with --repair to rebuild them")
