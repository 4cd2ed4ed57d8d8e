"""Credit reports: sums over the workspace's append-only ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import Field as _Field

from ._base import WireModel


class TimeRange(WireModel):
    startTime: str | None = _Field(
        default=None, description="Inclusive (ISO 8601 UTC); null = no lower bound"
    )
    endTime: str | None = _Field(
        default=None, description="Exclusive (ISO 8601 UTC); null = no upper bound"
    )


class ReportFilters(WireModel):
    userIds: list[int] = []
    integrations: list[str] = []
    tableIds: list[str] = []
    fieldIds: list[str] = []


class CreditTotals(WireModel):
    used: int = _Field(default=0, description="Credits charged (a positive number)")
    runs: int = _Field(default=0, description="Charged executions, including free ones")
    actions: int = _Field(default=0, description="Actions (executions) counted, free ones included")
    granted: int = _Field(default=0, description="Credits granted")
    net: int = _Field(
        default=0, description="Sum of every matching ledger entry (granted − used ± other)"
    )


class UsageRow(WireModel):
    """One group of charges. Only the dimensions of ``groupBy`` are present; names are
    added next to the ids they describe."""

    wire_omittable = (
        "date",
        "userId",
        "userName",
        "userEmail",
        "integration",
        "actionKey",
        "tableId",
        "tableName",
        "fieldId",
        "fieldName",
    )

    date: str | None = _Field(default=None, description="UTC day, YYYY-MM-DD")
    userId: int | None = None
    userName: str | None = None
    userEmail: str | None = None
    integration: str | None = None
    actionKey: str | None = None
    tableId: str | None = None
    tableName: str | None = None
    fieldId: str | None = None
    fieldName: str | None = None
    credits: int = 0
    runs: int = 0
    actions: int = _Field(default=0, description="Actions (executions), free ones included")


class CreditBreakdowns(WireModel):
    date: list[UsageRow] = []
    user: list[UsageRow] = []
    integration: list[UsageRow] = []
    table: list[UsageRow] = []
    field: list[UsageRow] = []


class ReportPage(WireModel):
    offset: int
    limit: int | None
    total: int = _Field(description="Rows in the whole report")
    nextOffset: int | None = _Field(description="The next page's `offset`; null on the last")


class CreditReport(WireModel):
    """Every figure is a sum over the append-only ledger entries of the workspace that fall
    in ``timeRange`` and match ``filters`` (``balance`` excepted)."""

    wire_omittable = ("page",)
    workspaceId: int | None = None
    reportType: Literal[
        "workspace",
        "integration",
        "user",
        "table",
        "field",
        "api",
        "signal",
        "triggerDefinition",
        "mcp",
    ] = "workspace"
    timeRange: TimeRange = _Field(default_factory=lambda: TimeRange())
    filters: ReportFilters = _Field(default_factory=lambda: ReportFilters())
    groupBy: list[Literal["date", "user", "integration", "action", "table", "field"]] = []
    balance: int | None = _Field(
        default=None, description="The workspace's balance now (all time, no filters)"
    )
    totals: CreditTotals = _Field(default_factory=lambda: CreditTotals())
    rows: list[UsageRow] = []
    breakdowns: CreditBreakdowns = _Field(default_factory=lambda: CreditBreakdowns())
    page: ReportPage | None = _Field(
        default=None, description="Present when `limit` or `offset` was given"
    )


class RunColumnUsage(WireModel):
    fieldId: str | None
    creditsSpent: int
    cells: int


class RunUsage(WireModel):
    runId: str = _Field(description="run_<table>_<minute>: what the table spent in one minute")
    timestamp: str | None
    creditsSpent: int
    actions: int
    columns: list[RunColumnUsage]
