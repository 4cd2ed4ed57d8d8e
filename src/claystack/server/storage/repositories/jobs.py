"""Export and import jobs: their rows, their leases and the reads an export makes."""

from __future__ import annotations

from array import array
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Text, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import ExportJob, ImportJob, Membership, Record, Table, User
from . import view_rows

ACTIVE = "ACTIVE"

# -- exports -----------------------------------------------------------------------------------


async def add_export(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(ExportJob).values(**values))


async def _for_member(conn: AsyncConnection, job: Any, job_id: str, user_id: int) -> Any:
    return (
        await conn.execute(
            select(job)
            .join(
                Membership,
                (Membership.workspace_id == job.workspace_id) & (Membership.user_id == user_id),
            )
            .where(job.id == job_id)
        )
    ).first()


async def export_for_member(conn: AsyncConnection, export_id: str, user_id: int) -> Any:
    """The export if the user belongs to its workspace, else None."""
    return await _for_member(conn, ExportJob, export_id, user_id)


async def export_file_row(conn: AsyncConnection, export_id: str) -> Any:
    """status, file_name and finished_at of the export, or None."""
    return (
        await conn.execute(
            select(ExportJob.status, ExportJob.file_name, ExportJob.finished_at).where(
                ExportJob.id == export_id
            )
        )
    ).first()


async def get_export(conn: AsyncConnection, export_id: str) -> Any:
    return (await conn.execute(select(ExportJob).where(ExportJob.id == export_id))).first()


async def get_table(conn: AsyncConnection, table_id: str) -> Any:
    return (await conn.execute(select(Table).where(Table.id == table_id))).first()


def _held(model: Any, job_id: str, held: int) -> tuple[Any, ...]:
    """The job, while it is ACTIVE under the lease ``held`` (this process still holds it)."""
    return (model.id == job_id, model.status == ACTIVE, model.lease_until == held)


async def export_progress(
    conn: AsyncConnection, export_id: str, held: int, values: dict[str, Any]
) -> bool:
    """Sets ``values`` on the export if it is ACTIVE under the lease ``held``; False if not."""
    result = await conn.execute(
        update(ExportJob).where(*_held(ExportJob, export_id, held)).values(values)
    )
    return bool(result.rowcount)


async def ordered_seqs(conn: AsyncConnection, table_id: str, config: dict[str, Any]) -> array[int]:
    """Every row the view shows, in order, as one compact array of ``seq``s (8 bytes a row),
    aggregated by the database so no per-row Python objects pile up."""
    shown = view_rows.apply_view(select(Record.seq), table_id, config).subquery()
    agg: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        agg = func.coalesce(func.json_agg(shown.c.seq).cast(Text), "[]")
    else:
        agg = func.json_group_array(shown.c.seq)
    text = await conn.scalar(select(agg).select_from(shown))
    return array("q", orjson.loads(text or "[]"))


_COLUMNS = (
    Record.seq,
    Record.cells.cast(Text).label("cells"),  # decoded in the writer's thread, not the loop
    Record.created_at,
    Record.updated_at,
)


async def rows_after(conn: AsyncConnection, table_id: str, last: int, limit: int) -> list[Any]:
    """seq, cells (JSON text), created_at and updated_at of the next ``limit`` rows after
    ``seq`` ``last``, in insertion order."""
    return list(
        await conn.execute(
            select(*_COLUMNS)
            .where(Record.table_id == table_id, Record.seq > last)
            .order_by(Record.seq)
            .limit(limit)
        )
    )


async def rows_by_seq(conn: AsyncConnection, table_id: str, seqs: list[int]) -> dict[int, Any]:
    """The rows (as ``rows_after``) with these ``seq``s, by ``seq``."""
    return {
        r.seq: r
        for r in await conn.execute(
            select(*_COLUMNS).where(Record.table_id == table_id, Record.seq.in_(seqs))
        )
    }


# -- imports -----------------------------------------------------------------------------------


async def add_import(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(ImportJob).values(**values))


async def import_for_member(conn: AsyncConnection, import_id: str, user_id: int) -> Any:
    """The import if the user belongs to its workspace, else None."""
    return await _for_member(conn, ImportJob, import_id, user_id)


async def get_import(conn: AsyncConnection, import_id: str) -> Any:
    return (await conn.execute(select(ImportJob).where(ImportJob.id == import_id))).first()


async def get_user(conn: AsyncConnection, user_id: int) -> Any:
    return (await conn.execute(select(User).where(User.id == user_id))).first()


async def finish_import(
    conn: AsyncConnection, import_id: str, held: int, *, status: str, error: str | None, now: int
) -> None:
    """Ends the import if it is ACTIVE under the lease ``held``."""
    await conn.execute(
        update(ImportJob)
        .where(*_held(ImportJob, import_id, held))
        .values(status=status, error=error, updated_at=now, finished_at=now, lease_until=None)
    )


async def import_progress(
    conn: AsyncConnection,
    import_id: str,
    held: int,
    *,
    rows: int,
    skipped: int,
    now: int,
    renewed: int,
) -> Any:
    """Counts a batch of ``rows`` read and imported (``skipped`` more errors) and renews the
    lease, if the import is ACTIVE under the lease ``held``: its table_id and row_errors,
    else None."""
    return (
        await conn.execute(
            update(ImportJob)
            .where(*_held(ImportJob, import_id, held))
            .values(
                rows_read=ImportJob.rows_read + rows,
                rows_imported=ImportJob.rows_imported + rows,
                error_count=ImportJob.error_count + skipped,
                updated_at=now,
                lease_until=renewed,
            )
            .returning(ImportJob.table_id, ImportJob.row_errors)
        )
    ).first()


async def set_import_errors(conn: AsyncConnection, import_id: str, errors: list[Any]) -> None:
    await conn.execute(update(ImportJob).where(ImportJob.id == import_id).values(row_errors=errors))


async def export_states(conn: AsyncConnection, export_ids: list[str]) -> list[Any]:
    """id, status and finished_at of those exports that exist."""
    query = select(ExportJob.id, ExportJob.status, ExportJob.finished_at)
    return list(await conn.execute(query.where(ExportJob.id.in_(export_ids))))


# -- the job runner (server/jobs.py): claims, releases, failures, the poll -----------------

_MODELS: dict[str, Any] = {"export": ExportJob, "import": ImportJob}


async def claim(conn: AsyncConnection, kind: str, job_id: str, lease: int, now: int) -> bool:
    """Sets the lease of an ACTIVE ``kind`` job ("export" or "import") whose lease is free or
    lapsed at ``now``; whether this call won it."""
    model = _MODELS[kind]
    result = await conn.execute(
        update(model)
        .where(
            model.id == job_id,
            model.status == ACTIVE,
            or_(model.lease_until.is_(None), model.lease_until < now),
        )
        .values(lease_until=lease)
    )
    return bool(result.rowcount)


async def release(conn: AsyncConnection, kind: str, job_id: str, leases: tuple[int, ...]) -> None:
    """Frees the lease of a still ACTIVE job that holds one of ``leases`` (this process's)."""
    model = _MODELS[kind]
    await conn.execute(
        update(model)
        .where(model.id == job_id, model.status == ACTIVE, model.lease_until.in_(leases))
        .values(lease_until=None)
    )


async def fail(conn: AsyncConnection, kind: str, job_id: str, message: str, now: int) -> None:
    """Marks a still ACTIVE job FAILED with ``message``."""
    model = _MODELS[kind]
    await conn.execute(
        update(model)
        .where(model.id == job_id, model.status == ACTIVE)
        .values(status="FAILED", error=message, updated_at=now, finished_at=now)
    )


async def claimable(conn: AsyncConnection, now: int, limit: int = 100) -> list[tuple[str, str]]:
    """(kind, id) of ACTIVE jobs whose lease is free or lapsed at ``now``, up to ``limit``
    of each kind."""
    found: list[tuple[str, str]] = []
    for kind, model in _MODELS.items():
        ids = await conn.scalars(
            select(model.id)
            .where(
                model.status == ACTIVE,
                or_(model.lease_until.is_(None), model.lease_until < now),
            )
            .limit(limit)
        )
        found.extend((kind, job_id) for job_id in ids)
    return found
