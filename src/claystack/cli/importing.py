"""claystack import: CSV (any common encoding and delimiter) or JSON lines, streamed in batches."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..client import Client, Table
from ._common import (
    open_client,
)
from ._console import console, err, fail

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
    with open_client(ctx) as client:
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
