"""claystack actions [search|run]: the action catalog; claystack functions [tool]."""

from __future__ import annotations

from typing import Annotated

import orjson
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


@actions_app.command("run")
def actions_run(
    ctx: typer.Context,
    action_key: Annotated[str, typer.Argument(help="A local action, e.g. normalize-company-name")],
    inputs: Annotated[str, typer.Argument(help='Its inputs as JSON, e.g. {"companyName": "x"}')],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run one local action (a normalizer, a lookup, a function) once, outside any table:
    prints its result (with --json, the whole answer)."""
    try:
        given = orjson.loads(inputs)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"INPUTS is not JSON: {exc}") from None
    if not isinstance(given, dict):
        raise typer.BadParameter("INPUTS must be a JSON object")
    with open_client(ctx) as client:
        out = client.functions.run_action(action_key, given, workspace_id=workspace)
    print_json(out if json else out["result"])


functions_app = typer.Typer(
    help="Function tables (Clay's subroutines) and the tools made from them.",
    invoke_without_command=True,
)


@functions_app.callback()
def functions_list(
    ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False
) -> None:
    """List the workspace's function tables: what one call costs, who calls them."""
    if ctx.invoked_subcommand is not None:
        return
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        found = client.functions.list(ws)
    if json:
        print_json(found)
        return
    print_table(
        "Functions",
        ["tableId", "name", "credits", "actions", "callers"],
        (
            [s["table"]["id"], s["table"]["name"], s["cost"], s["actionExecutionCost"]]
            + [s["referenceCount"]]
            for s in found
        ),
    )


@functions_app.command("tool")
def functions_tool(
    ctx: typer.Context,
    table_id: Annotated[str, typer.Argument(help="The function table")],
    name: Annotated[str | None, typer.Option(help="The tool's name (default: the table's)")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Offer a function table as a tool (function:TABLE_ID)."""
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        print_json(client.functions.create_tool(ws, table_id, name=name))
