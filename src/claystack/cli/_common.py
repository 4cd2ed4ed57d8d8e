"""What every API command shares: the logged-in client, the workspace, output helpers."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from . import _config
from ._console import console, fail

DEFAULT_URL = "http://127.0.0.1:8080/v3"
SYSTEM_FIELDS = frozenset({"f_created_at", "f_updated_at"})

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
WorkspaceOpt = Annotated[
    int | None,
    typer.Option("--workspace", "-w", help="Workspace id (default: the one saved at login)"),
]
TableArg = Annotated[str, typer.Argument(help="Table id (t_…)")]

if TYPE_CHECKING:
    from ..client import Client, Table


def default_url() -> str:
    """The URL of a local `claystack serve`: CLAYSTACK_HOST/CLAYSTACK_PORT as the server reads
    them, else http://127.0.0.1:8080/v3."""
    host = os.environ.get("CLAYSTACK_HOST") or "127.0.0.1"
    port = os.environ.get("CLAYSTACK_PORT") or "8080"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # listening everywhere: this machine answers on loopback
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/v3"


@contextmanager
def no_collections() -> Iterator[None]:
    """No garbage collection while a command imports (the SDK, or the server for ``serve``):
    the modules, models and routes made then are kept for good, so a collection frees nothing
    and only rescans them (some 7-10 % of the CPU of those imports)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def client_class() -> type[Client]:
    """The SDK's ``Client``, imported when a command first needs it."""
    with no_collections():
        from ..client import Client
    return Client


def open_client(ctx: typer.Context) -> Client:
    Client = client_class()
    opts = ctx.find_root().obj or {}
    saved = _config.load()
    url = (opts.get("url") or saved.get("base_url") or default_url()).rstrip("/")
    if opts.get("token"):
        return Client(url, token=opts["token"])
    if os.environ.get("CLAYSTACK_SESSION"):
        return Client(url, session=os.environ["CLAYSTACK_SESSION"])
    if url == str(saved.get("base_url", "")).rstrip("/"):
        if saved.get("token"):
            return Client(url, token=saved["token"])
        if saved.get("session"):
            return Client(url, session=saved["session"])
    fail(f"not logged in to {url}; run `claystack login`")


def workspace_id(workspace: int | None) -> int:
    if workspace is not None:
        return workspace
    saved = _config.load().get("workspace_id")
    return int(saved) if saved is not None else 1


def print_json(data: Any) -> None:
    def default(obj: Any) -> Any:
        if hasattr(obj, "model_dump"):
            return obj.model_dump(mode="json")
        raise TypeError

    sys.stdout.write(orjson.dumps(data, default=default, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")


def print_table(title: str | None, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    out = RichTable(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")  # ids and URLs are copied: never cut them
    for row in rows:
        out.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(out)


def resolve_fields(table: Table, names_or_ids: Iterable[str]) -> list[str]:
    out = []
    for key in names_or_ids:
        try:
            out.append(table.field(key).id)
        except KeyError:
            fail(f"table {table.id} has no field {key!r}")
    return out
