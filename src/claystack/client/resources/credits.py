"""Credit reports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    CreditReport,
)
from ._util import (
    _q,
)


def _report(data: Any) -> CreditReport:
    return CreditReport.model_validate(data)


def _report_params(
    start: str | None,
    end: str | None,
    *,
    workspace_id: int | None = None,
    users: Iterable[int] = (),
    integrations: Iterable[str] = (),
    tables: Iterable[str] = (),
    fields: Iterable[str] = (),
    group_by: Iterable[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "workspaceId": workspace_id,
        "timeRange[startTime]": start,
        "timeRange[endTime]": end,
        "limit": limit,
        "offset": offset,
    }
    for name, values in (
        ("userIds", users),
        ("integrations", integrations),
        ("tableIds", tables),
        ("fieldIds", fields),
    ):
        for i, value in enumerate(values):
            params[f"{name}[{i}]"] = str(value)
    if group_by is not None:
        params["groupBy"] = ",".join(group_by)
    return params


class Credits(Namespace[M]):
    """Credit reports over the ledger: totals, rows grouped by day, user, integration,
    table and field, and one-dimension breakdowns. ``start`` and ``end`` are ISO dates or
    date-times (a bare ``end`` date includes that day) or epoch milliseconds; ``group_by``
    picks the dimensions of ``rows`` among date, user, integration, action, table, field;
    ``limit``/``offset`` page ``rows`` (the report's ``page`` says what is left)."""

    @api("GET /workspaces/{workspaceId}/credits")
    def workspace(
        self,
        workspace_id: int,
        *,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """A workspace's balance, grants and usage in a time range (all time by default)."""
        params = _report_params(start, end, group_by=group_by, limit=limit, offset=offset)
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/credits", params=params)
        return _report(data)

    @api("GET /users/{userId}/credits")
    def user(
        self,
        user_id: int,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """One user's usage (in ``workspace_id``, else your default workspace)."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        return _report((yield req("GET", f"/users/{_q(user_id)}/credits", params=params)))

    @api("GET /integrations/{type}/credits")
    def integration(
        self,
        integration: str,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """The usage of one integration (e.g. ``"http-api-v2"``)."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        data = yield req("GET", f"/integrations/{_q(integration)}/credits", params=params)
        return _report(data)

    @api("GET /integrations/{type}/credits/report")
    def report(
        self,
        integration: str,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """An integration's usage broken down by day, user, table and field."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        data = yield req("GET", f"/integrations/{_q(integration)}/credits/report", params=params)
        return _report(data)

    @api("GET /credit-reporting/{workspaceId}/creditReportType/{type}")
    def reporting(
        self,
        workspace_id: int,
        report_type: str = "workspace",
        *,
        start: str | None = None,
        end: str | None = None,
        users: Iterable[int] = (),
        integrations: Iterable[str] = (),
        tables: Iterable[str] = (),
        fields: Iterable[str] = (),
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """The hosted service's credit-reporting path. ``report_type`` is ``workspace``,
        ``integration`` or ``user`` (rows by day, user, integration, table and field),
        ``table`` (rows per table) or ``field`` (rows per column); filters narrow it."""
        params = _report_params(
            start,
            end,
            users=users,
            integrations=integrations,
            tables=tables,
            fields=fields,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        path = f"/credit-reporting/{_q(workspace_id)}/creditReportType/{_q(report_type)}"
        return _report((yield req("GET", path, params=params)))
