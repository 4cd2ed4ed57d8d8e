"""Reads the web app needs that Clay's API has no single call for: a window of a view's rows
with the view's total, and a formula evaluated over a view's first rows without saving it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..enrichment import evaluation
from ..storage.models import Record
from . import records as records_svc
from . import tables as tables_svc
from . import views as views_svc
from .tables import TableRef

PREVIEW_ROWS = 10


async def view_total(conn: AsyncConnection, table: TableRef, config: dict[str, Any]) -> int:
    """How many rows the view shows: the table's kept count when the view is plain."""
    if views_svc.is_plain(config):
        return await tables_svc.row_count(conn, table.id)
    shown = views_svc.ids_select(table.id, config).subquery()
    return int(await conn.scalar(select(func.count()).select_from(shown)) or 0)


async def rows_window(
    conn: AsyncConnection, table: TableRef, view_id: str, *, offset: int, limit: int
) -> dict[str, Any]:
    view = await tables_svc.get_view(conn, table.id, view_id)
    total = await view_total(conn, table, view.config)
    rows = await records_svc.list_records(conn, table, view_id, limit=limit, offset=offset)
    return {"total": total, "offset": offset, "results": rows}


async def formula_preview(
    conn: AsyncConnection, table: TableRef, view_id: str, formula: str, limit: int
) -> dict[str, Any]:
    view = await tables_svc.get_view(conn, table.id, view_id)
    stmt = views_svc.apply_view(select(Record.id, Record.cells), table.id, view.config)
    rows = list(await conn.execute(stmt.limit(limit)))
    values = evaluation.evaluate_many(formula, [r.cells or {} for r in rows]) if formula else []
    out = []
    for row, value in zip(rows, values, strict=True):
        if isinstance(value, evaluation.FormulaError):
            message = evaluation.error_message(value)
            out.append({"recordId": row.id, "value": None, "error": message})
        else:
            out.append({"recordId": row.id, "value": value, "error": None})
    return {"results": out}
