"""Creating a table from ``POST /v3/tables``: defaults, templates and the first rows."""

from __future__ import annotations

from typing import Any

from ...wire import TableCreated
from ..errors import BadRequest
from ..storage.uow import UnitOfWork
from . import sources, tables
from .common import Scope
from .tables import TableRef


async def create(
    uow: UnitOfWork,
    scope: Scope,
    body: Any,
    *,
    secret: str,
    base_url: str,
    blank_row: bool = False,
) -> TableCreated:
    """``{table, extraData}``; ``basic_source`` adds the ``sourceSettings.addSource`` source
    and its source field; ``blank_row`` adds one empty row (``CLAYSTACK_INITIAL_BLANK_ROW``)."""
    conn = uow.conn
    add = (body.sourceSettings or {}).get("addSource")
    if body.template == "basic_source" and not add:
        add = {"source": {"type": "webhook", "name": "Webhook"}}
    if add and body.template not in (None, "basic_source"):
        raise BadRequest('sourceSettings.addSource needs the template "basic_source"')
    table, extra = await tables.create_table(
        conn,
        scope,
        name=body.name,
        workbook_id=body.workbookId,
        table_type=body.type,
        description=body.description,
        table_settings=body.tableSettings,
        template=body.template,
        icon=body.icon,
    )
    extra.update(initialRecordIds=[], initialRecords=[])
    out: dict[str, Any] = {"table": table, "extraData": extra}
    if not (add or blank_row):
        return TableCreated.build(**out)
    ref = TableRef(table["id"], scope, await tables.reload(conn, table["id"]))
    if add:
        out["source"] = await sources.add_source(uow, ref, add, secret=secret, base_url=base_url)
    if blank_row:
        from . import records

        rows = await records.add_records(uow, ref, [{}], max_cell_bytes=1)  # no cells
        extra.update(initialRecordIds=[r["id"] for r in rows], initialRecords=rows)
    out["table"] = await tables.table_out(conn, await tables.reload(conn, table["id"]))
    return TableCreated.build(**out)
