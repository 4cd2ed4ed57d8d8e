"""claystack tables …: create, list, show, count, export, share, describe, delete."""

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

RUNNABLE = frozenset({"action", "formula"})

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


@tables_app.command("list")
def tables_list(ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List the workspace's tables with their workbooks."""
    ws = workspace_id(workspace)
    with open_client(ctx) as client:
        items = client.resources.list(ws, everywhere=True)
    books = {r.id: r.name for r in items if r.resourceType == "WORKBOOK"}
    found = [r for r in items if r.resourceType == "TABLE"]
    if json:
        print_json(found)
        return
    if not found:
        console.print(
            f"workspace {ws} has no tables; create one with `claystack tables create NAME`",
            highlight=False,
        )
        return
    print_table(
        f"Tables in workspace {ws}",
        ["id", "name", "workbook"],
        ([t.id, t.name, books.get(t.workbookId or "", t.workbookId)] for t in found),
    )


@tables_app.command("delete")
def tables_delete(
    ctx: typer.Context,
    table_id: TableArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a table with its rows, fields, views and sources."""
    with open_client(ctx) as client:
        table = client.tables.get(table_id)
        if not yes:
            if not sys.stdin.isatty():
                fail(f"deleting table {table.id} ({table.name}) needs --yes when not interactive")
            count = client.tables.count(table.id)
            typer.confirm(
                f"Delete table {table.id} ({table.name}) and its {count} rows?", abort=True
            )
        client.tables.delete(table.id)
    console.print(f"deleted table {table.id} ({table.name})", highlight=False)


@tables_app.command("count")
def tables_count(ctx: typer.Context, table_id: TableArg) -> None:
    """Print the number of rows in a table."""
    with open_client(ctx) as client:
        console.print(client.tables.count(table_id), highlight=False)


@tables_app.command("share")
def tables_share(
    ctx: typer.Context,
    table_id: TableArg,
    sharing_type: Annotated[str | None, typer.Option("--type", help="e.g. PUBLIC")] = None,
    email: Annotated[list[str] | None, typer.Option(help="Share with (repeatable)")] = None,
    reset_public_id: Annotated[bool, typer.Option(help="Mint a new public id")] = False,
    json: JsonOpt = False,
) -> None:
    """Show or change a table's sharing settings (created on first use)."""
    with open_client(ctx) as client:
        share = client.shared_tables.share(table_id)
        if sharing_type or email or reset_public_id:
            share = client.shared_tables.update(
                share["id"],
                sharing_type=sharing_type,
                emails=email,
                reset_public_id=reset_public_id,
            )
    print_json(share)


@tables_app.command("describe")
def tables_describe(ctx: typer.Context, table_id: TableArg) -> None:
    """A short description of a table (the configured AI model, or one built offline)."""
    with open_client(ctx) as client:
        console.print(client.ai.describe_table(table_id), highlight=False)


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
    errors: Annotated[
        bool,
        typer.Option(
            "--errors/--no-errors",
            help="Add a '<column> (error)' column with the message of each failed enrichment "
            "or formula cell",
        ),
    ] = True,
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
            runnable = {f.id for f in fields if f.type in RUNNABLE} if errors else set()
            n = _write_rows(out, format, fields, rows, runnable)
        finally:
            if output:
                out.close()
    if output:
        err.print(f"exported {n} rows to {output}", highlight=False)


def _write_rows(
    out: TextIO, format: str, fields: list[Any], rows: Iterable[Any], with_errors: set[str]
) -> int:
    n = 0
    if format == "csv":
        writer = csv.writer(out)
        header = ["id"]
        for f in fields:
            header.append(f.name)
            if f.id in with_errors:
                header.append(f"{f.name} (error)")
        writer.writerow(header)
        for record in rows:
            cells = record.cells
            line = [record.id]
            for f in fields:
                cell = cells.get(f.id)
                line.append(_cell_text(cell.value) if cell else "")
                if f.id in with_errors:
                    line.append(_error_text(cell) or "")
            writer.writerow(line)
            n += 1
    else:
        for record in rows:
            cells = record.cells
            obj = {"id": record.id}
            for f in fields:
                cell = cells.get(f.id)
                if cell is None:
                    continue
                obj[f.name] = cell.value
                if f.id in with_errors and (error := _error_text(cell)):
                    obj[f"{f.name} (error)"] = error
            out.write(orjson.dumps(obj).decode())
            out.write("\n")
            n += 1
    out.flush()
    return n


def _error_text(cell: Any) -> str | None:
    if cell is None or not str(cell.status or "").startswith("ERROR"):
        return None
    message = (cell.externalContent or {}).get("error")
    return f"{cell.status}: {message}" if message else str(cell.status)
