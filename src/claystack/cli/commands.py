"""The commands that talk to a server over HTTP, through the SDK (``claystack.Client``)."""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import orjson
import typer
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable
from rich.text import Text
from rich.tree import Tree

from ..client import Client, RunStatus, Table
from . import _config
from ._console import console, err, fail

DEFAULT_URL = "http://127.0.0.1:8080/v3"
SYSTEM_FIELDS = frozenset({"f_created_at", "f_updated_at"})

tables_app = typer.Typer(help="Create, inspect, count and export tables.", no_args_is_help=True)
fields_app = typer.Typer(
    help="Add columns: plain types, formulas, enrichments.", no_args_is_help=True
)
webhooks_app = typer.Typer(help="Webhook sources: add, list, send rows.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
WorkspaceOpt = Annotated[
    int | None,
    typer.Option("--workspace", "-w", help="Workspace id (default: the one saved at login)"),
]
TableArg = Annotated[str, typer.Argument(help="Table id (t_…)")]


def register(app: typer.Typer) -> None:
    app.callback()(_root)
    for fn in (login, logout, whoami, workspaces, resources, import_file, run, credits):
        name = "import" if fn is import_file else fn.__name__
        app.command(name)(fn)
    app.add_typer(tables_app, name="tables")
    app.add_typer(fields_app, name="fields")
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(actions_app, name="actions")


def _root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option("--url", envvar="CLAYSTACK_URL", help="API base URL (default: saved login)"),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="CLAYSTACK_TOKEN", help="API token instead of a session"),
    ] = None,
) -> None:
    """A self-hostable, Clay-compatible data-enrichment server, its SDK and CLI."""
    ctx.obj = {"url": url, "token": token}


# -- plumbing --------------------------------------------------------------------------


def _client(ctx: typer.Context) -> Client:
    opts = ctx.find_root().obj or {}
    saved = _config.load()
    url = (opts.get("url") or saved.get("base_url") or DEFAULT_URL).rstrip("/")
    if opts.get("token"):
        return Client(url, token=opts["token"])
    if os.environ.get("CLAYSTACK_SESSION"):
        return Client(url, session=os.environ["CLAYSTACK_SESSION"])
    if url == str(saved.get("base_url", "")).rstrip("/"):
        if saved.get("token"):
            return Client(url, token=saved["token"])
        if saved.get("session"):
            return Client(url, session=saved["session"])
    fail(f"not logged in to {url}; run `claystack login`")


def _workspace(workspace: int | None) -> int:
    if workspace is not None:
        return workspace
    saved = _config.load().get("workspace_id")
    return int(saved) if saved is not None else 1


def _print_json(data: Any) -> None:
    def default(obj: Any) -> Any:
        if hasattr(obj, "model_dump"):
            return obj.model_dump(mode="json")
        raise TypeError

    sys.stdout.write(orjson.dumps(data, default=default, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")


def _table_out(title: str | None, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
    out = RichTable(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(out)


def _resolve_fields(table: Table, names_or_ids: Iterable[str]) -> list[str]:
    out = []
    for key in names_or_ids:
        try:
            out.append(table.field(key).id)
        except KeyError:
            fail(f"table {table.id} has no field {key!r}")
    return out


# -- login -----------------------------------------------------------------------------


def login(
    url: Annotated[str | None, typer.Option(help=f"API base URL (default {DEFAULT_URL})")] = None,
    email: Annotated[str | None, typer.Option(help="Login email")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (prompted for when not given)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Log in with an API token instead")] = None,
) -> None:
    """Log in and keep the session (or token) in the per-user config file (mode 0600)."""
    base = (url or _config.load().get("base_url") or DEFAULT_URL).rstrip("/")
    if token:
        client = Client(base, token=token)
    else:
        if email is None:
            email = typer.prompt("Email")
        if password is None:
            password = typer.prompt("Password", hide_input=True)
        client = Client(base)
        with client:
            client.auth.login(email, password)
        client = Client(base, session=client.session)
    with client:
        me = client.auth.me()
        workspace = me.defaultWorkspaceId
        if workspace is None:
            spaces = client.workspaces.list()
            workspace = spaces[0].id if spaces else None
        data = {"base_url": base, "email": me.email, "workspace_id": workspace}
        data.update({"token": token} if token else {"session": client.session})
        path = _config.save(data)
    console.print(
        f"logged in to {base} as {me.email} (workspace {workspace}); saved to {path}",
        highlight=False,
    )


def logout(ctx: typer.Context) -> None:
    """End the saved session on the server and forget it here."""
    saved = _config.load()
    if saved.get("session"):
        with _client(ctx) as client:
            client.auth.logout()
    saved.pop("session", None)
    saved.pop("token", None)
    _config.save(saved)
    console.print("logged out", highlight=False)


def whoami(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Show the logged-in user."""
    with _client(ctx) as client:
        me = client.auth.me()
    if json:
        _print_json(me)
    else:
        console.print(f"{me.email} (user {me.id}) at {client.base_url}", highlight=False)


# -- workspaces and resources -----------------------------------------------------------


def workspaces(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List your workspaces with their credit balances."""
    with _client(ctx) as client:
        found = [client.workspaces.get(w.id) for w in client.workspaces.list()]
    if json:
        _print_json(found)
        return
    rows = ([w.id, w.name, getattr(w, "role", None), w.credits] for w in found)
    _table_out("Workspaces", ["id", "name", "role", "credits"], rows)


def resources(ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show the workspace's folders, workbooks and tables as a tree."""
    ws = _workspace(workspace)
    with _client(ctx) as client:
        items = client.resources.list(ws, everywhere=True)
    if json:
        _print_json(items)
        return
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
    with _client(ctx) as client:
        table = client.tables.create(_workspace(workspace), name, workbook_id=workbook)
        for fname in field or []:
            client.fields.create(table.id, fname, "text")
        if field:
            table = client.tables.get(table.id)
    if json:
        _print_json(table)
    else:
        console.print(f"created table {table.id} ({table.name})", highlight=False)


@tables_app.command("show")
def tables_show(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """Show a table's fields, views and row count."""
    with _client(ctx) as client:
        table = client.tables.get(table_id)
        count = client.tables.count(table_id)
    if json:
        _print_json({**table.model_dump(mode="json"), "recordCount": count})
        return
    console.print(
        f"[bold]{table.name}[/bold] {table.id} — {count} rows, workspace {table.workspaceId}",
        highlight=False,
    )
    _table_out(
        "Fields",
        ["id", "name", "type"],
        ([f.id, f.name, f.type] for f in table.fields),
    )
    _table_out("Views", ["id", "name", "limit"], ([v.id, v.name, v.limit] for v in table.views))


@tables_app.command("count")
def tables_count(ctx: typer.Context, table_id: TableArg) -> None:
    """Print the number of rows in a table."""
    with _client(ctx) as client:
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
) -> None:
    """Stream a table's rows as CSV or JSON lines (columns by field name, plus id)."""
    if format not in ("csv", "jsonl"):
        fail(f"unknown format {format!r}; use csv or jsonl")
    with _client(ctx) as client:
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


# -- import ----------------------------------------------------------------------------


class _Lines:
    """Reads a file in binary, line by line, counting bytes for the progress bar."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None]) -> None:
        self.path = path
        self.on_bytes = on_bytes

    def __iter__(self) -> Iterator[str]:
        encoding = "utf-8-sig"  # only the first line may start with a byte-order mark
        with open(self.path, "rb") as f:
            for raw in f:
                self.on_bytes(len(raw))
                yield raw.decode(encoding)
                encoding = "utf-8"


class _FieldMap:
    """Column name (or field id) → field id, creating text fields when allowed."""

    def __init__(self, client: Client, table: Table, create: bool) -> None:
        self.client, self.table_id, self.create = client, table.id, create
        self.ids = {f.id: f.id for f in table.fields}
        self.ids.update({f.name: f.id for f in table.fields})
        self.created: list[str] = []

    def __call__(self, name: str) -> str:
        fid = self.ids.get(name)
        if fid is None:
            if not self.create:
                raise ValueError(
                    f"table {self.table_id} has no field named {name!r} "
                    "(add --create-fields to create missing text fields)"
                )
            fid = self.ids[name] = self.client.fields.create(self.table_id, name, "text").id
            self.created.append(name)
        return fid

    def check(self, names: Iterable[str]) -> None:
        missing = [n for n in names if n not in self.ids]
        if missing and not self.create:
            raise ValueError(
                f"table {self.table_id} has no field named {', '.join(map(repr, missing))} "
                "(add --create-fields to create missing text fields)"
            )
        for name in missing:
            self(name)


def _csv_rows(lines: Iterable[str], fields: _FieldMap) -> Iterator[dict[str, Any]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    id_col = header.index("id") if "id" in header and "id" not in fields.ids else None
    fields.check([h for i, h in enumerate(header) if i != id_col and h])
    ids = [None if i == id_col or not h else fields(h) for i, h in enumerate(header)]
    for row in reader:
        cells = {fid: v for fid, v in zip(ids, row, strict=False) if fid and v != ""}
        if id_col is not None and id_col < len(row) and row[id_col]:
            yield {"id": row[id_col], "cells": cells}
        else:
            yield {"cells": cells}


def _jsonl_rows(lines: Iterable[str], fields: _FieldMap) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ValueError(f"line {number} is not JSON") from None
        if not isinstance(obj, dict):
            raise ValueError(f"line {number} is not a JSON object")
        record_id = obj.pop("id", None) if "id" not in fields.ids else None
        source = obj["cells"] if isinstance(obj.get("cells"), dict) else obj
        cells = {fields(k): v for k, v in source.items()}
        yield {"id": record_id, "cells": cells} if record_id is not None else {"cells": cells}


def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A .csv or .jsonl file", exists=True, dir_okay=False)
    ],
    table: Annotated[str, typer.Option("--table", "-t", help="Table id (t_…)")],
    create_fields: Annotated[
        bool, typer.Option("--create-fields", help="Create missing columns as text fields")
    ] = False,
    format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the extension)")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per request")] = 1000,
) -> None:
    """Import rows from CSV (header = field names) or JSON lines, streaming, in batches."""
    kind = format or ("jsonl" if file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    if kind not in ("csv", "jsonl"):
        fail(f"unknown format {kind!r}; use csv or jsonl")
    started = time.monotonic()
    with _client(ctx) as client:
        target = client.tables.get(table)
        fields = _FieldMap(client, target, create_fields)
        if kind == "csv":
            fields.check(_csv_header(file, fields))
        with _progress() as progress:
            try:
                rows_done = _import(client, target, file, kind, fields, progress, batch_size)
            except BaseException:
                progress.live.transient = True  # leave only the error line behind
                raise
    created = f"; created fields {', '.join(fields.created)}" if fields.created else ""
    console.print(
        f"imported {rows_done} rows into {target.id} in {time.monotonic() - started:.1f}s{created}",
        highlight=False,
    )


def _csv_header(file: Path, fields: _FieldMap) -> list[str]:
    """The CSV's column names that should be fields (an ``id`` column holds row ids)."""
    with open(file, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    return [h for h in header if h and (h != "id" or "id" in fields.ids)]


def _import(
    client: Client,
    target: Table,
    file: Path,
    kind: str,
    fields: _FieldMap,
    progress: Progress,
    batch_size: int,
) -> int:
    size = file.stat().st_size
    task = progress.add_task(f"importing {file.name}", total=size, rows=0)
    done = 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        progress.update(task, rows=done)

    lines = _Lines(file, lambda n: progress.advance(task, n))
    rows = _csv_rows(lines, fields) if kind == "csv" else _jsonl_rows(lines, fields)
    client.records.add(
        target.id, rows, batch_size=batch_size, on_batch=on_batch, return_records=False
    )
    progress.update(task, completed=size)
    return done


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


# -- fields ----------------------------------------------------------------------------


def _inputs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, formula = pair.partition("=")
        if not sep or not name:
            fail(f"--input takes name=formula, not {pair!r}")
        out[name] = formula
    return out


@fields_app.command("add")
def fields_add(
    ctx: typer.Context,
    table_id: TableArg,
    name: Annotated[str, typer.Argument(help="Column name")],
    type: Annotated[
        str, typer.Option("--type", help="text, number, boolean, date, url, email, …")
    ] = "text",
    formula: Annotated[
        str | None, typer.Option(help="A formula column, e.g. '{{f_a}} + 1'")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="An enrichment action key, e.g. http-api-v2")
    ] = None,
    input: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="Action input as name=formula (repeatable)"),
    ] = None,
    package: Annotated[
        str | None, typer.Option(help="Integration id (default: the action key)")
    ] = None,
    condition: Annotated[
        str | None, typer.Option(help="Run only when this formula is true")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Add a column: a plain type, a formula (--formula) or an enrichment (--action)."""
    if formula is not None and action is not None:
        fail("give --formula or --action, not both")
    with _client(ctx) as client:
        if action is not None:
            field = client.fields.create_action(
                table_id,
                name,
                action,
                _inputs(input or []),
                package_id=package,
                run_condition=condition,
            )
        elif formula is not None:
            field = client.fields.create_formula(table_id, name, formula)
        else:
            field = client.fields.create(table_id, name, type)
    if json:
        _print_json(field)
    else:
        console.print(f"added {field.type} field {field.id} ({field.name})", highlight=False)


@fields_app.command("list")
def fields_list(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """List a table's columns."""
    with _client(ctx) as client:
        fields = client.fields.list(table_id)
    if json:
        _print_json(fields)
    else:
        _table_out(None, ["id", "name", "type"], ([f.id, f.name, f.type] for f in fields))


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
    with _client(ctx) as client:
        table = client.tables.get(table_id)
        field_ids = _resolve_fields(table, field)
        started = client.runs.start(
            table.id, field_ids, record_ids=record, view_id=view, num_records=limit, force=force
        )
        if not wait:
            if json:
                _print_json(started)
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
        _print_json(final)
    else:
        counts = final.counts()
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no cells"
        console.print(f"done: {summary}", highlight=False)


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
    """Credit usage of a workspace, grouped by day, user, integration, action, table or field:
    credits spent and actions (executions, free ones included)."""
    if actions:
        by = "action"
    if by not in _BY:
        fail(f"--by takes one of {', '.join(_BY)}, not {by!r}")
    ws = _workspace(workspace)
    with _client(ctx) as client:
        report = client.credits.workspace(ws, start=start, end=end, group_by=[by])
    if json:
        _print_json(report)
        return
    rows = report.rows
    if by != "date":
        rows = sorted(rows, key=lambda r: (-r.actions, -r.credits) if actions else -r.credits)
    totals = report.totals
    _table_out(
        f"Credits used in workspace {ws} by {by}: {totals.used} credits, {totals.actions} "
        f"actions (balance {report.balance})",
        [by, "credits", "actions"],
        ([_credit_key(by, r), r.credits, r.actions] for r in rows),
    )


actions_app = typer.Typer(
    help="The action catalog: what columns can run, with Clay's names and prices.",
    invoke_without_command=True,
)


@actions_app.callback()
def actions_list(ctx: typer.Context, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List every action the server can run (Clay's actionKey/actionPackageId, price)."""
    if ctx.invoked_subcommand is not None:
        return
    with _client(ctx) as client:
        found = client.actions.list(workspace_id=workspace)
    if json:
        _print_json(found)
        return
    _table_out(
        "Actions",
        ["actionKey", "actionPackageId", "name", "credits"],
        ([a.actionKey, a.actionPackageId, a.displayName, a.pricing.get("credits")] for a in found),
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
    ws = _workspace(workspace)
    with _client(ctx) as client:
        found = client.actions.search(ws, query, limit=limit)
    if json:
        _print_json(found)
        return
    _table_out(
        f"Actions matching {query!r}",
        ["entity_id", "name", "credits"],
        ([r["entity_id"], r["name"], (r.get("pricing") or {}).get("credits")] for r in found),
    )


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
    with _client(ctx) as client:
        source = client.sources.create(table_id, name, auth_token=auth_token)
    if json:
        _print_json(source)
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
    with _client(ctx) as client:
        sources = client.sources.list(table_id)
    if json:
        _print_json(sources)
        return
    _table_out(
        None,
        ["id", "name", "records", "url"],
        ([s.id, s.name, s.numSourceRecords, s.url] for s in sources),
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
    opts = ctx.find_root().obj or {}
    needs_login = not source.startswith(("http://", "https://"))
    client = _client(ctx) if needs_login else Client(opts.get("url") or DEFAULT_URL)
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
