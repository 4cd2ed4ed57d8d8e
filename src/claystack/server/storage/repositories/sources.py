"""Sources (webhooks and the sources of ``POST /v3/sources``) and their buffered payloads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Field, Membership, Source, SourceBuffer

# Built once: this runs on every source request.
_FOR_MEMBER = (
    select(Source, Membership.role)
    .join(
        Membership,
        (Membership.workspace_id == Source.workspace_id)
        & (Membership.user_id == bindparam("user_id")),
    )
    .where(Source.id == bindparam("source_id"), Source.deleted_at.is_(None))
)


async def get_for_member(conn: AsyncConnection, source_id: str, user_id: int) -> Any:
    """The live source (every column) with the user's ``role`` in its workspace, or None
    when it is deleted or the user is no member there."""
    return (await conn.execute(_FOR_MEMBER, {"user_id": user_id, "source_id": source_id})).first()


async def get_by_id(conn: AsyncConnection, source_id: str) -> Any:
    return (await conn.execute(select(Source).where(Source.id == source_id))).one()


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(Source).values(**values))


async def update_source(conn: AsyncConnection, source_id: str, **values: Any) -> None:
    await conn.execute(update(Source).where(Source.id == source_id).values(**values))


async def list_for_table(conn: AsyncConnection, table_id: str) -> list[Any]:
    """The table's live sources, oldest first."""
    rows = await conn.execute(
        select(Source)
        .where(Source.table_id == table_id, Source.deleted_at.is_(None))
        .order_by(Source.created_at, Source.id)
    )
    return list(rows)


async def list_for_workspace(conn: AsyncConnection, workspace_id: int) -> list[Any]:
    """The workspace's live sources, subscribed or buffering, oldest first."""
    rows = await conn.execute(
        select(Source)
        .where(Source.workspace_id == workspace_id, Source.deleted_at.is_(None))
        .order_by(Source.created_at, Source.id)
    )
    return list(rows)


async def lock_live(conn: AsyncConnection, source_id: str) -> str | None:
    """Locks the source's row (PostgreSQL) if it is not deleted; its id, else None."""
    return await conn.scalar(
        select(Source.id)
        .where(Source.id == source_id, Source.deleted_at.is_(None))
        .with_for_update()
    )


async def lock_unsubscribed(conn: AsyncConnection, source_id: str, workspace_id: int) -> Any:
    """Locks the workspace's live source if no field subscribes it yet; its id, else None."""
    return await conn.scalar(
        select(Source.id)
        .where(
            Source.id == source_id,
            Source.workspace_id == workspace_id,
            Source.table_id.is_(None),
            Source.deleted_at.is_(None),
        )
        .with_for_update()
    )


async def lock_table_of(conn: AsyncConnection, source_id: str) -> Any:
    """Locks the live source; a row with its ``table_id`` (None: buffering), or None."""
    return (
        await conn.execute(
            select(Source.table_id)
            .where(Source.id == source_id, Source.deleted_at.is_(None))
            .with_for_update()
        )
    ).first()


async def soft_delete(
    conn: AsyncConnection, source_id: str, now: int, *, records_deleted: int | None
) -> None:
    """Marks the source deleted; ``records_deleted`` rows it made went with it."""
    values: dict[str, Any] = {"deleted_at": now, "updated_at": now}
    if records_deleted is not None:
        values["num_records"] = Source.num_records - records_deleted
    await conn.execute(update(Source).where(Source.id == source_id).values(**values))


async def field_names(conn: AsyncConnection, table_id: str) -> set[str]:
    return set((await conn.scalars(select(Field.name).where(Field.table_id == table_id))).all())


async def record_ids_with_cell(conn: AsyncConnection, table_id: str, field_id: str) -> list[str]:
    """Ids of the table's rows whose cell of ``field_id`` is set."""
    if conn.dialect.name == "postgresql":
        result = await conn.exec_driver_sql(
            "SELECT id FROM records WHERE table_id = $1 AND cells ? $2::text",
            (table_id, field_id),
        )
    else:
        result = await conn.exec_driver_sql(
            "SELECT id FROM records WHERE table_id = ? AND json_type(cells, ?) IS NOT NULL",
            (table_id, f'$."{field_id}"'),
        )
    return [r[0] for r in result]


# -- the buffer of a source no field subscribes yet ---------------------------------------------


async def buffer(
    conn: AsyncConnection, source_id: str, record_id: str, payload: Any, now: int
) -> None:
    """Keeps a payload, and counts it as a record and a submission of the source."""
    await conn.execute(
        insert(SourceBuffer).values(
            source_id=source_id, record_id=record_id, payload=payload, created_at=now
        )
    )
    await conn.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(num_records=Source.num_records + 1, num_submissions=Source.num_submissions + 1)
    )


async def buffered(conn: AsyncConnection, source_id: str) -> list[Any]:
    """(record_id, payload) of each buffered payload, in the order they came."""
    return list(
        (
            await conn.execute(
                select(SourceBuffer.record_id, SourceBuffer.payload)
                .where(SourceBuffer.source_id == source_id)
                .order_by(SourceBuffer.seq)
            )
        ).all()
    )


async def count_buffered(conn: AsyncConnection, source_id: str) -> int:
    count = await conn.scalar(
        select(func.count()).select_from(SourceBuffer).where(SourceBuffer.source_id == source_id)
    )
    return int(count or 0)


async def clear_buffer(conn: AsyncConnection, source_id: str) -> None:
    await conn.execute(delete(SourceBuffer).where(SourceBuffer.source_id == source_id))


async def name_feeding(conn: AsyncConnection, table_id: str, field_id: str) -> str | None:
    """The name of the live source that feeds the field, if one does."""
    return await conn.scalar(
        select(Source.name).where(
            Source.table_id == table_id, Source.field_id == field_id, Source.deleted_at.is_(None)
        )
    )


async def name_feeding_any(conn: AsyncConnection, table_id: str, field_ids: list[str]) -> Any:
    """The name of a live source that feeds one of the fields, if one does."""
    return await conn.scalar(
        select(Source.name).where(
            Source.table_id == table_id, Source.field_id.in_(field_ids), Source.deleted_at.is_(None)
        )
    )


async def list_for_tables(conn: AsyncConnection, table_ids: list[str]) -> list[Any]:
    """id, table_id, type and type_settings of the tables' live sources, oldest first."""
    return list(
        await conn.execute(
            select(Source.id, Source.table_id, Source.type, Source.type_settings)
            .where(Source.table_id.in_(table_ids), Source.deleted_at.is_(None))
            .order_by(Source.created_at, Source.id)
        )
    )


async def names_and_types(conn: AsyncConnection, table_id: str) -> list[Any]:
    """(name, type) of the table's live sources."""
    return list(
        (
            await conn.execute(
                select(Source.name, Source.type).where(
                    Source.table_id == table_id, Source.deleted_at.is_(None)
                )
            )
        ).all()
    )
