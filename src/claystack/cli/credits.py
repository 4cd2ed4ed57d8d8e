"""claystack credits: a workspace's usage report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._common import (
    JsonOpt,
    WorkspaceOpt,
    open_client,
    print_json,
    print_table,
    workspace_id,
)
from ._console import err, fail

# -- credits ---------------------------------------------------------------------------

_BY = ("date", "user", "integration", "action", "table", "field")


def _credit_key(by: str, row: Any) -> str:
    if by == "user":
        return row.userEmail or (str(row.userId) if row.userId is not None else "—")
    if by == "table":
        return row.tableName or row.tableId or "—"
    if by == "field":
        return f"{row.tableName or row.tableId or '—'} / {row.fieldName or row.fieldId or '—'}"
    value = {"date": row.date, "integration": row.integration, "action": row.actionKey}[by]
    return str(value) if value is not None else "—"


def credits(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    by: Annotated[
        str, typer.Option(help="Group by date, user, integration, action, table or field")
    ] = "integration",
    start: Annotated[str | None, typer.Option(help="From this date/time (ISO or epoch ms)")] = None,
    end: Annotated[
        str | None, typer.Option(help="Until this date/time (a bare date includes that day)")
    ] = None,
    actions: Annotated[
        bool, typer.Option("--actions", help="Group by action and sort by actions (executions)")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Credit usage of a workspace, grouped by day, user, integration, action, table or field.

    What is counted: every successful execution of an action column is one action, free
    ones included, with the credits it cost (set prices with CLAYSTACK_ACTION_PRICES).
    Formula columns are free and not counted."""
    if actions:
        by = "action"
    if by not in _BY:
        fail(f"--by takes one of {', '.join(_BY)}, not {by!r}")
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        report = client.credits.workspace(ws, start=start, end=end, group_by=[by])
    if json:
        print_json(report)
        return
    rows = report.rows
    if by != "date":
        rows = sorted(rows, key=lambda r: (-r.actions, -r.credits) if actions else -r.credits)
    totals = report.totals
    print_table(
        f"Credits used in workspace {ws} by {by}: {totals.used} credits, {totals.actions} "
        f"actions (balance {report.balance})",
        [by, "credits", "actions"],
        ([_credit_key(by, r), r.credits, r.actions] for r in rows),
    )
    if not rows:
        err.print(
            "no action ran in this period: formula columns are free and not counted "
            "(see `claystack credits --help`)",
            highlight=False,
        )
