"""login, logout, whoami: the saved session in the per-user config file."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from . import _config
from ._common import (
    DEFAULT_URL,
    JsonOpt,
    client_class,
    default_url,
    open_client,
    print_json,
)
from ._console import console

# -- login -----------------------------------------------------------------------------


def login(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help=f"API base URL (default: from CLAYSTACK_HOST/CLAYSTACK_PORT, else {DEFAULT_URL})"
        ),
    ] = None,
    email: Annotated[str | None, typer.Option(help="Login email")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (prompted for when not given)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Log in with an API token instead")] = None,
) -> None:
    """Log in and keep the session (or token) in the per-user config file (mode 0600)."""
    Client = client_class()
    root_url = (ctx.find_root().obj or {}).get("url")
    base = (url or root_url or _env_or_saved_url()).rstrip("/")
    if token:
        client = Client(base, token=token)
    else:
        if email is None:
            email = typer.prompt("Email")
        if password is None:
            password = typer.prompt("Password", hide_input=True)
        client = Client(base)
        with client:
            client.auth.login(email, password)
        client = Client(base, session=client.session)
    with client:
        me = client.auth.me()
        workspace = me.defaultWorkspaceId
        if workspace is None:
            spaces = client.workspaces.list()
            workspace = spaces[0].id if spaces else None
        data = {"base_url": base, "email": me.email, "workspace_id": workspace}
        data.update({"token": token} if token else {"session": client.session})
        path = _config.save(data)
    console.print(
        f"logged in to {base} as {me.email} (workspace {workspace}); saved to {path}",
        highlight=False,
    )


def _env_or_saved_url() -> str:
    if os.environ.get("CLAYSTACK_HOST") or os.environ.get("CLAYSTACK_PORT"):
        return default_url()
    return str(_config.load().get("base_url") or DEFAULT_URL)


def logout(ctx: typer.Context) -> None:
    """End the saved session on the server and forget it here."""
    saved = _config.load()
    if saved.get("session"):
        with open_client(ctx) as client:
            client.auth.logout()
    saved.pop("session", None)
    saved.pop("token", None)
    _config.save(saved)
    console.print("logged out", highlight=False)


def whoami(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Show the logged-in user."""
    with open_client(ctx) as client:
        me = client.auth.me()
    if json:
        print_json(me)
    else:
        console.print(f"{me.email} (user {me.id}) at {client.base_url}", highlight=False)
