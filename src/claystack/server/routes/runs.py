from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Request

from ...wire import (
    RunEstimate,
    RunIn,
    RunStarted,
    RunStatus,
)
from ..deps import Conn, TableDep, Work, WorkspaceTableDep, get_settings
from ..services import estimate, runs
from . import JSONOut, ok, router

api = router("runs")


def _run(body: RunIn) -> dict[str, Any]:
    return {"field_ids": body.fieldIds, "run_records": body.runRecords, "force": body.forceRun}


@api.patch("/v3/tables/{tableId}/run/estimate", responses=ok(RunEstimate))
async def estimate_run(
    request: Request, conn: Conn, table: TableDep, body: Annotated[RunIn | None, Body()] = None
) -> JSONOut:
    """What ``PATCH …/run`` with this body would spend, without running: rows, actions
    (executions) and credits, per column. Same as ``PATCH …/run`` with ``preview: true``."""
    return JSONOut(
        await estimate.estimate_run(conn, table, get_settings(request), **_run(body or RunIn()))
    )


@api.patch(
    "/v3/tables/{tableId}/run",
    responses=ok(RunStarted),
)
async def start_run(
    request: Request,
    uow: Work,
    table: TableDep,
    body: Annotated[RunIn | None, Body()] = None,
) -> JSONOut:
    """Queues enrichment columns for some rows; runs are asynchronous (watch ``runstatus``)."""
    body = body or RunIn()
    if body.preview:
        return JSONOut(
            await estimate.estimate_run(uow.conn, table, get_settings(request), **_run(body))
        )
    out = await runs.start_run(
        uow, table, field_ids=body.fieldIds, run_records=body.runRecords, force=body.forceRun
    )
    return JSONOut(out)


@api.get(
    "/v3/workspaces/{workspaceId}/tables/{tableId}/fields/runstatus",
    responses=ok(RunStatus),
)
async def run_status(conn: Conn, table: WorkspaceTableDep) -> JSONOut:
    """How many cells of each column are in each status."""
    return JSONOut(await runs.run_status(conn, table))
