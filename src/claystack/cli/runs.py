"""claystack run: queue enrichment cells and, with --wait, follow them to the end."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table as RichTable

from ..client import RunStatus
from ._common import (
    JsonOpt,
    TableArg,
    open_client,
    print_json,
    resolve_fields,
)
from ._console import console, err

# -- runs ------------------------------------------------------------------------------


def _status_table(status: RunStatus, names: dict[str, str]) -> RichTable:
    statuses = sorted({s for fid in status.statusCountsByField for s in status.counts(fid)})
    out = RichTable(title="run status", title_justify="left")
    out.add_column("field")
    for s in statuses:
        out.add_column(s, justify="right")
    for fid in status.statusCountsByField:
        counts = status.counts(fid)
        out.add_row(names.get(fid, fid), *(str(counts.get(s, 0)) for s in statuses))
    return out


def run(
    ctx: typer.Context,
    table_id: TableArg,
    field: Annotated[
        list[str], typer.Option("--field", "-f", help="Column to run, by id or name (repeatable)")
    ],
    record: Annotated[
        list[str] | None, typer.Option("--record", "-r", help="Only these rows (repeatable)")
    ] = None,
    view: Annotated[str | None, typer.Option(help="Rows of this view (default view)")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows of the view")] = None,
    force: Annotated[bool, typer.Option(help="Run cells that already succeeded again")] = False,
    wait: Annotated[bool, typer.Option(help="Wait until done, showing progress")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most")] = 600.0,
    json: JsonOpt = False,
) -> None:
    """Run enrichment columns over rows; with --wait, show live status counts until done."""
    with open_client(ctx) as client:
        table = client.tables.get(table_id)
        field_ids = resolve_fields(table, field)
        started = client.runs.start(
            table.id, field_ids, record_ids=record, view_id=view, num_records=limit, force=force
        )
        if not wait:
            if json:
                print_json(started)
            else:
                console.print(f"queued {started.recordCount} rows", highlight=False)
            return
        names = {f.id: f.name for f in table.fields}
        with Live(console=err, transient=False, auto_refresh=False) as live:

            def show(status: RunStatus) -> None:
                live.update(_status_table(status, names), refresh=True)

            final = client.runs.wait(
                table.id,
                field_ids,
                workspace_id=table.workspaceId,
                timeout=timeout,
                on_progress=show,
            )
    if json:
        print_json(final)
    else:
        counts = final.counts()
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no cells"
        console.print(f"done: {summary}", highlight=False)
