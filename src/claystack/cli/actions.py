"""claystack actions [search]: the action catalog."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import JsonOpt, WorkspaceOpt, open_client, print_json, print_table, workspace_id

actions_app = typer.Typer(
    help="The action catalog: what columns can run, with Clay's names and prices.",
    invoke_without_command=True,
)


@actions_app.callback()
def actions_list(ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List every action the server can run (Clay's actionKey/actionPackageId, price)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_client(ctx) as client:
        found = client.actions.list(workspace_id=workspace)
    if json:
        print_json(found)
        return
    print_table(
        "Actions",
        ["actionKey", "actionPackageId", "name", "credits"],
        ([a.actionKey, a.actionPackageId, a.displayName, a.pricing.credits] for a in found),
    )


@actions_app.command("search")
def actions_search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to look for")],
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 20,
    json: JsonOpt = False,
) -> None:
    """Find actions whose name, key or description contain every word of QUERY."""
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        found = client.actions.search(ws, query, limit=limit)
    if json:
        print_json(found)
        return
    print_table(
        f"Actions matching {query!r}",
        ["entity_id", "name", "credits"],
        ([r["entity_id"], r["name"], (r.get("pricing") or {}).get("credits")] for r in found),
    )
