"""Reads the web app needs that Clay's API has no single call for: a window of a view's rows
with the view's total, and a formula evaluated over a view's first rows without saving it."""

from __future__ import annotations

from typing import Any

from ...wire import FormulaPreviewOut, RowIndexOut, RowsWindow
from ..enrichment import evaluation
from ..errors import NotFound
from ..storage.repositories import Connection, view_rows
from . import records as records_svc
from . import tables as tables_svc
from . import views as views_svc
from .tables import TableRef

PREVIEW_ROWS = 10


async def view_total(conn: Connection, table: TableRef, config: dict[str, Any]) -> int:
    """How many rows the view shows: the table's kept count when the view is plain."""
    if views_svc.is_plain(config):
        return await tables_svc.row_count(conn, table.id)
    return await view_rows.count_shown(conn, table.id, config)


async def rows_window(
    conn: Connection, table: TableRef, view_id: str, *, offset: int, limit: int
) -> RowsWindow:
    config = await tables_svc.view_config(conn, table.id, view_id)
    total = await view_total(conn, table, config)
    rows = await records_svc.list_records(conn, table, view_id, limit=limit, offset=offset)
    return RowsWindow.build(total=total, offset=offset, results=rows)


async def row_index(conn: Connection, table: TableRef, view_id: str, record_id: str) -> RowIndexOut:
    """Where a row stands in a view (0 is the first row it shows): what a grid needs to
    scroll to a search match, which the search route names by record id only."""
    config = await tables_svc.view_config(conn, table.id, view_id)
    if views_svc.is_plain(config):
        index = await view_rows.index_in_insertion_order(conn, table.id, record_id)
    else:
        index = await view_rows.index_in_view_order(conn, table.id, config, record_id)
        if index is not None:
            index -= config.get("offset") or 0
            limit = config.get("limit")
            if index < 0 or (limit is not None and index >= limit):
                index = None
    if index is None:
        raise NotFound("Record not found in this view")
    return RowIndexOut.build(recordId=record_id, index=int(index))


async def formula_preview(
    conn: Connection, table: TableRef, view_id: str, formula: str, limit: int
) -> FormulaPreviewOut:
    view = await tables_svc.get_view(conn, table.id, view_id)
    rows = await view_rows.shown_rows(conn, table.id, view.config, ("id", "cells"), limit)
    values = evaluation.evaluate_many(formula, [r.cells or {} for r in rows]) if formula else []
    out = []
    for row, value in zip(rows, values, strict=True):
        if isinstance(value, evaluation.FormulaError):
            message = evaluation.error_message(value)
            out.append({"recordId": row.id, "value": None, "error": message})
        else:
            out.append({"recordId": row.id, "value": value, "error": None})
    return FormulaPreviewOut.build(results=out)
