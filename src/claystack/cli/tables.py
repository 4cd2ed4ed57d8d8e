"""claystack tables …: create, list, show, count, export, delete."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, TextIO

import orjson
import typer

from ._common import (
    SYSTEM_FIELDS,
    JsonOpt,
    TableArg,
    WorkspaceOpt,
    open_client,
    print_json,
    print_table,
    workspace_id,
)
from ._console import console, err, fail
from .jobs import export_with_job

tables_app = typer.Typer(help="Create, inspect, count and export tables.", no_args_is_help=True)

# -- tables ----------------------------------------------------------------------------


@tables_app.command("create")
def tables_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Table name")],
    workspace: WorkspaceOpt = None,
    workbook: Annotated[str | None, typer.Option(help="Workbook id (default: a new one)")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="Add a text field (repeatable)")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Create a table, optionally with text fields."""
    with open_client(ctx) as client:
        table = client.tables.create(workspace_id(workspace), name, workbook_id=workbook)
        for fname in field or []:
            client.fields.create(table.id, fname, "text")
        if field:
            table = client.tables.get(table.id)
    if json:
        print_json(table)
    else:
        console.print(f"created table {table.id} ({table.name})", highlight=False)


@tables_app.command("show")
def tables_show(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """Show a table's fields, views and row count."""
    with open_client(ctx) as client:
        table = client.tables.get(table_id)
        count = client.tables.count(table_id)
    if json:
        print_json({**table.model_dump(mode="json"), "recordCount": count})
        return
    console.print(
        f"[bold]{table.name}[/bold] {table.id} — {count} rows, workspace {table.workspaceId}",
        highlight=False,
    )
    print_table(
        "Fields",
        ["id", "name", "type"],
        ([f.id, f.name, f.type] for f in table.fields),
    )
    print_table("Views", ["id", "name", "limit"], ([v.id, v.name, v.limit] for v in table.views))


@tables_app.command("count")
def tables_count(ctx: typer.Context, table_id: TableArg) -> None:
    """Print the number of rows in a table."""
    with open_client(ctx) as client:
        console.print(client.tables.count(table_id), highlight=False)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


@tables_app.command("export")
def tables_export(
    ctx: typer.Context,
    table_id: TableArg,
    format: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout)")
    ] = None,
    view: Annotated[str | None, typer.Option(help="View id (default: the default view)")] = None,
    page_size: Annotated[int, typer.Option(help="Rows per request")] = 1000,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Export on the server as a job (the view's visible columns, as displayed), "
            "wait for it and download its CSV",
        ),
    ] = False,
) -> None:
    """Stream a table's rows as CSV or JSON lines (columns by field name, plus id)."""
    if format not in ("csv", "jsonl"):
        fail(f"unknown format {format!r}; use csv or jsonl")
    if wait:
        if format != "csv":
            fail("--wait exports CSV only")
        with open_client(ctx) as client:
            export_with_job(client, table_id, view, output)
        return
    with open_client(ctx) as client:
        table = client.tables.get(table_id)
        fields = [f for f in table.fields if f.id not in SYSTEM_FIELDS]
        out: TextIO = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            rows = client.records.iter(table_id, view, page_size=page_size)
            n = _write_rows(out, format, fields, rows)
        finally:
            if output:
                out.close()
    if output:
        err.print(f"exported {n} rows to {output}", highlight=False)


def _write_rows(out: TextIO, format: str, fields: list[Any], rows: Iterable[Any]) -> int:
    n = 0
    if format == "csv":
        writer = csv.writer(out)
        writer.writerow(["id", *(f.name for f in fields)])
        for record in rows:
            cells = record.cells
            writer.writerow(
                [
                    record.id,
                    *(_cell_text(c.value) if (c := cells.get(f.id)) else "" for f in fields),
                ]
            )
            n += 1
    else:
        for record in rows:
            cells = record.cells
            obj = {"id": record.id}
            obj.update({f.name: c.value for f in fields if (c := cells.get(f.id)) is not None})
            out.write(orjson.dumps(obj).decode())
            out.write("\n")
            n += 1
    out.flush()
    return n
