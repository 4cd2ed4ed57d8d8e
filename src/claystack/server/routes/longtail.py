"""The long tail of spec part 2 §9, §11 and §13: small real routes, empty reads of hosted-only
features, and clear 400s where Clay's own data would be needed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request

from ...wire import (
    AudienceOut,
    ColumnUsage,
    CreditLimit,
    DayUsage,
    EnrichmentRunIn,
    EnrichmentRunOut,
    IsStarred,
    ModelCost,
    RunUsage,
    StarredOut,
    WorkbookBalance,
    WorkspaceUser,
)
from ..deps import (
    Conn,
    CurrentActor,
    DefaultReadScope,
    TableReadDep,
    WorkbookDep,
    WorkspaceReadScope,
    WorkspaceScope,
    get_database,
    get_settings,
    read_only,
)
from ..errors import NotFound
from ..services import credit_reports, longtail
from . import JSONOut, ok, router
from .credits import Report

api = router("long tail")
AnyBody = Annotated[dict[str, Any] | None, Body()]


@api.get("/v3/workspaces/{workspaceId}/users", responses=ok(list[WorkspaceUser]))
async def workspace_users(conn: Conn, scope: WorkspaceReadScope) -> JSONOut:
    """The workspace's members: ``[{id, email, name, role}]``."""
    return JSONOut(await longtail.users(conn, scope))


@api.get("/v3/model-pricing/{workspaceId}/base-costs", responses=ok(list[ModelCost]))
async def model_base_costs(request: Request, scope: WorkspaceReadScope) -> JSONOut:
    """Credits per ``use-ai`` execution by model (``CLAYSTACK_AI_PRICES`` included)."""
    return JSONOut(longtail.base_costs(get_settings(request)))


@api.get("/v3/workspaces/{workspaceId}/claygents", responses=ok(list[dict[str, Any]]))
async def claygents(scope: WorkspaceReadScope) -> JSONOut:
    """Saved agents: none on claystack."""
    return JSONOut([])


@api.get("/v3/workspaces/{workspaceId}/signals", responses=ok(list[dict[str, Any]]))
async def signals(scope: WorkspaceReadScope) -> JSONOut:
    """Signals (hosted monitoring): none on claystack."""
    return JSONOut([])


@api.get("/v3/workspaces/{workspaceId}/signals/{signalId}", responses=ok(dict[str, Any]))
async def get_signal(
    scope: WorkspaceReadScope, signal_id: Annotated[str, Path(alias="signalId")]
) -> JSONOut:
    """No signal exists on claystack: 404."""
    longtail.signal(signal_id)


@api.get(
    "/v3/workspaces/{workspaceId}/trigger-definitions-with-schedule",
    responses=ok(list[dict[str, Any]]),
)
async def trigger_definitions(scope: WorkspaceReadScope) -> JSONOut:
    """Scheduled triggers: none on claystack."""
    return JSONOut([])


@api.get("/v3/{workspaceId}/agent-configs", responses=ok(list[dict[str, Any]]))
async def agent_configs(scope: WorkspaceReadScope) -> JSONOut:
    """Agent configurations: none on claystack."""
    return JSONOut([])


@api.get("/v3/workspaces/{workspaceId}/audiences/{part}", responses=ok(AudienceOut))
async def audiences(scope: WorkspaceReadScope, part: Annotated[str, Path()]) -> JSONOut:
    """Audiences are Clay's hosted data: ``segments``, ``count``, ``contacts`` and ``imports``
    read empty."""
    return JSONOut(longtail.empty_audience(part))


@api.post("/v3/workspaces/{workspaceId}/audiences/{part}", responses=ok(dict[str, Any]))
async def audiences_write(scope: WorkspaceScope, part: str, body: AnyBody = None) -> JSONOut:
    """Writing audiences needs Clay's hosted data: 400."""
    raise longtail.hosted_only("Audiences")


@api.post("/v3/workspaces/{workspaceId}/wizard/evaluate-step", responses=ok(dict[str, Any]))
@read_only
async def wizard_step(scope: WorkspaceReadScope, body: AnyBody = None) -> JSONOut:
    """The people/company wizard searches Clay's hosted data: 400."""
    raise longtail.hosted_only("The people and company wizard")


@api.post("/v3/actions/run-cpj-preview-enrichment", responses=ok(dict[str, Any]))
@read_only
async def cpj_preview(actor: CurrentActor, body: AnyBody = None) -> JSONOut:
    """A preview of a people/company source's first rows needs Clay's data: 400."""
    raise longtail.hosted_only("Previewing a people or company source")


@api.post("/v3/actions/run-enrichment", responses=ok(EnrichmentRunOut))
@read_only
async def run_enrichment(
    request: Request, conn: Conn, actor: CurrentActor, body: EnrichmentRunIn
) -> JSONOut:
    """Runs one local action (a normalizer, a lookup, a function) on ``inputs`` once,
    outside any table; free. Actions that need a provider answer 400."""
    out = await longtail.run_enrichment(
        conn, actor, body.model_dump(), get_settings(request), get_database(request)
    )
    return JSONOut(out)


@api.get("/v3/resources/starred", responses=ok(StarredOut))
async def starred(scope: DefaultReadScope) -> JSONOut:
    """Starred resources: none."""
    return JSONOut(StarredOut.build(starredResources=[]))


@api.get("/v3/resources/{resourceId:path}/star", responses=ok(IsStarred))
async def is_starred(
    scope: DefaultReadScope, resource_id: Annotated[str, Path(alias="resourceId")]
) -> JSONOut:
    """Whether a resource (``{package}%2F{key}``) is starred: never on claystack."""
    return JSONOut(IsStarred.build(isStarred=False))


@api.get("/v3/workspaces/{workspaceId}/default-credit-limits", responses=ok(CreditLimit))
async def default_credit_limits(scope: WorkspaceReadScope) -> JSONOut:
    """No default credit limit is set on claystack."""
    return JSONOut(CreditLimit.build(creditLimit=None))


@api.get(
    "/v3/workspaces/{workspaceId}/credit-limits/workbook/{workbookId}/balance",
    responses=ok(WorkbookBalance),
)
async def workbook_balance(conn: Conn, scope: WorkspaceReadScope, workbook: WorkbookDep) -> JSONOut:
    """A workbook's credit limit (none), what its tables spent, and the workspace balance."""
    wb_scope, wb = workbook
    if wb_scope.workspace_id != scope.workspace_id:
        raise NotFound("Workbook not found")
    return JSONOut(await longtail.workbook_balance(conn, scope, wb))


@api.get(
    "/v3/realtime-credit-usage/{workspaceId}/table/{tableId}/run", responses=ok(list[RunUsage])
)
async def table_usage_by_run(
    conn: Conn, scope: WorkspaceReadScope, table: TableReadDep, q: Report
) -> JSONOut:
    """A table's credits and actions by run, newest first (a run: what the table was charged
    within one UTC minute), with each column's share."""
    if table.scope.workspace_id != scope.workspace_id:
        raise NotFound("Table not found")
    return JSONOut(await credit_reports.table_runs(conn, scope, table.id, q))


@api.get(
    "/v3/realtime-credit-usage/{workspaceId}/table/{tableId}/time", responses=ok(list[DayUsage])
)
async def table_usage_by_day(
    conn: Conn, scope: WorkspaceReadScope, table: TableReadDep, q: Report
) -> JSONOut:
    """A table's credits and actions by UTC day."""
    if table.scope.workspace_id != scope.workspace_id:
        raise NotFound("Table not found")
    return JSONOut(await credit_reports.table_usage(conn, scope, table.id, "time", q))


@api.get(
    "/v3/realtime-credit-usage/{workspaceId}/table/{tableId}/column",
    responses=ok(list[ColumnUsage]),
)
async def table_usage_by_column(
    conn: Conn, scope: WorkspaceReadScope, table: TableReadDep, q: Report
) -> JSONOut:
    """A table's credits, runs and actions by column."""
    if table.scope.workspace_id != scope.workspace_id:
        raise NotFound("Table not found")
    return JSONOut(await credit_reports.table_usage(conn, scope, table.id, "column", q))
