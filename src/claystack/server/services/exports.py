"""CSV exports of a table or a view (``ej_…``): the job row, the file it writes and the
signed link that serves it without a login.

The file is built in batches of rows straight to ``<data_dir>/exports``; a million-row view
never sits in memory. Columns are the view's visible fields in its order, values are what
the grid displays; only a view's export applies its filter, sort and window.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson

from ...wire import Export
from ..config import Settings
from ..errors import Forbidden, NotFound
from ..ids import new_id
from ..security import signature_ok, url_signature
from ..storage.engine import Database
from ..storage.repositories import Connection, view_rows
from ..storage.repositories import jobs as repo
from . import tables as tables_svc
from . import views as views_svc
from .common import Actor, Scope, iso, now_ms
from .leases import Lease

log = logging.getLogger("claystack.exports")

ACTIVE, FINISHED, FAILED = "ACTIVE", "FINISHED", "FAILED"
_BATCH = 5_000
_PROGRESS_EVERY_SECONDS = 0.5
_UNSAFE_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


def export_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "exports"


def export_path(settings: Settings, export_id: str) -> Path:
    return export_dir(settings) / f"{export_id}.csv"


def _file_name(table_name: str, view_name: str) -> str:
    name = _UNSAFE_NAME.sub(" ", f"{table_name} - {view_name}").strip() or "export"
    return f"{name[:200]}.csv"


# -- the job row ---------------------------------------------------------------------------


async def create_export(
    conn: Connection, scope: Scope, table_row: Any, view_id: str | None
) -> Export:
    """Records an ACTIVE export of ``view_id`` (filtered), or of the whole table in the
    columns of its first view (unfiltered)."""
    filtered = view_id is not None
    view = await tables_svc.get_view(conn, table_row.id, view_id or table_row.first_view_id)
    if filtered and not views_svc.is_plain(view.config):
        total = await view_rows.count_shown(conn, table_row.id, view.config)
    else:
        total = int(table_row.row_count)
    now = now_ms()
    row = {
        "id": new_id("ej"),
        "workspace_id": scope.workspace_id,
        "table_id": table_row.id,
        "view_id": view.id,
        "filtered": filtered,
        "user_id": scope.actor.user_id,
        "status": ACTIVE,
        "file_name": _file_name(table_row.name, view.name),
        "total_records": total,
        "records_exported": 0,
        "error": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }
    await repo.add_export(conn, row)
    return export_out(_Row(row), None, None)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


async def resolve_export(conn: Connection, actor: Actor, export_id: str) -> Any:
    """The export if the caller belongs to its workspace; the same 404 otherwise."""
    row = await repo.export_for_member(conn, export_id, actor.user_id)
    if row is None:
        raise NotFound("Export not found")
    return row


def signed_file_url(
    secret: str, base_url: str, export_id: str, ttl_seconds: int
) -> tuple[str, int]:
    """(absolute download URL, its expiry in epoch seconds)."""
    expires = int(time.time()) + ttl_seconds
    sig = url_signature(secret, "export", f"{export_id}:{expires}")
    return f"{base_url}/v3/exports/{export_id}/file?expires={expires}&sig={sig}", expires


def export_out(row: Any, url: str | None, expires: int | None) -> Export:
    return Export.build(
        id=row.id,
        status=row.status,
        tableId=row.table_id,
        viewId=row.view_id,
        workspaceId=row.workspace_id,
        fileName=row.file_name,
        exportType="CSV",
        totalRecordsInViewCount=row.total_records,
        recordsExportedCount=row.records_exported,
        downloadUrl=url,
        url=url,
        expiresAt=iso(expires * 1000) if expires else None,
        error=row.error,
        createdAt=iso(row.created_at),
        updatedAt=iso(row.updated_at),
        finishedAt=iso(row.finished_at),
    )


def file_deadline(settings: Settings, finished_at: int) -> int:
    """When a finished export's file is deleted (epoch seconds)."""
    return finished_at // 1000 + int(settings.export_retention_hours * 3600)


def get_export(row: Any, settings: Settings, *, secret: str, base_url: str) -> Export:
    """The job's answer; a finished one carries a fresh signed link, which never outlives
    the file (after ``export_retention_hours`` there is no link, and ``expiresAt`` is past)."""
    if row.status != FINISHED:
        return export_out(row, None, None)
    deadline = file_deadline(settings, row.finished_at)
    left = deadline - int(time.time())
    if left <= 0:
        return export_out(row, None, deadline)
    ttl = min(settings.export_link_seconds, left)
    url, expires = signed_file_url(secret, base_url, row.id, ttl)
    return export_out(row, url, expires)


async def file_for_download(
    conn: Connection,
    settings: Settings,
    secret: str,
    export_id: str,
    expires: str | None,
    sig: str | None,
) -> tuple[Path, str]:
    """The finished file behind a signed link, and its download name. A bad or missing
    signature and an expired link are 403; a link to an export that is gone is 404."""
    if not expires or not sig or not expires.isdigit():
        raise Forbidden("The download link is missing its signature")
    if not signature_ok(secret, "export", f"{export_id}:{expires}", sig):
        raise Forbidden("The download link's signature is not valid")
    if int(expires) < time.time():
        raise Forbidden("The download link has expired; fetch the export again for a new one")
    row = await repo.export_file_row(conn, export_id)
    path = export_path(settings, export_id)
    if row is None or row.status != FINISHED:
        raise NotFound("Export file not found")
    if file_deadline(settings, row.finished_at) <= time.time() or not path.exists():
        raise NotFound("The export's file has been deleted; export the view again")
    return path, row.file_name


# -- the job itself ------------------------------------------------------------------------


def display(value: Any) -> str:
    """A cell as the grid shows it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def visible_columns(fields: Sequence[Any], view_config: dict[str, Any]) -> list[tuple[str, str]]:
    """(field id, name) of the fields a view shows, in its column order: the view's own
    ``order`` (strings sorting in column order) where it has one, else the table's."""
    settings = view_config.get("fields") or {}
    shown = []
    for position, field in enumerate(fields):
        conf = settings.get(field.id) or {}
        if conf.get("isVisible", True) is False:
            continue
        order = conf.get("order")
        key = (0, str(order), position) if order is not None else (1, "", position)
        shown.append((key, field.id, field.name))
    shown.sort(key=lambda item: item[0])
    return [(fid, name) for _, fid, name in shown]


async def _row_batches(
    db: Database, table_id: str, config: dict[str, Any], filtered: bool
) -> AsyncIterator[list[Any]]:
    """The rows to export in order, a batch at a time, each read in its own short
    transaction. Every row in insertion order is a walk along ``seq``; a view with a
    filter, sort or window reads its ordered ``seq``s once, then the rows by ``seq``."""
    if not filtered or views_svc.is_plain(config):
        last = 0
        while True:
            async with db.transaction(write=False) as conn:
                rows = await repo.rows_after(conn, table_id, last, _BATCH)
            if not rows:
                return
            yield rows
            last = rows[-1].seq
    async with db.transaction(write=False) as conn:
        ordered = await repo.ordered_seqs(conn, table_id, config)
    for start in range(0, len(ordered), _BATCH):
        seqs = ordered[start : start + _BATCH].tolist()
        async with db.transaction(write=False) as conn:
            found = await repo.rows_by_seq(conn, table_id, seqs)
        # A row deleted since the order was read is left out.
        yield [found[s] for s in seqs if s in found]


def _write_rows(writer: Any, columns: list[str], rows: list[Any]) -> None:
    stamps = {"f_created_at": "created_at", "f_updated_at": "updated_at"}
    loads = orjson.loads
    out = []
    for row in rows:
        cells = loads(row.cells) if row.cells else {}
        line = []
        for fid in columns:
            if fid in stamps:
                line.append(iso(getattr(row, stamps[fid])) or "")
            else:
                line.append(display(cells.get(fid)))
        out.append(line)
    writer.writerows(out)


async def _progress(db: Database, export_id: str, lease: Lease, **values: Any) -> bool:
    """Stores progress and renews the lease; False when the job is gone, no longer ACTIVE
    or taken over by another process."""
    held, renewed = lease.renew()
    async with db.transaction(write=True) as conn:
        return await repo.export_progress(
            conn, export_id, held, {"updated_at": now_ms(), "lease_until": renewed, **values}
        )


async def run_export(db: Database, settings: Settings, export_id: str, lease: Lease) -> None:
    """Writes the export's file in batches, then marks it FINISHED (or FAILED)."""
    async with db.transaction(write=False) as conn:
        job = await repo.get_export(conn, export_id)
        if job is None or job.status != ACTIVE:
            return
        table = await repo.get_table(conn, job.table_id)
        view = None
        if table is not None:
            try:
                view = await tables_svc.get_view(conn, job.table_id, job.view_id)
            except NotFound:
                pass
        fields = await tables_svc.list_fields(conn, job.table_id)
    if table is None or view is None:
        await _progress(db, export_id, lease, status=FAILED, error="The view no longer exists")
        return
    columns = visible_columns(fields, view.config)
    ids = [fid for fid, _ in columns]
    final = export_path(settings, export_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Each holder of the job writes its own part file: a process that lost its lease cannot
    # clobber the file of the one that took over.
    part = final.with_suffix(f".{lease.value}.part")
    done = 0
    last_report = time.monotonic()
    try:
        with open(part, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([name for _, name in columns])
            async for rows in _row_batches(db, job.table_id, view.config, job.filtered):
                await anyio.to_thread.run_sync(_write_rows, writer, ids, rows)
                done += len(rows)
                if time.monotonic() - last_report >= _PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    if not await _progress(db, export_id, lease, records_exported=done):
                        return
            fh.flush()
            os.fsync(fh.fileno())
        if await _progress(db, export_id, lease, records_exported=done):
            os.replace(part, final)
            finished = {"status": FINISHED, "finished_at": now_ms(), "lease_until": None}
            await _progress(db, export_id, lease, records_exported=done, **finished)
    finally:
        part.unlink(missing_ok=True)
