"""claystack import: CSV (any common encoding and delimiter) or JSON lines, streamed in batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import orjson
import typer

from ..csvio import CsvError, CsvReader, CsvReport, infer_type, read_csv
from ._common import open_client
from ._console import console, err, fail

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..client import Client, Table

SAMPLE_ROWS = 1000
FIELD_TYPES = (
    "text", "number", "boolean", "date", "url", "email", "phone", "currency", "percent",
    "image", "json", "select", "multiselect",
)  # fmt: skip


class _FieldMap:
    """Column name (or field id) → field id, creating fields (text unless typed) when allowed."""

    def __init__(
        self, client: Client, table: Table, create: bool, types: dict[str, str] | None = None
    ) -> None:
        self.client, self.table_id, self.create = client, table.id, create
        self.types = types or {}
        self.ids = {f.id: f.id for f in table.fields}
        self.ids.update({f.name: f.id for f in table.fields})
        self.field_types = {f.id: f.type for f in table.fields}
        self.created: list[str] = []

    def __call__(self, name: str) -> str:
        fid = self.ids.get(name)
        if fid is None:
            if not self.create:
                raise ValueError(
                    f"table {self.table_id} has no field named {name!r} "
                    "(add --create-fields to create missing fields)"
                )
            kind = self.types.get(name, "text")
            fid = self.ids[name] = self.client.fields.create(self.table_id, name, kind).id
            self.field_types[fid] = kind
            self.created.append(name if kind == "text" else f"{name} ({kind})")
        return fid

    def check(self, names: Iterable[str]) -> None:
        missing = [n for n in names if n not in self.ids]
        if missing and not self.create:
            raise ValueError(
                f"table {self.table_id} has no field named {', '.join(map(repr, missing))} "
                "(add --create-fields to create missing fields)"
            )
        for name in missing:
            self(name)


def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A .csv or .jsonl file", exists=True, dir_okay=False)
    ],
    table: Annotated[str, typer.Option("--table", "-t", help="Table id (t_…)")],
    create_fields: Annotated[
        bool, typer.Option("--create-fields", help="Create missing columns (as text fields)")
    ] = False,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--types",
            help="Types of the fields to create, e.g. 'Score=number,Joined=date' (repeatable)",
        ),
    ] = None,
    infer_types: Annotated[
        bool,
        typer.Option(
            "--infer-types",
            help=f"Guess the type of each field to create from the first {SAMPLE_ROWS} rows "
            "(number, boolean, date, email, url, else text)",
        ),
    ] = False,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Check the file, show columns → fields; import nothing"),
    ] = False,
    encoding: Annotated[
        str | None, typer.Option(help="CSV encoding (default: detected), e.g. latin-1, utf-16")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: detected among , ; TAB |)")
    ] = None,
    skip_bad_rows: Annotated[
        bool,
        typer.Option(
            "--skip-bad-rows",
            help="Leave out and list rows with too many or too few cells (default: import "
            "nothing and name the first)",
        ),
    ] = False,
    format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the extension)")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per request")] = 1000,
) -> None:
    """Import rows from CSV (header = field names) or JSON lines, streaming, in batches.

    A CSV is checked in full before any row is sent: an empty or duplicate column name, or
    a row with more or fewer cells than the header, stops the import with its line number
    (with --skip-bad-rows such rows are left out and listed). A column named "id" gives the
    row ids. Values of number and boolean fields are sent as numbers and booleans."""
    kind = _format(file, format)
    explicit = _parse_types(types or [])
    started = time.monotonic()
    plan: _Plan | None = None
    with open_client(ctx) as client:
        target = client.tables.get(table)
        if kind == "csv":
            plan = _check_csv(file, encoding, delimiter, skip_bad_rows, target, infer_types)
            fields = _csv_fields(client, target, create_fields, plan, explicit, file)
            if preview:
                _show_preview(plan, fields, file)
                return
            fields.check([c for c in plan.columns if c != plan.id_column])
        else:
            if preview:
                fail("--preview is for CSV files")
            fields = _FieldMap(client, target, create_fields, explicit)
        with _progress() as progress:
            try:
                rows_done = _import(client, target, file, fields, progress, batch_size, plan)
            except BaseException:
                progress.live.transient = True  # leave only the error line behind
                raise
    _report(rows_done, target, time.monotonic() - started, fields, plan)


def _report(
    rows_done: int, target: Table, seconds: float, fields: _FieldMap, plan: _Plan | None
) -> None:
    """What was imported, the fields created, and the rows left out (--skip-bad-rows)."""
    created = f"; created fields {', '.join(fields.created)}" if fields.created else ""
    console.print(
        f"imported {rows_done} rows into {target.id} in {seconds:.1f}s{created}",
        highlight=False,
    )
    if plan is not None and plan.skipped:
        _report_skipped(plan)


def _format(file: Path, format: str | None) -> str:
    """csv or jsonl: as given, else by the file's extension."""
    kind = format or ("jsonl" if file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    if kind not in ("csv", "jsonl"):
        fail(f"unknown format {kind!r}; use csv or jsonl")
    return kind


def _parse_types(pairs: list[str]) -> dict[str, str]:
    """``--types`` as column → type, every type checked."""
    out: dict[str, str] = {}
    for pair in pairs:
        for item in pair.split(","):
            name, sep, kind = item.rpartition("=")
            if not sep or not name.strip() or not kind.strip():
                fail(f"--types takes column=type pairs, e.g. 'Score=number'; not {item!r}")
            out[name.strip()] = kind.strip()
    bad_types = sorted({t for t in out.values() if t not in FIELD_TYPES})
    if bad_types:
        fail(f"unknown field type {bad_types[0]!r}; use one of {', '.join(FIELD_TYPES)}")
    return out


def _csv_fields(
    client: Client,
    target: Table,
    create: bool,
    plan: _Plan,
    explicit: dict[str, str],
    file: Path,
) -> _FieldMap:
    """The fields of a checked CSV's columns: ``--types`` must name columns of the file."""
    unknown = sorted(set(explicit) - set(plan.columns))
    if unknown:
        fail(f"--types names {', '.join(map(repr, unknown))}, not a column of {file.name}")
    return _FieldMap(client, target, create, {**plan.inferred, **explicit})


# -- CSV -------------------------------------------------------------------------------


class _Plan:
    """What the check of a CSV found: its format, columns, a sample and the bad rows."""

    def __init__(self, report: CsvReport, id_column: str | None) -> None:
        self.report = report
        self.columns = report.columns
        self.id_column = id_column
        self.inferred: dict[str, str] = {}
        self.sample: list[dict[str, str]] = []

    @property
    def skipped(self) -> int:
        return self.report.skipped


def _check_csv(
    file: Path,
    encoding: str | None,
    delimiter: str | None,
    skip_bad_rows: bool,
    target: Table,
    infer: bool,
) -> _Plan:
    """Reads the whole file once, keeping only a sample, so a bad row stops the import
    before anything is written."""
    names = {f.name for f in target.fields} | {f.id for f in target.fields}
    sample: list[dict[str, str]] = []
    try:
        with read_csv(file, encoding, delimiter, skip_bad_rows=skip_bad_rows) as reader:
            id_column = "id" if "id" in reader.columns and "id" not in names else None
            for row in reader:
                if len(sample) < SAMPLE_ROWS:
                    sample.append(row)
    except CsvError as exc:
        fail(f"{file.name}: {exc}")
    plan = _Plan(reader.report, id_column)
    plan.sample = sample
    if infer:
        plan.inferred = {
            c: infer_type(row[c] for row in sample)
            for c in plan.columns
            if c != id_column and c not in names
        }
    return plan


def _show_preview(plan: _Plan, fields: _FieldMap, file: Path) -> None:
    report = plan.report
    delimiter = {"\t": "TAB", " ": "space"}.get(report.delimiter, report.delimiter)
    console.print(
        f"{file.name}: {report.rows} rows, {len(plan.columns)} columns, "
        f"encoding {report.encoding}, delimiter {delimiter!r}",
        highlight=False,
    )
    from rich.table import Table as RichTable
    from rich.text import Text

    out = RichTable(title_justify="left")
    for name in ("column", "field", "type", "first values"):
        out.add_column(name)
    for column in plan.columns:
        values = Text(", ".join(repr(r[column]) for r in plan.sample[:3]))
        fid = fields.ids.get(column)
        if column == plan.id_column:
            out.add_row(Text(column), "(row id)", "", values)
        elif fid is not None:
            out.add_row(Text(column), fid, fields.field_types.get(fid, ""), values)
        elif fields.create:
            out.add_row(Text(column), "(new)", fields.types.get(column, "text"), values)
        else:
            out.add_row(Text(column), "(missing: add --create-fields)", "", values)
    console.print(out)
    if plan.skipped:
        _report_skipped(plan)


def _report_skipped(plan: _Plan) -> None:
    err.print(f"skipped {plan.skipped} bad rows:", highlight=False)
    for bad in plan.report.bad_rows[:20]:
        err.print(f"  line {bad.line}: {bad.reason}", highlight=False, markup=False)
    if plan.skipped > 20:
        err.print(f"  … and {plan.skipped - 20} more", highlight=False)


def _csv_rows(
    reader: CsvReader, fields: _FieldMap, id_column: str | None
) -> Iterator[dict[str, Any]]:
    targets = [(name, fields.ids[name]) for name in reader.columns if name != id_column]
    convert = {fid: _CONVERT.get(fields.field_types.get(fid, "")) for _, fid in targets}
    for row in reader:
        cells: dict[str, Any] = {}
        for name, fid in targets:
            value = row[name]
            if value != "":
                to = convert[fid]
                cells[fid] = to(value) if to is not None else value
        record_id = row[id_column] if id_column is not None else ""
        yield {"id": record_id, "cells": cells} if record_id else {"cells": cells}


def _number(value: str) -> Any:
    text = value.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return value  # not a number: kept as written rather than dropped


_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


def _boolean(value: str) -> Any:
    text = value.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else value


_CONVERT: dict[str, Callable[[str], Any]] = {"number": _number, "boolean": _boolean}


# -- JSON lines ------------------------------------------------------------------------


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


def _lines(f: IO[bytes], on_bytes: Callable[[int], None]) -> Iterator[str]:
    encoding = "utf-8-sig"  # only the first line may start with a byte-order mark
    for raw in f:
        on_bytes(len(raw))
        yield raw.decode(encoding)
        encoding = "utf-8"


# -- sending ---------------------------------------------------------------------------


class _CountingReader:
    """A binary file that reports the bytes read, for the progress bar."""

    def __init__(self, f: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._f, self._on_bytes = f, on_bytes

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._on_bytes(len(data))
        return data


def _import(
    client: Client,
    target: Table,
    file: Path,
    fields: _FieldMap,
    progress: Progress,
    batch_size: int,
    plan: _Plan | None,
) -> int:
    size = file.stat().st_size
    task = progress.add_task(f"importing {file.name}", total=size, rows=0)
    done = 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        progress.update(task, rows=done)

    def advance(n: int) -> None:
        progress.advance(task, n)

    with open(file, "rb") as f:
        if plan is None:
            rows: Iterable[dict[str, Any]] = _jsonl_rows(_lines(f, advance), fields)
            client.records.add(
                target.id, rows, batch_size=batch_size, on_batch=on_batch, return_records=False
            )
        else:
            report = plan.report
            try:
                with read_csv(
                    _CountingReader(f, advance),  # type: ignore[arg-type]
                    report.encoding,
                    report.delimiter,
                    skip_bad_rows=plan.skipped > 0,
                ) as reader:
                    client.records.add(
                        target.id,
                        _csv_rows(reader, fields, plan.id_column),
                        batch_size=batch_size,
                        on_batch=on_batch,
                        return_records=False,
                    )
            except CsvError as exc:  # the file changed since it was checked
                fail(f"{file.name}: {exc}")
    progress.update(task, completed=size)
    return done


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )
