"""claystack webhooks …: webhook sources."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from ._common import (
    DEFAULT_URL,
    JsonOpt,
    TableArg,
    open_client,
    print_json,
)
from ._console import console, fail

webhooks_app = typer.Typer(help="Webhook sources: add, list, send rows.", no_args_is_help=True)

# -- webhooks --------------------------------------------------------------------------


@webhooks_app.command("add")
def webhooks_add(
    ctx: typer.Context,
    table_id: TableArg,
    name: Annotated[str, typer.Option(help="Source name")] = "Webhook",
    auth_token: Annotated[
        bool, typer.Option("--auth-token", help="Require a token (printed once) on the URL")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Add a webhook source to a table and print its URL."""
    with open_client(ctx) as client:
        source = client.sources.create(table_id, name, auth_token=auth_token)
    if json:
        print_json(source)
        return
    console.print(f"added source {source.id}: {source.url}", highlight=False)
    if source.authToken:
        console.print(
            f"auth token (shown once; send it as x-clay-webhook-auth): {source.authToken}",
            highlight=False,
        )


@webhooks_app.command("list")
def webhooks_list(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """List a table's webhook sources."""
    with open_client(ctx) as client:
        sources = client.sources.list(table_id)
    if json:
        print_json(sources)
        return
    if not sources:
        console.print(f"table {table_id} has no webhook sources", highlight=False)
    # One URL per line, whole, whatever the terminal width: it is meant to be copied.
    for s in sources:
        console.print(
            f"{s.id}  {escape(s.name or '')}  ({s.numSourceRecords} records)\n  {s.url}",
            highlight=False,
            soft_wrap=True,
        )


@webhooks_app.command("send")
def webhooks_send(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Source id (s_…) or webhook URL")],
    data: Annotated[str | None, typer.Option(help="One JSON object to send")] = None,
    file: Annotated[
        Path | None, typer.Option(help="A JSON-lines file: one request per line", exists=True)
    ] = None,
    auth_token: Annotated[str | None, typer.Option(help="x-clay-webhook-auth value")] = None,
) -> None:
    """POST rows to a webhook: --data '{...}' or --file rows.jsonl."""
    if (data is None) == (file is None):
        fail("give --data or --file")
    payloads: Iterable[str] = [data] if data is not None else _nonblank(file)
    sent = 0
    from ..client import Client

    opts = ctx.find_root().obj or {}
    needs_login = not source.startswith(("http://", "https://"))
    client = open_client(ctx) if needs_login else Client(opts.get("url") or DEFAULT_URL)
    with client:
        target: Any = client.sources.get(source) if needs_login else source
        for text in payloads:
            try:
                payload = orjson.loads(text)
            except orjson.JSONDecodeError:
                fail(f"not JSON: {text[:60]!r}")
            if not isinstance(payload, dict):
                fail("each payload must be a JSON object")
            client.sources.send(target, payload, auth_token=auth_token)
            sent += 1
    console.print(f"sent {sent} row{'s' if sent != 1 else ''}", highlight=False)


def _nonblank(path: Path | None) -> Iterator[str]:
    assert path is not None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line
