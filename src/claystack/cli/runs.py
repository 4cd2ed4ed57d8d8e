"""claystack run: queue enrichment cells and, with --wait, follow them to the end."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._common import (
    JsonOpt,
    TableArg,
    open_client,
    print_json,
    resolve_fields,
)
from ._console import console, err, fail

# Exit codes of `claystack run --wait` (also in --help and the README).
EXIT_SOME_FAILED = 3
EXIT_ALL_FAILED = 4
EXIT_TIMED_OUT = 5
# Not failures: the row did not meet the column's run condition.
NOT_FAILURES = frozenset({"ERROR_RUN_CONDITION_NOT_MET"})

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from ..client import Client, RunStatus


def _status_table(status: RunStatus, names: dict[str, str]) -> RichTable:
    from rich.table import Table as RichTable

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
    """Run enrichment columns over rows; with --wait, show live status counts until done.

    With --wait the exit code says how the cells ended: 0 none failed, 3 some failed,
    4 all failed, 5 still running at --timeout; the distinct error messages are printed
    with their counts."""
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
        from rich.live import Live

        from ..client import ClayTimeoutError

        names = {f.id: f.name for f in table.fields}
        with Live(console=err, transient=False, auto_refresh=False) as live:

            def show(status: RunStatus) -> None:
                live.update(_status_table(status, names), refresh=True)

            try:
                final = client.runs.wait(
                    table.id,
                    field_ids,
                    workspace_id=table.workspaceId,
                    timeout=timeout,
                    on_progress=show,
                )
            except ClayTimeoutError as exc:
                live.transient = True
                fail(f"{exc}; it goes on in the server", EXIT_TIMED_OUT)
        if not err.is_terminal:
            err.line()  # Live leaves a non-terminal stream mid-line
        counts = final.counts()
        failed = sum(n for s, n in counts.items() if _is_failure(s))
        errors = _error_messages(client, table.id, view, field_ids, record) if failed else []
    if json:
        print_json({**final.model_dump(mode="json"), "errors": errors})
    else:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no cells"
        console.print(f"done: {summary}", highlight=False)
    for item in errors:
        err.print(
            f"{item['count']} × {item['field']}: {item['status']}: {item['error']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if failed:
        raise typer.Exit(EXIT_ALL_FAILED if failed == sum(counts.values()) else EXIT_SOME_FAILED)


def _is_failure(status: str) -> bool:
    return status.startswith("ERROR") and status not in NOT_FAILURES


def _error_messages(
    client: Client,
    table_id: str,
    view: str | None,
    field_ids: list[str],
    record_ids: list[str] | None,
) -> list[dict[str, Any]]:
    """The distinct (field, status, message) of failed cells, most frequent first."""
    names = {f.id: f.name for f in client.tables.get(table_id).fields}
    found: Counter[tuple[str, str, str]] = Counter()
    wanted = set(record_ids or ())
    for record in client.records.iter(table_id, view):
        if wanted and record.id not in wanted:
            continue
        for fid in field_ids:
            cell = record.cells.get(fid)
            if cell is None or not _is_failure(cell.status or ""):
                continue
            message = (cell.externalContent or {}).get("error") or "(no message)"
            found[(names.get(fid, fid), str(cell.status), str(message))] += 1
    return [
        {"field": f, "status": s, "error": m, "count": n} for (f, s, m), n in found.most_common()
    ]
