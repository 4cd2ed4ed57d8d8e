"""Credit reports, by the seed paths and the hosted service's credit-reporting paths."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from ...wire import (
    CreditReport,
)
from ..deps import Conn, DefaultScope, WorkspaceScope
from ..services import credit_reports
from ..services import report_query as queries
from ..services.report_query import ReportQuery
from . import JSONOut, ok, router

api = router("credits")
_ARRAY = " Repeat with [1], [2]… or separate values with commas."


def report_query(
    request: Request,
    start: Annotated[
        str | None,
        Query(
            alias="timeRange[startTime]",
            description="Inclusive start: ISO 8601 date or date-time (UTC unless an offset "
            "is given) or epoch milliseconds. `startTime` is accepted too.",
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="timeRange[endTime]",
            description="Exclusive end, same forms; a bare date means the end of that day. "
            "`endTime` is accepted too.",
        ),
    ] = None,
    user: Annotated[
        str | None, Query(alias="userIds[0]", description="Only this user." + _ARRAY)
    ] = None,
    integration: Annotated[
        str | None,
        Query(alias="integrations[0]", description="Only this integration key." + _ARRAY),
    ] = None,
    table: Annotated[
        str | None, Query(alias="tableIds[0]", description="Only this table." + _ARRAY)
    ] = None,
    field: Annotated[
        str | None, Query(alias="fieldIds[0]", description="Only this field." + _ARRAY)
    ] = None,
    group_by: Annotated[
        str | None,
        Query(
            alias="groupBy",
            description="Dimensions of `rows`: some of date, user, integration, action, "
            "table, field (comma-separated). The default depends on the report type.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=queries.MAX_PAGE,
            description="Page `rows` (and the per-table arrays): at most this many; the "
            "answer then carries `page` with `total` and `nextOffset`.",
        ),
    ] = None,
    offset: Annotated[
        int | None, Query(ge=0, description="Rows to skip before the page (default 0).")
    ] = None,
) -> ReportQuery:
    # The declared parameters document the query; the parser reads every form of them.
    return queries.parse_query(request.query_params.multi_items())


Report = Annotated[ReportQuery, Depends(report_query)]


def _answer(report: dict[str, Any]) -> JSONOut:
    # The report's rows stay dicts in the model (storage/repositories/credit_usage.py).
    return JSONOut(CreditReport.build(**report))


TypeKey = Annotated[str, Path(alias="type", description="The integration key")]


@api.get("/v3/workspaces/{workspaceId}/credits", responses=ok(CreditReport))
async def workspace_credits(conn: Conn, scope: WorkspaceScope, q: Report) -> JSONOut:
    """A workspace's balance, grants and usage in a time range, by day, user, integration,
    table and field."""
    return _answer(await credit_reports.report(conn, scope, "workspace", q))


@api.get(
    "/v3/credit-reporting/{workspaceId}/creditReportType/{reportType}",
    responses=ok(CreditReport),
)
async def credit_reporting(
    conn: Conn,
    scope: WorkspaceScope,
    q: Report,
    report_type: Annotated[
        str,
        Path(
            alias="reportType",
            description="workspace, integration or user (rows by date, user, integration, "
            "table and field), table (rows per table) or field (rows per column)",
        ),
    ],
) -> JSONOut:
    """The hosted service's credit-reporting path; filters as query parameters."""
    kind = queries.check_report_type(report_type)
    return _answer(await credit_reports.report(conn, scope, kind, q))


@api.get("/v3/users/{userId}/credits", responses=ok(CreditReport))
async def user_credits(
    conn: Conn, scope: DefaultScope, q: Report, user_id: Annotated[int, Path(alias="userId")]
) -> JSONOut:
    """One user's usage in the workspace (``?workspaceId=``, else the caller's default)."""
    return _answer(await credit_reports.user_report(conn, scope, user_id, q))


@api.get("/v3/integrations/{type}/credits", responses=ok(CreditReport))
async def integration_credits(conn: Conn, scope: DefaultScope, q: Report, key: TypeKey) -> JSONOut:
    """One integration's usage (``?workspaceId=``, else the caller's default workspace)."""
    return _answer(await credit_reports.integration_report(conn, scope, key, "workspace", q))


@api.get("/v3/integrations/{type}/credits/report", responses=ok(CreditReport))
async def integration_credit_report(
    conn: Conn, scope: DefaultScope, q: Report, key: TypeKey
) -> JSONOut:
    """One integration's usage broken down by day, user, table and field."""
    return _answer(await credit_reports.integration_report(conn, scope, key, "integration", q))
