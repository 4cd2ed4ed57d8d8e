"""Commands over the server's export and import jobs (``tables export --wait``,
``imports run|status``)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..csvio import CsvError, read_csv
from ._common import open_client
from ._console import console, err, fail

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..client import Client
    from ..client._jobs import Export, ImportJob

imports_app = typer.Typer(
    help="Server-side CSV imports: upload a file, import it as a job.", no_args_is_help=True
)


def _progress(counts: str = "{task.completed:,.0f}/{task.total:,.0f} rows") -> Progress:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(counts),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def export_with_job(client: Client, table_id: str, view: str | None, output: Path | None) -> None:
    """Runs the export as a server job, waits for it, and downloads its CSV."""
    job = client.exports.create(table_id, view)
    with _progress() as progress:
        task = progress.add_task(f"exporting {job.id}", total=job.totalRecordsInViewCount or 0)

        def show(update: Export) -> None:
            progress.update(task, completed=update.recordsExportedCount)

        done = client.exports.wait(job.id, on_progress=show)
    if output is not None:
        client.exports.download(done, output)
        err.print(f"exported {done.recordsExportedCount} rows to {output}", highlight=False)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        client.exports.download(done, path)
        with open(path, "rb") as fh:
            shutil.copyfileobj(fh, sys.stdout.buffer)
        sys.stdout.flush()


def _header(path: Path, delimiter: str | None) -> list[str]:
    """The CSV's column names, read the way the server's import will read them."""
    try:
        with read_csv(path, delimiter=delimiter, skip_bad_rows=True) as reader:
            return list(reader.columns)
    except CsvError as exc:
        fail(f"{path}: {exc}")


@imports_app.command("run")
def imports_run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV file", exists=True, dir_okay=False)],
    table: Annotated[str, typer.Option("--table", "-t", help="Table id (t_…)")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            "-m",
            help="FIELD=COLUMN (field name or id); default: every column named like a field",
        ),
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Default: detected")] = None,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Columns are column_1, column_2, …")
    ] = False,
    without_run: Annotated[
        bool, typer.Option("--without-run", help="Do not auto-run enrichment columns")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the job")] = True,
) -> None:
    """Upload a CSV and import it with a server-side job (any encoding or delimiter)."""
    with open_client(ctx) as client:
        target = client.tables.get(table)
        by_name = {f.name: f.id for f in target.fields}
        by_name.update({f.id: f.id for f in target.fields})
        mapping: dict[str, str] = {}
        if map_:
            for pair in map_:
                name, sep, column = pair.partition("=")
                if not sep or name not in by_name:
                    fail(f"--map {pair!r}: expected FIELD=COLUMN with a field of {target.id}")
                mapping[by_name[name]] = "{{" + column + "}}"
        else:
            columns = _header(file, delimiter) if not no_header else []
            mapping = {by_name[c]: "{{" + c + "}}" for c in columns if c in by_name}
            if not mapping:
                fail(f"no CSV column is named like a field of {target.id}; give --map FIELD=COLUMN")
        key = client.imports.upload(file)
        job = client.imports.create(
            target.id,
            key,
            mapping,
            has_header=not no_header,
            delimiter=delimiter,
            without_run=without_run,
            filename=file.name,
        )
        if not wait:
            console.print(job.id, highlight=False)
            return
        with _progress("{task.completed:,.0f} rows") as progress:
            task = progress.add_task(f"importing {file.name}", total=None)

            def show(update: ImportJob) -> None:
                progress.update(task, completed=update.rows)

            done = client.imports.wait(job.id, on_progress=show)
    _report(done)


def _report(job: ImportJob) -> None:
    state = job.state
    console.print(
        f"{job.id} {job.status}: {job.rows} rows imported into {job.tableId}", highlight=False
    )
    if state.errorCount:
        err.print(f"{state.errorCount} malformed rows left out:", highlight=False)
        for e in state.errors:
            err.print(f"  line {e.line}: {e.message}", highlight=False)


@imports_app.command("status")
def imports_status(
    ctx: typer.Context,
    import_id: Annotated[str, typer.Argument(help="Import id (ij_…)")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it finishes")] = False,
) -> None:
    """Show an import job's progress."""
    with open_client(ctx) as client:
        job = client.imports.wait(import_id) if wait else client.imports.get(import_id)
    _report(job)
