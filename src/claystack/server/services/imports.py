"""CSV imports (``ij_…``) through claystack's own signed upload: a signed form to POST the
file to, the stored upload, and the job that feeds its rows to the records service.

The upload form mimics S3's POST policy (``key``, ``policy``, ``signature``): the policy is
the key, workspace and expiry, signed with the instance secret, so the upload needs no
cookie and a form cannot be reused for another key or after it expires.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import orjson

from ...csvio import CsvError, CsvReader, CsvReport, read_csv
from ...wire import ImportJob as ImportJobOut
from ...wire import SignedPostOut
from ..config import Settings
from ..errors import BadRequest, ClayError, Forbidden, InvalidParameter, NotFound
from ..ids import new_id
from ..security import signature_ok, url_signature
from ..storage.engine import Database
from ..storage.repositories import Connection
from ..storage.repositories import jobs as repo
from . import records as records_svc
from . import tables as tables_svc
from .common import Actor, Scope, iso, now_ms
from .leases import Lease

log = logging.getLogger("claystack.imports")

ACTIVE, FINISHED, FAILED = "ACTIVE", "FINISHED", "FAILED"
MAX_REPORTED_ERRORS = 100
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


# -- signed upload -------------------------------------------------------------------------


def upload_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "uploads"


def upload_path(settings: Settings, key: str) -> Path:
    return upload_dir(settings) / hashlib.sha256(key.encode()).hexdigest()


def signed_post(
    scope: Scope, filename: str, *, secret: str, base_url: str, ttl_seconds: int
) -> SignedPostOut:
    """A form that uploads one file for this workspace: POST its ``fields`` and ``file``
    as multipart/form-data to ``url``."""
    name = _SAFE_NAME.sub("_", filename).strip() or "upload.csv"
    key = f"imports/{scope.workspace_id}/{uuid.uuid4().hex}/{name[:200]}"
    expires = int(time.time()) + ttl_seconds
    doc = {"key": key, "workspaceId": scope.workspace_id, "expiration": expires}
    policy = base64.urlsafe_b64encode(orjson.dumps(doc)).decode()
    return SignedPostOut.build(
        url=f"{base_url}/v3/imports/upload",
        fields={
            "key": key,
            "policy": policy,
            "signature": url_signature(secret, "upload", policy),
        },
        expiresAt=iso(expires * 1000),
    )


def check_upload(secret: str, fields: dict[str, Any]) -> str:
    """The key a signed upload form may write; 403 for a bad signature or an expired form."""
    key, policy, sig = (fields.get(k) for k in ("key", "policy", "signature"))
    if not all(isinstance(v, str) and v for v in (key, policy, sig)):
        raise _bad('Fields "key", "policy" and "signature" are required')
    assert isinstance(key, str) and isinstance(policy, str) and isinstance(sig, str)
    if not signature_ok(secret, "upload", policy, sig):
        raise Forbidden("The upload form's signature is not valid")
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(policy.encode()))
    except (binascii.Error, ValueError):
        raise Forbidden("The upload form's policy is not valid") from None
    if doc.get("key") != key:
        raise Forbidden("The upload form's key does not match its policy")
    if int(doc.get("expiration", 0)) < time.time():
        raise Forbidden("The upload form has expired; ask for a new one")
    return key


def _store(source: IO[bytes], target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".part")
    with open(part, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
        size = out.tell()
    part.replace(target)
    return size


async def store_upload(settings: Settings, key: str, source: IO[bytes]) -> int:
    return await anyio.to_thread.run_sync(_store, source, upload_path(settings, key))


# -- the job row ---------------------------------------------------------------------------


def _config(body: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, str]]:
    """Checks the import's ``config``; returns (source, table id, field → template)."""
    source = body.get("source")
    dest = body.get("destination")
    mapping = body.get("map")
    if not isinstance(source, dict) or source.get("type", "S3_CSV") != "S3_CSV":
        raise _bad('Field "config.source" - expected {type: "S3_CSV", key, …}')
    if not isinstance(source.get("key"), str) or not source["key"]:
        raise _bad('Field "config.source.key" - Required')
    delim = source.get("fieldDelimiter")
    if delim is not None and (not isinstance(delim, str) or len(delim) not in (1, 2)):
        raise _bad('Field "config.source.fieldDelimiter" - expected one character')
    if not isinstance(dest, dict) or dest.get("type", "TABLE") != "TABLE":
        raise _bad('Field "config.destination" - expected {type: "TABLE", tableId}')
    if not isinstance(dest.get("tableId"), str):
        raise _bad('Field "config.destination.tableId" - Required')
    if not isinstance(mapping, dict) or not mapping:
        raise _bad('Field "config.map" - expected {f_…: "{{CSV column}}"}')
    for fid, template in mapping.items():
        if not isinstance(template, str):
            raise _bad(f'Field "config.map.{fid}" - expected a template string')
    return source, dest["tableId"], mapping


def _open(path: Path, source: dict[str, Any]) -> CsvReader:
    """The shared CSV reader (encoding and delimiter detected unless given); malformed rows
    are left out and reported, never the end of the import."""
    return read_csv(
        path,
        delimiter=source.get("fieldDelimiter") or None,
        has_header=source.get("hasHeader", True) is not False,
        skip_bad_rows=True,
    )


def _columns(path: Path, source: dict[str, Any]) -> list[str]:
    with _open(path, source) as reader:
        return list(reader.columns)


async def create_import(
    conn: Connection, actor: Actor, settings: Settings, body: dict[str, Any]
) -> ImportJobOut:
    """Checks the config against the table and the uploaded file's header, then records an
    ACTIVE job."""
    from . import workspaces

    config = body.get("config")
    if not isinstance(config, dict):
        raise _bad('Field "config" - Required')
    source, table_id, mapping = _config(config)
    table = await tables_svc.resolve_table(conn, actor, table_id)
    if body.get("workspaceId") not in (None, ""):
        scope = await workspaces.resolve_workspace(conn, actor, body["workspaceId"], write=True)
        if scope.workspace_id != table.scope.workspace_id:
            raise NotFound("Table not found")
    if not table.scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    key = source["key"]
    path = upload_path(settings, key)
    if not key.startswith(f"imports/{table.scope.workspace_id}/") or not path.exists():
        raise NotFound("Upload not found")
    writable = set(await tables_svc.field_ids(conn, table.id)) - tables_svc.SYSTEM_FIELD_IDS
    unknown = sorted(set(mapping) - writable)
    if unknown:
        raise _bad(f'Field "config.map" - unknown field {unknown[0]}')
    try:
        columns = await anyio.to_thread.run_sync(_columns, path, source)
    except CsvError as exc:
        raise _bad(f"The CSV cannot be read: {exc}") from None
    for fid, template in mapping.items():
        for col in _TEMPLATE.findall(template):
            if col not in columns:
                raise _bad(f'Field "config.map.{fid}" - the CSV has no column "{col}"')
    now = now_ms()
    row = {
        "id": new_id("ij"),
        "workspace_id": table.scope.workspace_id,
        "table_id": table.id,
        "user_id": actor.user_id,
        "status": ACTIVE,
        "config": config,
        "rows_read": 0,
        "rows_imported": 0,
        "row_errors": [],
        "error_count": 0,
        "error": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }
    await repo.add_import(conn, row)
    return import_out(_Row(row))


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


async def resolve_import(conn: Connection, actor: Actor, import_id: str) -> Any:
    """The import if the caller belongs to its workspace; the same 404 otherwise."""
    row = await repo.import_for_member(conn, import_id, actor.user_id)
    if row is None:
        raise NotFound("Import not found")
    return row


def import_out(row: Any) -> ImportJobOut:
    state = {
        "status": row.status,
        "numRowsSoFar": row.rows_imported,
        "numRowsRead": row.rows_read,
        "errorCount": row.error_count,
        "errors": row.row_errors,
        "error": row.error,
    }
    return ImportJobOut.build(
        id=row.id,
        status=row.status,
        workspaceId=row.workspace_id,
        tableId=row.table_id,
        state=state,
        config=row.config,
        createdAt=iso(row.created_at),
        updatedAt=iso(row.updated_at),
        finishedAt=iso(row.finished_at),
    )


# -- the job itself ------------------------------------------------------------------------


def _render(template: str, row: dict[str, str]) -> Any:
    """A ``map`` template over one CSV row: ``"{{Email}}"`` is the cell as it is (blank →
    nothing), other text has each ``{{column}}`` replaced."""
    whole = _TEMPLATE.fullmatch(template.strip())
    if whole:
        value = row.get(whole.group(1))
        return value if value else None
    text = _TEMPLATE.sub(lambda m: row.get(m.group(1)) or "", template)
    return text or None


_Plan = tuple[list[tuple[str, str]], list[tuple[str, str]]]


def _plan(mapping: dict[str, str]) -> _Plan:
    """The ``map`` split into (field, column) for templates that are one whole column (the
    common case, a dictionary read per cell) and (field, template) for the others."""
    whole, other = [], []
    for fid, template in mapping.items():
        match = _TEMPLATE.fullmatch(template.strip())
        if match:
            whole.append((fid, match.group(1)))
        else:
            other.append((fid, template))
    return whole, other


def _batch(
    rows: Iterator[dict[str, str]], size: int, plan: _Plan, report: CsvReport
) -> tuple[list[Any], int, int]:
    """The next ``size`` rows as records, with how many bad rows the report listed and
    skipped once they were read (taken here, in the reading thread, so that the next
    batch, read while this one is stored, adds nothing to this one's errors)."""
    whole, other = plan
    out: list[Any] = []
    for row in rows:
        cells = {}
        for fid, column in whole:
            value = row.get(column)
            if value:
                cells[fid] = value
        for fid, template in other:
            rendered = _render(template, row)
            if rendered is not None:
                cells[fid] = rendered
        out.append({"cells": cells})
        if len(out) >= size:
            break
    return out, len(report.bad_rows), report.skipped


async def _actor(conn: Connection, user_id: int | None) -> Actor | None:
    if user_id is None:
        return None
    user = await repo.get_user(conn, user_id)
    return None if user is None else Actor(user.id, user.email, user.name)


async def _finish(
    db: Database, import_id: str, lease: Lease, status: str, error: str | None = None
) -> None:
    now = now_ms()
    async with db.transaction(write=True) as conn:
        await repo.finish_import(conn, import_id, lease.value, status=status, error=error, now=now)


async def run_import(db: Database, settings: Settings, import_id: str, lease: Lease) -> None:
    """Feeds the CSV's rows to the records service in batches, each committed with the
    job's progress; resumes after ``rows_read`` when taken over."""
    async with db.transaction(write=False) as conn:
        job = await repo.get_import(conn, import_id)
        if job is None or job.status != ACTIVE:
            return
        actor = await _actor(conn, job.user_id)
    if actor is None:
        await _finish(
            db, import_id, lease, FAILED, "The user who started the import no longer exists"
        )
        return
    source, _, mapping = _config(job.config)
    path = upload_path(settings, source["key"])
    run_actions = not job.config.get("isImportWithoutRun", False)
    try:
        reader = await anyio.to_thread.run_sync(_open, path, source)
    except (CsvError, OSError) as exc:
        await _finish(db, import_id, lease, FAILED, f"The CSV cannot be read: {exc}")
        return
    with reader:
        rows = iter(reader)
        skip = job.rows_read
        if skip:
            await anyio.to_thread.run_sync(_skip, rows, skip)
        report = reader.report
        listed, skipped = len(report.bad_rows), report.skipped
        plan = _plan(mapping)

        def read() -> asyncio.Task[tuple[list[Any], int, int]]:
            work = anyio.to_thread.run_sync(_batch, rows, settings.import_batch_size, plan, report)
            return asyncio.ensure_future(work)

        # The next batch is read (a worker thread) while this one is stored.
        pending: asyncio.Task[tuple[list[Any], int, int]] | None = read()
        try:
            while pending is not None:
                batch, bad, skipped_now = await pending
                pending = read() if batch else None
                errors = [
                    {"line": b.line, "message": b.reason} for b in report.bad_rows[listed:bad]
                ]
                new_skipped = skipped_now - skipped
                listed, skipped = bad, skipped_now
                try:
                    alive = await _store_batch(
                        db,
                        import_id,
                        actor,
                        batch,
                        errors,
                        new_skipped,
                        run_actions,
                        lease,
                        settings.max_cell_bytes,
                    )
                except ClayError as exc:
                    await _finish(db, import_id, lease, FAILED, exc.message)
                    return
                if not alive:
                    return
        finally:
            if pending is not None:  # the reading thread must be done before the file closes
                await asyncio.gather(pending, return_exceptions=True)
    await _finish(db, import_id, lease, FINISHED)


def _skip(rows: Iterator[Any], count: int) -> None:
    for _ in range(count):
        if next(rows, None) is None:
            return


async def _store_batch(
    db: Database,
    import_id: str,
    actor: Actor,
    batch: list[Any],
    errors: list[dict[str, Any]],
    skipped: int,
    run_actions: bool,
    lease: Lease,
    max_cell_bytes: int,
) -> bool:
    """Adds one batch of rows and the job's progress in one transaction; False when the
    job is no longer ACTIVE (cancelled by a reset, or taken over)."""
    held, renewed = lease.renew()
    async with db.unit_of_work() as uow:
        conn = uow.conn
        # The job's row first: a process that lost its lease stops here, adding nothing.
        job = await repo.import_progress(
            conn,
            import_id,
            held,
            rows=len(batch),
            skipped=skipped,
            now=now_ms(),
            renewed=renewed,
        )
        if job is None:
            return False
        if batch:
            table = await tables_svc.resolve_table(conn, actor, job.table_id)
            if not table.scope.can_write:
                raise Forbidden("The user who started the import can no longer write this table")
            await records_svc.add_records(
                uow,
                table,
                batch,
                max_cell_bytes=max_cell_bytes,
                run_actions=run_actions,
                answer=False,
            )
        kept = list(job.row_errors or [])
        if errors and len(kept) < MAX_REPORTED_ERRORS:
            kept += errors[: MAX_REPORTED_ERRORS - len(kept)]
            await repo.set_import_errors(conn, import_id, kept)
    return True
