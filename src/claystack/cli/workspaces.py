"""workspaces and resources: what the logged-in user can see."""

from __future__ import annotations

import typer

from ._common import (
    JsonOpt,
    WorkspaceOpt,
    open_client,
    print_json,
    print_table,
    workspace_id,
)
from ._console import console

# -- workspaces and resources -----------------------------------------------------------


def workspaces(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List your workspaces with their credit balances."""
    with open_client(ctx) as client:
        found = [client.workspaces.get(w.id) for w in client.workspaces.list()]
    if json:
        print_json(found)
        return
    rows = ([w.id, w.name, getattr(w, "role", None), w.credits] for w in found)
    print_table("Workspaces", ["id", "name", "role", "credits"], rows)


def resources(ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show the workspace's folders, workbooks and tables as a tree."""
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        items = client.resources.list(ws, everywhere=True)
    if json:
        print_json(items)
        return
    from rich.tree import Tree

    root = Tree(f"[bold]workspace {ws}[/bold]")
    nodes: dict[str | None, Tree] = {None: root}
    icons = {"FOLDER": "📁", "WORKBOOK": "📒", "TABLE": "▦"}
    pending = sorted(items, key=lambda r: ("FOLDER", "WORKBOOK", "TABLE").index(r.resourceType))
    # Folders may nest in any order; place each once its parent is placed.
    for _ in range(len(pending) + 1):
        rest = []
        for r in pending:
            parent = (
                r.workbookId if r.resourceType == "TABLE" and r.workbookId else r.parentFolderId
            )
            if parent in nodes:
                label = f"{icons.get(r.resourceType, '')} {r.name} [dim]{r.id}[/dim]"
                nodes[r.id] = nodes[parent].add(label)
            else:
                rest.append(r)
        if not rest or len(rest) == len(pending):
            for r in rest:
                nodes[r.id] = root.add(f"{r.name} [dim]{r.id} (parent not visible)[/dim]")
            break
        pending = rest
    console.print(root)
