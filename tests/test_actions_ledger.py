"""Actions beside credits (spec part 2 §9): every execution is recorded, free ones too;
CLAYSTACK_ACTION_PRICES sets prices; a run's estimate matches what the run then records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext
from claystack.wire import (
    CreditReport,
    RunEstimate,
)

from .conftest import login, make_client, new_table
from .runs_fixtures import wait_done


async def _upper(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=str(inputs["q"]).upper())


TALLY = Integration(
    key="tally",
    display_name="Tally",
    actions=(
        Action(key="count", display_name="Priced", run=_upper, credits=3),
        Action(key="free", display_name="Free", run=_upper, credits=0),
    ),
)


@pytest.fixture(autouse=True)
def tally() -> Iterator[None]:
    registry.register(TALLY)
    yield
    registry.unregister(TALLY.key)


@pytest.fixture
async def priced(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The demo user on a server where ``tally/free`` costs 1 credit."""
    app: FastAPI = create_app(settings.model_copy(update={"action_prices": {"tally/free": 1}}))
    async with app.router.lifespan_context(app):
        await lifecycle.reset(app)
        async with make_client(app) as c:
            await login(c, "demo@claystack.dev", "claystack")
            yield c


def _action(package: str, key: str, name_field: str, **extra: Any) -> dict[str, Any]:
    settings = {
        "actionPackageId": package,
        "actionKey": key,
        "inputsBinding": [
            {"name": "q" if package == "tally" else "name", "formulaText": name_field}
        ],
        **extra,
    }
    return {"type": "action", "typeSettings": settings}


async def _field(client: httpx.AsyncClient, table_id: str, name: str, body: dict[str, Any]) -> str:
    r = await client.post(f"/v3/tables/{table_id}/fields", json={"name": name, **body})
    assert r.status_code == 200, r.text
    return str(r.json()["field"]["id"])


async def test_estimate_matches_what_the_run_records(priced: httpx.AsyncClient) -> None:
    client = priced
    t = await new_table(client, name="Costs", fields=("name", "flag"))
    tid, name, flag = t["id"], t["byName"]["name"], t["byName"]["flag"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"
    paid = await _field(
        client,
        tid,
        "Paid",
        _action("tally", "count", ref, conditionalRunFormulaText="{{" + flag + '}} == "yes"'),
    )
    free = await _field(client, tid, "Free", _action("tally", "free", ref))
    parse = await _field(client, tid, "Parse", _action("normalize", "parse-name", ref))
    rows = [
        {"cells": {name: "Ann Lee", flag: "yes"}},
        {"cells": {name: "Bob Ray", flag: "no"}},
        {"cells": {name: "", flag: "yes"}},
    ]
    r = await client.post(f"/v3/tables/{tid}/records", json={"records": rows})
    assert r.status_code == 200, r.text
    before = (await client.get("/v3/workspaces/1")).json()["workspace"]["credits"]
    body = {"fieldIds": [paid, free, parse], "runRecords": {"viewId": t["firstViewId"]}}

    r = await client.patch(f"/v3/tables/{tid}/run/estimate", json=body)
    assert r.status_code == 200, r.text
    est = RunEstimate.model_validate(r.json())
    assert (est.recordCount, est.actions, est.credits) == (3, 5, 5)
    per = {f.fieldId: f for f in est.fields}
    assert (per[paid].cells, per[paid].credits) == (1, 3)
    assert per[paid].skipped.runCondition == 1 and per[paid].skipped.blankInput == 1
    assert (per[free].cells, per[free].credits) == (2, 2)
    assert (per[parse].cells, per[parse].credits) == (2, 0)
    assert est.balance == before and est.sufficientCredits
    # preview:true on the run route answers the same and queues nothing.
    r = await client.patch(f"/v3/tables/{tid}/run", json={**body, "preview": True})
    assert r.json() == est.model_dump()
    status = await client.get(f"/v3/workspaces/1/tables/{tid}/fields/runstatus")
    assert all(not counts for counts in status.json()["statusCountsByField"].values())

    r = await client.patch(f"/v3/tables/{tid}/run", json=body)
    assert r.status_code == 200 and r.json()["recordCount"] == 3
    await wait_done(client, tid)
    r = await client.get("/v3/workspaces/1/credits", params={"tableIds[0]": tid})
    report = CreditReport.model_validate(r.json())
    assert (report.totals.actions, report.totals.used) == (est.actions, est.credits)
    after = (await client.get("/v3/workspaces/1")).json()["workspace"]["credits"]
    assert before - after == est.credits
    by_field = {
        row.fieldId: (row.actions, row.credits) for row in report.breakdowns.field if row.fieldId
    }
    assert by_field == {paid: (1, 3), free: (2, 2), parse: (2, 0)}

    # Nothing is left to spend: SUCCESS cells are kept, the others still cannot run.
    est = RunEstimate.model_validate(
        (await client.patch(f"/v3/tables/{tid}/run/estimate", json=body)).json()
    )
    assert (est.actions, est.credits) == (0, 0)
    forced = {**body, "forceRun": True}
    est = RunEstimate.model_validate(
        (await client.patch(f"/v3/tables/{tid}/run/estimate", json=forced)).json()
    )
    assert (est.actions, est.credits) == (5, 5)


async def test_estimate_checks_the_body_like_the_run(client: httpx.AsyncClient) -> None:
    t = await new_table(client, name="E", fields=("name",))
    tid = t["id"]
    r = await client.patch(
        f"/v3/tables/{tid}/run/estimate", json={"fieldIds": [t["byName"]["name"]]}
    )
    assert r.status_code == 400 and "runRecords" in r.json()["message"]
    body = {"fieldIds": ["f_nope"], "runRecords": {"viewId": t["firstViewId"]}}
    assert (await client.patch(f"/v3/tables/{tid}/run/estimate", json=body)).status_code == 404
    r = await client.patch("/v3/tables/t_nope/run/estimate", json={})
    assert r.status_code == 404


async def test_free_executions_count_actions_not_credits(client: httpx.AsyncClient) -> None:
    t = await new_table(client, name="Free", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    free = await _field(client, tid, "Free", _action("tally", "free", "{{" + name + "}}"))
    r = await client.post(
        f"/v3/tables/{tid}/records", json={"records": [{"cells": {name: "a"}}] * 1}
    )
    assert r.status_code == 200
    await wait_done(client, tid)  # auto-run
    report = (await client.get("/v3/workspaces/1/credits", params={"tableIds[0]": tid})).json()
    assert report["totals"]["actions"] == 1 and report["totals"]["used"] == 0
    assert report["breakdowns"]["field"][0]["fieldId"] == free
