"""Record statements the services outside the records service make (the records service
and the engine keep theirs for now)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Record


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
