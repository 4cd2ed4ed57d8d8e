"""The long tail (spec part 2 §9, §11, §13): real, empty, 400 and still-404 routes."""

from __future__ import annotations

import httpx

from claystack.wire import (
    ColumnUsage,
    CreditReport,
    DayUsage,
    WorkbookBalance,
)

from .conftest import UserFactory, new_table


async def test_real_and_empty_reads(client: httpx.AsyncClient) -> None:
    users = (await client.get("/v3/workspaces/1/users")).json()
    assert [(u["email"], u["role"]) for u in users] == [("demo@claystack.dev", "owner")]
    costs = (await client.get("/v3/model-pricing/1/base-costs")).json()
    assert any(c["model"] == "default" for c in costs)
    assert all(isinstance(c["credits"], int) for c in costs)
    empty = {
        "/v3/workspaces/1/claygents": [],
        "/v3/workspaces/1/signals": [],
        "/v3/workspaces/1/trigger-definitions-with-schedule": [],
        "/v3/1/agent-configs": [],
        "/v3/workspaces/1/audiences/segments": {"segments": [], "total": 0},
        "/v3/workspaces/1/audiences/count": {"count": 0},
        "/v3/workspaces/1/audiences/imports": {"imports": []},
        "/v3/resources/starred": {"starredResources": []},
        "/v3/resources/pkg%2Fkey/star": {"isStarred": False},
        "/v3/workspaces/1/default-credit-limits": {"creditLimit": None},
    }
    for path, body in empty.items():
        r = await client.get(path)
        assert (r.status_code, r.json()) == (200, body), path
    contacts = (await client.get("/v3/workspaces/1/audiences/contacts")).json()
    assert contacts["contacts"] == [] and contacts["pagination"]["hasMore"] is False
    r = await client.get("/v3/workspaces/1/signals/sig_1")
    assert r.status_code == 404 and r.json()["type"] == "NotFound"


async def test_hosted_data_is_a_clear_400_and_nothing_stays_404(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    for path in (
        "/v3/actions/run-cpj-preview-enrichment",
        "/v3/workspaces/1/wizard/evaluate-step",
        "/v3/workspaces/1/audiences/segments",
    ):
        r = await client.post(path, json={})
        assert r.status_code == 400 and "hosted data" in r.json()["message"], path
    for path in ("/v3/workspaces/1/attributes", "/v3/workspaces/1/credit-accrual"):
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["type"] == "NoMatchingURL"
    other, _ = await other_user()
    for path in ("/v3/workspaces/1/users", "/v3/1/agent-configs", "/v3/model-pricing/1/base-costs"):
        assert (await other.get(path)).status_code == 404, path


async def test_extra_report_types_table_usage_and_limits(client: httpx.AsyncClient) -> None:
    for kind in ("api", "mcp", "signal", "triggerDefinition"):
        r = await client.get(
            f"/v3/credit-reporting/1/creditReportType/{kind}",
            params={"ownerIds[0]": 1, "isRecurringOnly": "false", "hasCreditLimit": "false"},
        )
        assert r.status_code == 200, (kind, r.text)
        report = CreditReport.model_validate(r.json())
        assert report.reportType == kind and report.totals.used == 0
    r = await client.get("/v3/credit-reporting/1/creditReportType/nope")
    assert r.status_code == 400

    table = await new_table(client)
    for part, model in (("time", DayUsage), ("column", ColumnUsage)):
        r = await client.get(f"/v3/realtime-credit-usage/1/table/{table['id']}/{part}")
        assert r.status_code == 200 and [model.model_validate(x) for x in r.json()] == []
    r = await client.get("/v3/realtime-credit-usage/1/table/t_nope/time")
    assert r.status_code == 404
    wb = table["workbookId"]
    r = await client.get(f"/v3/workspaces/1/credit-limits/workbook/{wb}/balance")
    balance = WorkbookBalance.model_validate(r.json())
    assert balance.creditLimit is None and balance.creditsUsed == 0 and balance.balance > 0
    r = await client.get("/v3/workspaces/1/credit-limits/workbook/wb_nope/balance")
    assert r.status_code == 404
