"""Rows of a table (``records``): the statements of the records service and of the services
that reach rows (fields dropping cells, run estimates). The engine keeps its own for now.

Reads return SQLAlchemy rows with the columns of ``READ_COLUMNS`` (``seq``, ``id``,
``cells``, ``meta``, ``created_at``, ``updated_at``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Record
from .view_rows import apply_view, ids_select, is_plain

READ_COLUMNS = (
    Record.seq,
    Record.id,
    Record.cells,
    Record.meta,
    Record.created_at,
    Record.updated_at,
)
# Ids per IN (…) list: SQLite's limit on bound parameters, with room to spare.
_CHUNK = 1000

# Single-row statements: microseconds in SQLite, so they skip the driver's worker thread.
_GET_ONE = (
    select(*READ_COLUMNS)
    .where(Record.table_id == bindparam("t"), Record.id == bindparam("r"))
    .execution_options(sqlite_inline=True)
)
_DELETE_ONE = (
    delete(Record)
    .where(Record.table_id == bindparam("t"), Record.id == bindparam("r"))
    .execution_options(sqlite_inline=True)
)


_FIRST_EXISTING = (
    select(Record.id)
    .where(Record.table_id == bindparam("t"), Record.id.in_(bindparam("ids", expanding=True)))
    .limit(1)
)
# A few ids (a row or a test's batch) are a few index probes: on the loop's thread on SQLite.
_FIRST_EXISTING_FEW = _FIRST_EXISTING.execution_options(sqlite_inline=True)


async def first_existing(conn: AsyncConnection, table_id: str, ids: Sequence[str]) -> str | None:
    """One of ``ids`` that the table already has, if any."""
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        stmt = _FIRST_EXISTING_FEW if len(chunk) <= 20 else _FIRST_EXISTING
        found = await conn.scalar(stmt, {"t": table_id, "ids": chunk})
        if found is not None:
            return str(found)
    return None


async def by_ids(conn: AsyncConnection, table_id: str, ids: Sequence[str]) -> dict[str, Any]:
    """The table's rows with these ids, by id (ids it lacks are left out)."""
    found: dict[str, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in await conn.execute(
            select(*READ_COLUMNS).where(Record.table_id == table_id, Record.id.in_(chunk))
        ):
            found[row.id] = row
    return found


async def one(conn: AsyncConnection, table_id: str, record_id: str) -> Any | None:
    return (await conn.execute(_GET_ONE, {"t": table_id, "r": record_id})).first()


async def delete_one(conn: AsyncConnection, table_id: str, record_id: str) -> bool:
    """Whether the row was there (and is gone)."""
    return bool((await conn.execute(_DELETE_ONE, {"t": table_id, "r": record_id})).rowcount)


async def set_cells(
    conn: AsyncConnection, cells_by_seq: dict[int, dict[str, Any]], now: int
) -> None:
    """Replaces the cells of the rows with these ``seq``s, stamping them ``now``."""
    await conn.execute(
        update(Record)
        .where(Record.seq == bindparam("b_seq"))
        .values(cells=bindparam("b_cells"), updated_at=now),
        [{"b_seq": seq, "b_cells": cells} for seq, cells in cells_by_seq.items()],
    )


async def delete_by_ids(conn: AsyncConnection, table_id: str, ids: Sequence[str]) -> int:
    """Deletes the table's rows with these ids; how many went."""
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        result = await conn.execute(
            delete(Record).where(Record.table_id == table_id, Record.id.in_(chunk))
        )
        deleted += result.rowcount or 0
    return deleted


async def delete_shown(
    conn: AsyncConnection,
    table_id: str,
    view_config: dict[str, Any] | None,
    omit_ids: Sequence[str],
) -> int:
    """Deletes the rows a view shows (every row without ``view_config``), bar ``omit_ids``;
    how many went."""
    stmt = delete(Record).where(Record.table_id == table_id)
    if view_config is not None:
        shown = apply_view(select(Record.seq), table_id, view_config)
        stmt = stmt.where(Record.seq.in_(shown.scalar_subquery()))
    if omit_ids:
        stmt = stmt.where(Record.id.not_in(list(omit_ids)))
    return (await conn.execute(stmt)).rowcount or 0


async def shown_ids(conn: AsyncConnection, table_id: str, view_config: dict[str, Any]) -> list[str]:
    """Every id the view shows, in its order."""
    return list((await conn.execute(ids_select(table_id, view_config))).scalars())


async def shown_ids_json(
    conn: AsyncConnection, table_id: str, view_config: dict[str, Any]
) -> bytes:
    """The same ids as a JSON array, built by the database: a million ids never become a
    million Python objects."""
    shown = ids_select(table_id, view_config).subquery()
    agg: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        agg = func.coalesce(func.json_agg(shown.c.id).cast(Text), "[]")
    else:
        agg = func.json_group_array(shown.c.id)
    text = await conn.scalar(select(agg).select_from(shown))
    return (text or "[]").encode()


async def page_from_seq(conn: AsyncConnection, table_id: str, start: int, limit: int) -> list[Any]:
    """Up to ``limit`` rows in insertion order, from the row with ``seq`` ``start`` on."""
    stmt = (
        select(*READ_COLUMNS)
        .where(Record.table_id == table_id, Record.seq >= start)
        .order_by(Record.seq)
        .limit(limit)
    )
    return list(await conn.execute(stmt))


# A plain view's page (every row, insertion order: ``apply_view`` of such a view), built once.
_PLAIN_PAGE = (
    select(*READ_COLUMNS)
    .where(Record.table_id == bindparam("table_id"))
    .order_by(Record.seq)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


async def view_page(
    conn: AsyncConnection, table_id: str, view_config: dict[str, Any], limit: int, offset: int
) -> list[Any]:
    """A page of the rows a view shows, in its order (its own window not applied)."""
    if is_plain(view_config):
        params = {"table_id": table_id, "limit": limit, "offset": offset}
        return list(await conn.execute(_PLAIN_PAGE, params))
    stmt = apply_view(select(*READ_COLUMNS), table_id, view_config, window=False)
    return list(await conn.execute(stmt.limit(limit).offset(offset)))


async def seq_at(conn: AsyncConnection, table_id: str, offset: int, total: int) -> int | None:
    """The ``seq`` of the row at ``offset`` in insertion order, counted over the covering
    index ``(table_id, seq, id)`` from whichever end is nearer (``total`` is the table's kept
    row count): a grid jumping to row 999,900 of 1,000,000 skips 99 index entries, not
    999,900 rows."""
    stmt = select(Record.seq).where(Record.table_id == table_id).limit(1)
    if total > offset > total // 2:
        stmt = stmt.order_by(Record.seq.desc()).offset(total - 1 - offset)
    else:
        stmt = stmt.order_by(Record.seq).offset(offset)
    seq = await conn.scalar(stmt)
    return None if seq is None else int(seq)


async def drop_field_cells(conn: AsyncConnection, table_id: str, field_id: str) -> None:
    """Removes a field's cells (and their run metadata) from every row of the table, inside
    the database."""
    if conn.dialect.name == "postgresql":
        for col in ("cells", "meta"):
            await conn.exec_driver_sql(
                f"UPDATE records SET {col} = {col} - $1::text "
                f"WHERE table_id = $2 AND {col} ? $1::text",
                (field_id, table_id),
            )
    else:
        path = f'$."{field_id}"'
        for col in ("cells", "meta"):
            await conn.exec_driver_sql(
                f"UPDATE records SET {col} = json_remove({col}, ?) "
                f"WHERE table_id = ? AND json_type({col}, ?) IS NOT NULL",
                (path, table_id, path),
            )


async def seqs(conn: AsyncConnection, selection: Select[Any]) -> list[int]:
    """The ``seq``s a selection of rows (``select(Record.seq)…``, as the runs service makes
    them) names, in its order."""
    return [s for (s,) in await conn.execute(selection)]


async def cells_and_meta(conn: AsyncConnection, seqs: list[int]) -> list[Any]:
    """cells and meta of the rows with these ``seq``s."""
    return list(await conn.execute(select(Record.cells, Record.meta).where(Record.seq.in_(seqs))))
