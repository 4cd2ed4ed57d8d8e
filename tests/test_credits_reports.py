"""Credit reports against the ledger they sum: the workspace, user, integration, table and
field reports (both path families), time ranges, filters and groupings, names, scoping to
members, and the SDK's calls.

One app and ledger for the whole module (every test here only reads); the ledger and the
expected figures come from tests/credits_fixtures.py.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack import AsyncClient
from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.services import accounts

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, login, make_client, new_table
from .credits_fixtures import (
    BASE,
    DAY,
    DIMS,
    FULL,
    INTEGRATIONS,
    _check,
    _expected,
    _ledger_rows,
    _write_ledger,
)


@pytest.fixture(scope="module")
async def app(database: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """One app and ledger for the whole module: every test here only reads."""
    url, schema = database
    settings = Settings(
        database_url=url,
        database_schema=schema,
        data_dir=tmp_path_factory.mktemp("credits"),
        enable_reset=True,
        password_hash_cost="low",  # the suite's (each login here would take ~0.2 s of CPU)
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await lifecycle.reset(application)
        yield application


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        await login(c, DEMO_EMAIL, DEMO_PASSWORD)
        yield c


async def _user(
    app: FastAPI, email: str, *, workspace: int | None = None
) -> tuple[httpx.AsyncClient, int, int]:
    """A new user, member of ``workspace`` or owner of a new one: (client, user id, ws)."""
    async with app.state.db.transaction(write=True) as conn:
        user = await accounts.create_user(
            conn,
            app.state.secret,
            email=email,
            name=email.split("@")[0],
            password="pass-word",
            cost=app.state.settings.password_hash_cost,
        )
        if workspace is None:
            workspace = await accounts.create_workspace(
                conn, name="Theirs", owner_id=user["id"], credits=100
            )
        else:
            await accounts.add_member(conn, workspace_id=workspace, email=email, role="member")
    c = make_client(app)
    await login(c, email, "pass-word")
    return c, user["id"], workspace


@pytest.fixture(scope="module")
async def ledger(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    """Two members of workspace 1 with usage over four days on two tables (three columns)
    and on a table since deleted; a stranger's workspace with usage of its own."""
    member, member_id, _ = await _user(app, "member@example.com", workspace=1)
    stranger, _, stranger_ws = await _user(app, "stranger@example.com")
    leads = await new_table(client, "Leads", ("Domain", "Company"))
    accounts_table = await new_table(client, "Accounts", ("Email",))
    cells = [
        (leads["id"], leads["byName"]["Domain"]),
        (leads["id"], leads["byName"]["Company"]),
        (accounts_table["id"], accounts_table["byName"]["Email"]),
        ("t_deleted", "f_gone"),
    ]
    await _write_ledger(app.state.db, 1, [1, member_id, None], cells, count=120, seed=7)
    strange = await new_table(stranger, "Theirs", ("X",), workspace=stranger_ws)
    await _write_ledger(
        app.state.db,
        stranger_ws,
        [None],
        [(strange["id"], strange["byName"]["X"])],
        count=15,
        seed=8,
    )
    yield {
        "member": member,
        "member_id": member_id,
        "stranger": stranger,
        "stranger_ws": stranger_ws,
        "leads": leads,
        "accounts": accounts_table,
        "entries": await _ledger_rows(app, 1),
    }
    await member.aclose()
    await stranger.aclose()


RANGES: list[tuple[dict[str, str], int | None, int | None]] = [
    ({}, None, None),
    ({"startTime": "2026-10-02"}, BASE + DAY, None),
    ({"endTime": "2026-10-02"}, None, BASE + 2 * DAY),
    ({"startTime": "2026-10-03", "endTime": "2026-10-03"}, BASE + 2 * DAY, BASE + 3 * DAY),
    (
        {"startTime": str(BASE + DAY + 5 * 3_600_000), "endTime": str(BASE + 3 * DAY + 3_600_000)},
        BASE + DAY + 5 * 3_600_000,
        BASE + 3 * DAY + 3_600_000,
    ),
    (
        {"startTime": "2026-10-02T12:00:00+02:00", "endTime": "2026-10-04T00:00:00Z"},
        BASE + DAY + 10 * 3_600_000,
        BASE + 3 * DAY,
    ),
    ({"startTime": "2026-10-01T06:30:00", "endTime": "2026-10-01T06:30:00"}, 0, 0),
]


async def test_workspace_report_matches_the_ledger_for_every_time_range(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    entries = ledger["entries"]
    assert len([e for e in entries if e.kind == "charge"]) == 120
    balance = sum(e.amount for e in entries)
    assert (await client.get("/v3/workspaces/1")).json()["workspace"]["credits"] == balance
    for params, start, end in RANGES:
        seed = (await client.get("/v3/workspaces/1/credits", params=params)).json()
        live_params = {f"timeRange[{k}]": v for k, v in params.items()}
        live = await client.get(
            "/v3/credit-reporting/1/creditReportType/workspace", params=live_params
        )
        assert live.status_code == 200, live.text
        assert live.json() == seed
        assert seed["reportType"] == "workspace" and seed["workspaceId"] == 1
        assert seed["balance"] == balance
        assert seed["groupBy"] == list(FULL)
        if start == end == 0:  # an empty range
            assert seed["totals"] == {"used": 0, "runs": 0, "actions": 0, "granted": 0, "net": 0}
            assert seed["rows"] == []
            continue
        expected_start = datetime.fromtimestamp(start / 1000, UTC) if start is not None else None
        assert (seed["timeRange"]["startTime"] is None) == (expected_start is None)
        _check(seed, _expected(entries, start=start, end=end))


def _time_text(ms: int, rng: random.Random) -> str:
    """``ms`` spelled as a client might: epoch ms, or ISO 8601 in UTC or another offset."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    choice = rng.randrange(3)
    if choice == 0:
        return str(ms)
    if choice == 1:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    offset = timezone(timedelta(hours=rng.choice((-7, 2, 5))))
    return moment.astimezone(offset).isoformat(timespec="milliseconds")


async def test_random_ranges_filters_and_groupings_match_the_ledger(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    """Property-style: random time ranges (often on an entry's own millisecond, where
    ``start`` includes it and ``end`` does not), filters and groupings, on both path
    families, each compared with a sum over the ledger rows read from the database."""
    entries = ledger["entries"]
    stamps = sorted(e.created_at for e in entries)
    leads, accounts_table = ledger["leads"], ledger["accounts"]
    choices = {
        "userIds": [1, ledger["member_id"]],
        "integrations": list(INTEGRATIONS),
        "tableIds": [leads["id"], accounts_table["id"], "t_deleted"],
        "fieldIds": [leads["byName"]["Domain"], accounts_table["byName"]["Email"], "f_gone"],
    }
    rng = random.Random(1001)

    def moment() -> int:
        if rng.random() < 0.5:
            return rng.choice(stamps)
        return rng.randrange(BASE - DAY, BASE + 5 * DAY)

    covered: Counter[str] = Counter()
    for case in range(40):
        low, high = sorted((moment(), moment()))
        start = None if rng.random() < 0.15 else low
        end = None if rng.random() < 0.15 else high
        filters: dict[str, list[Any]] = {
            name: rng.sample(values, rng.randint(1, 2))
            for name, values in choices.items()
            if rng.random() < 0.25
        }
        dims = tuple(d for d in DIMS if rng.random() < 0.4)
        times: dict[str, str] = {}
        if start is not None:
            times["startTime"] = _time_text(start, rng)
        if end is not None:
            times["endTime"] = _time_text(end, rng)
        params = {f"timeRange[{k}]": v for k, v in times.items()} | {"groupBy": ",".join(dims)}
        for name, values in filters.items():
            params |= {f"{name}[{i}]": str(v) for i, v in enumerate(values)}
        expected = _expected(
            entries,
            start=start,
            end=end,
            users=filters.get("userIds", ()),
            integrations=filters.get("integrations", ()),
            tables=filters.get("tableIds", ()),
            fields=filters.get("fieldIds", ()),
        )
        live = await client.get("/v3/credit-reporting/1/creditReportType/workspace", params=params)
        assert live.status_code == 200, (case, params, live.text)
        _check(live.json(), expected, dims)
        covered["non-empty"] += any(e.kind == "charge" for e in expected)
        covered["on an entry"] += start in stamps or end in stamps
        seed_params = times | {"groupBy": ",".join(dims)}
        if not filters:
            seed = await client.get("/v3/workspaces/1/credits", params=seed_params)
            assert seed.json() == live.json(), (case, params)
            covered["seed path"] += 1
        elif list(filters) == ["integrations"]:
            for key in filters["integrations"]:
                one = _expected(entries, start=start, end=end, integrations=[key])
                usage = await client.get(f"/v3/integrations/{key}/credits", params=seed_params)
                _check(usage.json(), one, dims)
                covered["integration path"] += 1
    assert min(covered.values()) >= 3 and len(covered) == 4, covered


async def test_rows_and_breakdowns_carry_names(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    report = (await client.get("/v3/workspaces/1/credits")).json()
    leads, accounts = ledger["leads"], ledger["accounts"]
    tables = {r["tableId"]: r["tableName"] for r in report["breakdowns"]["table"]}
    assert tables == {leads["id"]: "Leads", accounts["id"]: "Accounts", "t_deleted": None}
    fields = {(r["tableId"], r["fieldId"]): r["fieldName"] for r in report["breakdowns"]["field"]}
    assert fields == {
        (leads["id"], leads["byName"]["Domain"]): "Domain",
        (leads["id"], leads["byName"]["Company"]): "Company",
        (accounts["id"], accounts["byName"]["Email"]): "Email",
        ("t_deleted", "f_gone"): None,
    }
    users = {r["userId"]: r["userEmail"] for r in report["breakdowns"]["user"]}
    assert users == {1: DEMO_EMAIL, ledger["member_id"]: "member@example.com", None: None}
    dates = [r["date"] for r in report["breakdowns"]["date"]]
    assert dates == ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]
    row = report["rows"][0]
    assert set(row) == {
        "date",
        "userId",
        "userName",
        "userEmail",
        "integration",
        "tableId",
        "tableName",
        "fieldId",
        "fieldName",
        "credits",
        "runs",
        "actions",
    }


async def test_user_reports_by_both_paths(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    entries, member_id = ledger["entries"], ledger["member_id"]
    for params, start, end in RANGES[:5]:
        live_params = {f"timeRange[{k}]": v for k, v in params.items()}
        seed = (await client.get(f"/v3/users/{member_id}/credits", params=params)).json()
        assert seed["reportType"] == "user" and seed["filters"]["userIds"] == [member_id]
        _check(seed, _expected(entries, start=start, end=end, users=[member_id]))
        with_ws = await client.get(
            f"/v3/users/{member_id}/credits", params={**params, "workspaceId": "1"}
        )
        assert with_ws.json() == seed
        live = await client.get(
            "/v3/credit-reporting/1/creditReportType/user",
            params={**live_params, "userIds[0]": str(member_id)},
        )
        assert live.json() == seed
    # Several users at once, in the ways query strings spell arrays.
    both = _expected(entries, users=[1, member_id])
    for query in (
        f"userIds[0]=1&userIds[1]={member_id}",
        f"userIds=1&userIds={member_id}",
        f"userIds=1,{member_id}",
        f"userIds[]=1&userIds[]={member_id}",
    ):
        r = await client.get(f"/v3/credit-reporting/1/creditReportType/workspace?{query}")
        assert r.status_code == 200, query
        _check(r.json(), both)
    # The demo user's own report holds the grant they received (granted counts grants).
    mine = (await client.get("/v3/users/1/credits")).json()
    assert mine["totals"]["granted"] == sum(
        e.amount for e in entries if e.kind == "grant" and e.user_id == 1
    )
    r = await client.get("/v3/users/999/credits")
    assert r.status_code == 404 and r.json() == {"type": "NotFound", "message": "User not found"}
    r = await client.get("/v3/users/abc/credits")
    assert r.status_code == 400


async def test_integration_reports_by_both_paths(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    entries = ledger["entries"]
    for key in INTEGRATIONS:
        for params, start, end in RANGES[:4]:
            live_params = {f"timeRange[{k}]": v for k, v in params.items()}
            expected = _expected(entries, start=start, end=end, integrations=[key])
            usage = (await client.get(f"/v3/integrations/{key}/credits", params=params)).json()
            live_usage = await client.get(
                "/v3/credit-reporting/1/creditReportType/workspace",
                params={**live_params, "integrations[0]": key},
            )
            assert live_usage.json() == usage
            _check(usage, expected)
            assert usage["totals"]["granted"] == 0
            report = await client.get(f"/v3/integrations/{key}/credits/report", params=params)
            live_report = await client.get(
                "/v3/credit-reporting/1/creditReportType/integration",
                params={**live_params, "integrations[0]": key},
            )
            assert report.json() == live_report.json()
            assert report.json()["reportType"] == "integration"
            _check(report.json(), expected)
    two = _expected(entries, integrations=["use-ai", "acme-enrich"])
    r = await client.get(
        "/v3/credit-reporting/1/creditReportType/integration"
        "?integrations[0]=use-ai&integrations[1]=acme-enrich"
    )
    _check(r.json(), two)
    r = await client.get("/v3/integrations/not-installed/credits")
    assert r.status_code == 404 and r.json()["message"] == "Integration not found: not-installed"


async def test_table_and_field_reports(client: httpx.AsyncClient, ledger: dict[str, Any]) -> None:
    entries, leads = ledger["entries"], ledger["leads"]
    domain = leads["byName"]["Domain"]
    base = "/v3/credit-reporting/1/creditReportType"
    for params, start, end in RANGES[:6]:
        live_params = {f"timeRange[{k}]": v for k, v in params.items()}
        tables = (await client.get(f"{base}/table", params=live_params)).json()
        assert tables["groupBy"] == ["table"]
        _check(tables, _expected(entries, start=start, end=end), ("table",))
        fields = (await client.get(f"{base}/field", params=live_params)).json()
        assert fields["groupBy"] == ["table", "field"]
        _check(fields, _expected(entries, start=start, end=end), ("field",))
        one_table = await client.get(
            f"{base}/field", params={**live_params, "tableIds[0]": leads["id"]}
        )
        _check(
            one_table.json(),
            _expected(entries, start=start, end=end, tables=[leads["id"]]),
            ("field",),
        )
        one_field = await client.get(
            f"{base}/table", params={**live_params, "fieldIds[0]": domain, "groupBy": "date"}
        )
        _check(
            one_field.json(), _expected(entries, start=start, end=end, fields=[domain]), ("date",)
        )


async def test_group_by_choices(client: httpx.AsyncClient, ledger: dict[str, Any]) -> None:
    entries = ledger["entries"]
    cases = [
        ("groupBy=action,user", ("user", "action")),
        ("groupBy[0]=day&groupBy[1]=tableId", ("date", "table")),
        ("groupBy=integration&groupBy=field", ("integration", "field")),
        ("groupBy=date,user,integration,action,table,field", tuple(DIMS)),
    ]
    for query, dims in cases:
        r = await client.get(f"/v3/workspaces/1/credits?{query}")
        assert r.status_code == 200, query
        assert r.json()["groupBy"] == [d for d in DIMS if d in dims]
        _check(r.json(), entries, dims)
    total = (await client.get("/v3/workspaces/1/credits?groupBy=")).json()
    assert total["groupBy"] == []
    assert total["rows"] == [{"credits": total["totals"]["used"], "runs": 120, "actions": 120}]


async def test_bad_queries_are_400(client: httpx.AsyncClient, ledger: dict[str, Any]) -> None:
    base = "/v3/credit-reporting/1/creditReportType/workspace"
    cases = [
        (f"{base}?timeRange[startTime]=yesterday", "timeRange[startTime]"),
        (f"{base}?timeRange[endTime]=2026-13-45", "timeRange[endTime]"),
        (f"{base}?timeRange[startTime]=99999999999999999999", "timeRange[startTime]"),
        (f"{base}?timeRange[startTime]=-5", "timeRange[startTime]"),
        (
            f"{base}?timeRange[startTime]=2026-10-03&timeRange[endTime]=2026-10-01",
            "timeRange[endTime]",
        ),
        ("/v3/workspaces/1/credits?startTime=2026-10-02T25:00", "startTime"),
        (f"{base}?userIds[0]=alice", "userIds"),
        (f"{base}?groupBy=color", "groupBy"),
    ]
    for url, field in cases:
        r = await client.get(url)
        assert r.status_code == 400, url
        body = r.json()
        assert body["type"] == "BadRequest", url
        assert body["message"].startswith(f'Invalid request parameter(s): Field "{field}"'), url
    r = await client.get("/v3/credit-reporting/1/creditReportType/galaxy")
    assert r.status_code == 400 and "galaxy" in r.json()["message"]


async def test_reports_are_scoped_to_members(
    client: httpx.AsyncClient, ledger: dict[str, Any], app: FastAPI
) -> None:
    stranger, stranger_ws = ledger["stranger"], ledger["stranger_ws"]
    for path in (
        "/v3/workspaces/1/credits",
        "/v3/credit-reporting/1/creditReportType/workspace",
        "/v3/users/1/credits?workspaceId=1",
        "/v3/integrations/use-ai/credits?workspaceId=1",
        "/v3/integrations/use-ai/credits/report?workspaceId=1",
    ):
        r = await stranger.get(path)
        assert r.status_code == 404, path
    assert (await client.get(f"/v3/workspaces/{stranger_ws}/credits")).status_code == 404
    # The stranger's own report counts only their workspace's ledger.
    theirs = (await stranger.get("/v3/integrations/use-ai/credits")).json()
    assert theirs["workspaceId"] == stranger_ws
    _check(theirs, _expected(await _ledger_rows(app, stranger_ws), integrations=["use-ai"]))
    # Members of any role may read.
    viewer_report = await ledger["member"].get("/v3/workspaces/1/credits")
    assert viewer_report.json() == (await client.get("/v3/workspaces/1/credits")).json()


async def test_owners_permissions_and_user_resources(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    owners = (await client.get("/v3/owners")).json()["results"]
    assert owners == (await client.get("/v3/workspaces/1/permissions")).json()["results"]
    assert [(m["email"], m["role"]) for m in owners] == [
        (DEMO_EMAIL, "owner"),
        ("member@example.com", "member"),
    ]
    assert all(m["workspaceId"] == 1 and m["userId"] == m["id"] for m in owners)
    r = await ledger["stranger"].get("/v3/owners?workspaceId=1")
    assert r.status_code == 404
    resources = (await client.post("/v3/users/1/resources", json={})).json()["resources"]
    names = {(r["resourceType"], r["name"]) for r in resources}
    assert {("TABLE", "Leads"), ("TABLE", "Accounts")} <= names
    assert all(r["ownerId"] == 1 for r in resources)
    assert (await client.post(f"/v3/users/{ledger['member_id']}/resources")).json() == {
        "resources": []
    }


async def test_sdk_reports(app: FastAPI, ledger: dict[str, Any]) -> None:
    entries, leads = ledger["entries"], ledger["leads"]
    async with AsyncClient(
        "http://testserver/v3",
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        transport=httpx.ASGITransport(app=app),
    ) as clay:
        report = await clay.credits.workspace(1, start="2026-10-02", end="2026-10-03")
        expected = _expected(entries, start=BASE + DAY, end=BASE + 3 * DAY)
        assert report.totals.used == -sum(e.amount for e in expected if e.kind == "charge")
        assert [r.date for r in report.breakdowns.date] == ["2026-10-02", "2026-10-03"]
        by_user = await clay.credits.user(ledger["member_id"], group_by=["integration"])
        assert by_user.groupBy == ["integration"]
        assert {r.integration for r in by_user.rows} <= set(INTEGRATIONS)
        fields = await clay.credits.reporting(1, "field", tables=[leads["id"]])
        assert {r.fieldName for r in fields.rows} == {"Domain", "Company"}
        usage = await clay.credits.integration("use-ai")
        report = await clay.credits.report("use-ai", start=str(BASE), end=str(BASE + DAY))
        assert usage.filters["integrations"] == report.filters["integrations"] == ["use-ai"]
        assert report.totals.runs == len(
            [
                e
                for e in _expected(entries, start=BASE, end=BASE + DAY, integrations=["use-ai"])
                if e.kind == "charge"
            ]
        )
        assert (await clay.credits.reporting(1, users=[1])).filters["userIds"] == [1]


async def test_unencoded_plus_in_an_offset(
    client: httpx.AsyncClient, ledger: dict[str, Any]
) -> None:
    raw = await client.get("/v3/workspaces/1/credits?startTime=2026-10-02T12:00:00+02:00")
    encoded = await client.get(
        "/v3/workspaces/1/credits", params={"startTime": "2026-10-02T12:00:00+02:00"}
    )
    assert raw.status_code == 200 and raw.json() == encoded.json()
    assert raw.json()["timeRange"]["startTime"] == "2026-10-02T10:00:00.000Z"
