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
    json: JsonOpt = False,
) -> None:
    """Credit usage of a workspace, grouped by day, user, integration, action, table or field.

    What is counted: every execution of an action column that the server charges, with the
    credits it cost. Formula columns are free and not counted. An action priced at 0
    credits shows in the runs/actions counts only if the server counts free executions
    (servers that report an "actions" count do: it is shown as a column)."""
    if by not in _BY:
        fail(f"--by takes one of {', '.join(_BY)}, not {by!r}")
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        report = client.credits.workspace(ws, start=start, end=end, group_by=[by])
    if json:
        print_json(report)
        return
    rows = sorted(report.rows, key=lambda r: -r.credits) if by != "date" else report.rows
    totals = report.totals
    # Newer servers also count executions of free actions ("actions"); show them when present.
    actions = _extra(totals, "actions")
    counted = f", {actions} action executions" if actions is not None else ""
    print_table(
        f"Credits used in workspace {ws} by {by}: {totals.used} in {totals.runs} charged runs"
        f"{counted} (balance {report.balance})",
        [by, "credits", "runs", *(["actions"] if actions is not None else [])],
        (
            [_credit_key(by, r), r.credits, r.runs]
            + ([_extra(r, "actions") or 0] if actions is not None else [])
            for r in rows
        ),
    )
    if not rows:
        err.print(
            "nothing charged in this period: formula columns are free, and actions priced at 0 "
            "credits are not charged (see `claystack credits --help`)",
            highlight=False,
        )


def _extra(model: Any, name: str) -> Any:
    value = getattr(model, name, None)
    if value is None and model.model_extra:
        value = model.model_extra.get(name)
    return value
