"""What real Clay clients call beyond the core (spec part 2 §3.7, §8–§11, §13): shared-table
settings, functions and tools, create-cpj-table, the AI helpers, per-run usage, run-enrichment,
presets and the workspace's sources, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext
from claystack.wire import (
    CpjTableOut,
    PresetOut,
    RunUsage,
    SharedTableOut,
    SubroutineList,
    ToolOut,
)

from .conftest import UserFactory, login, make_client, new_table, serve_in_thread
from .runs_fixtures import wait_done
from .test_local_actions import CLAY_SUBROUTINES, add_field, companies, lookup


async def test_shared_table_settings(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    table = await new_table(client)
    tid = table["id"]
    r = await client.get(f"/v3/shared-tables/by-table-id/{tid}")
    assert r.status_code == 404 and r.json()["type"] == "NotFound"
    r = await client.post("/v3/shared-tables", json={"tableId": tid})
    share = SharedTableOut.model_validate(r.json())
    assert share.id.startswith("share_") and share.tableId == tid
    assert share.viewId == table["firstViewId"] and share.sharedUserEmails == []
    again = await client.post("/v3/shared-tables", json={"tableId": tid})
    assert again.json()["id"] == share.id  # one per table
    assert (await client.get(f"/v3/shared-tables/by-table-id/{tid}")).json()["id"] == share.id

    views = (await client.get(f"/v3/tables/{tid}")).json()["table"]["views"]
    other_view = views[-1]["id"]
    body = {
        "sharingType": "PUBLIC",
        "viewId": other_view,
        "sharedUserEmails": ["A@Example.com", "a@example.com", "b@example.com"],
        "shouldResetPublicId": True,
    }
    r = await client.patch(f"/v3/shared-tables/{share.id}", json=body)
    patched = SharedTableOut.model_validate(r.json())
    assert (patched.sharingType, patched.viewId) == ("PUBLIC", other_view)
    assert patched.sharedUserEmails == ["a@example.com", "b@example.com"]
    assert patched.publicId != share.publicId
    assert (await client.get(f"/v3/shared-tables/{share.id}")).json() == r.json()

    bad: list[tuple[dict[str, Any], int]] = [
        ({"viewId": "gv_0t00000000000000000"}, 404),
        ({"sharedUserEmails": "x"}, 400),
        ({"sharedUserEmails": ["not an email"]}, 400),
        ({"sharingType": ""}, 400),
    ]
    for patch, status in bad:
        r = await client.patch(f"/v3/shared-tables/{share.id}", json=patch)
        assert r.status_code == status, (patch, r.text)
        assert set(r.json()) == {"type", "message"}
    assert (await client.get(f"/v3/shared-tables/{share.id}")).json() == patched.model_dump()
    assert (await client.post("/v3/shared-tables", json={})).status_code == 400
    r = await client.post("/v3/shared-tables", json={"tableId": "t_0t00000000000000000"})
    assert r.status_code == 404

    other, _ = await other_user()
    assert (await other.get(f"/v3/shared-tables/{share.id}")).status_code == 404
    assert (await other.get(f"/v3/shared-tables/by-table-id/{tid}")).status_code == 404
    r = await other.patch(f"/v3/shared-tables/{share.id}", json={"sharingType": "X"})
    assert r.status_code == 404
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    assert (await viewer.get(f"/v3/shared-tables/{share.id}")).status_code == 200
    r = await viewer.patch(f"/v3/shared-tables/{share.id}", json={"sharingType": "X"})
    assert r.status_code == 403
    # Deleting the table deletes its settings.
    assert (await client.delete(f"/v3/tables/{tid}")).status_code == 200
    assert (await client.get(f"/v3/shared-tables/{share.id}")).status_code == 404


async def _function_table(client: httpx.AsyncClient, name: str = "Clean") -> str:
    settings = {
        "BLOCK_TYPE": "SUBROUTINE",
        "SUBROUTINE_INPUTS": [{"inputName": "domain"}, {"inputName": "suffix", "optional": True}],
    }
    r = await client.post(
        "/v3/tables", json={"name": name, "workspaceId": 1, "tableSettings": settings}
    )
    assert r.status_code == 200, r.text
    fn = str(r.json()["table"]["id"])
    await add_field(client, fn, "domain", {"type": "text"})
    normalize = {
        "type": "action",
        "typeSettings": {
            "actionKey": "normalize-domain",
            "actionPackageId": "normalize",
            "inputsBinding": [{"name": "url", "formulaText": "{{domain}}"}],
        },
    }
    await add_field(client, fn, "Domain", normalize)
    return fn


async def test_subroutines_and_tools(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    assert (await client.get("/v3/workspaces/1/subroutines")).json() == {"subroutines": []}
    fn = await _function_table(client)
    plain = await new_table(client, name="Leads", fields=("Website",))
    call = {
        "type": "action",
        "typeSettings": {
            "actionKey": "execute-subroutine",
            "actionPackageId": CLAY_SUBROUTINES,
            "inputsBinding": [
                {"name": "subroutineId", "formulaText": f'"{fn}"'},
                {"name": "inputs", "formulaMap": {"domain": "{{Website}}"}},
            ],
        },
    }
    await add_field(client, plain["id"], "Call", call)
    r = await client.get("/v3/workspaces/1/subroutines")
    (sub,) = SubroutineList.model_validate(r.json()).subroutines
    assert sub.table["id"] == fn and sub.referenceCount == 1
    assert sub.actionExecutionCost == 1 and sub.cost == 0 and sub.containsVariablePricing is False
    # Function tables are not in the workspace's table list (spec part 2 §2).
    listed = (await client.get("/v3/workspaces/1/tables")).json()["results"]
    assert fn not in {t["id"] for t in listed} and plain["id"] in {t["id"] for t in listed}

    assert (await client.get("/v3/workspaces/1/tools")).json() == []
    r = await client.post("/v3/workspaces/1/tools", json={"type": "function", "tableId": fn})
    tool = ToolOut.model_validate(r.json())
    assert tool.id == f"function:{fn}" and tool.name == "Clean"
    assert tool.inputSchema["required"] == ["domain"]
    assert set(tool.inputSchema["properties"]) == {"domain", "suffix"}
    r = await client.post("/v3/workspaces/1/tools", json={"id": f"function:{fn}"})
    assert r.status_code == 409 and r.json()["type"] == "Conflict"
    assert [t["id"] for t in (await client.get("/v3/workspaces/1/tools")).json()] == [tool.id]
    r = await client.post("/v3/workspaces/1/tools", json={"tableId": plain["id"]})
    assert r.status_code == 400
    r = await client.post("/v3/workspaces/1/tools", json={"tableId": fn, "type": "mcp"})
    assert r.status_code == 400

    other, other_ws = await other_user()
    assert (await other.get("/v3/workspaces/1/subroutines")).status_code == 404
    r = await other.post(f"/v3/workspaces/{other_ws}/tools", json={"tableId": fn})
    assert r.status_code == 404
    assert (await other.get(f"/v3/workspaces/{other_ws}/subroutines")).json() == {"subroutines": []}


async def test_create_cpj_table_builds_the_structure(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    body = {
        "workspaceId": 1,
        "workbookName": "Prospects",
        "cpjConfig": {
            "type": "people",
            "typeSettings": {"job_title_keywords": ["cto"]},
            "basicFields": [
                {"name": "Full name", "formulaText": "{{source}}?.name"},
                {"name": "Notes"},
            ],
        },
    }
    r = await client.post("/v3/sources/create-cpj-table", json=body)
    assert r.status_code == 200, r.text
    out = CpjTableOut.model_validate(r.json())
    assert out.isNewTable and out.viewId and out.workbookId
    table = (await client.get(f"/v3/tables/{out.tableId}")).json()["table"]
    assert table["name"] == "Prospects" and table["workbookId"] == out.workbookId
    fields = {f["name"]: f for f in table["fields"]}
    source = (await client.get(f"/v3/sources/{out.sourceId}")).json()
    assert source["dataFieldId"] == fields["Find people"]["id"]
    assert source["typeSettings"]["cpjType"] == "people"
    full = fields["Full name"]
    assert full["type"] == "formula"
    assert full["typeSettings"]["formulaText"] == "{{" + source["dataFieldId"] + "}}?.name"
    assert fields["Notes"]["type"] == "text"
    # The structure works: a payload sent to the source fills the formula.
    r = await anon.post(source["url"], json={"name": "Ada Lovelace"})
    assert r.status_code == 200, r.text
    await wait_done(client, out.tableId)
    ids = (await client.get(f"/v3/tables/{out.tableId}/views/{out.viewId}/records/ids")).json()[
        "results"
    ]
    record = (await client.get(f"/v3/tables/{out.tableId}/records/{ids[0]}")).json()
    assert record["cells"][full["id"]]["value"] == "Ada Lovelace"

    again = {**body, "cpjConfig": {"type": "company", "destinationTableId": out.tableId}}
    r = await client.post("/v3/sources/create-cpj-table", json=again)
    assert r.status_code == 200 and r.json()["isNewTable"] is False
    assert r.json()["tableId"] == out.tableId

    for bad in ({"workspaceId": 1}, {"cpjConfig": {"basicFields": [{"x": 1}]}}):
        assert (await client.post("/v3/sources/create-cpj-table", json=bad)).status_code == 400
    other, _ = await other_user()
    r = await other.post("/v3/sources/create-cpj-table", json=body)
    assert r.status_code == 404
    r = await other.post("/v3/sources/create-cpj-table", json=again | {"workspaceId": None})
    assert r.status_code == 404
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    assert (await viewer.post("/v3/sources/create-cpj-table", json=body)).status_code == 403


async def test_ai_helpers_answer_deterministically_offline(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    table = await new_table(client, name="Accounts", fields=("Company", "Domain"))
    body = {
        "id": 1,
        "workspaceId": "1",
        "userPromptInput": "the domain without www",
        "columnNamesToIds": table["byName"],
        "mode": "basic",
        "rawExampleTableData": [{table["byName"]["Domain"]: "www.acme.com"}],
    }
    r = await client.post("/v3/ai-generation/formula", json=body)
    assert r.json() == {"formula": "", "dataType": "text"}
    r = await client.post(
        "/v3/ai-generation/table-description", json={"workspaceId": 1, "tableId": table["id"]}
    )
    text = r.json()["description"]
    assert "Accounts" in text and "Company" in text and "Domain" in text
    r = await client.post(
        "/v3/ai-generation/stream-metaprompter",
        json={"prompt": "", "taskDescription": "Research the company's website for pricing"},
    )
    assert r.headers["content-type"].startswith("text/plain")
    lines = [orjson.loads(line) for line in r.text.splitlines()]
    assert lines[0]["suggestedUseCase"] == "claygent" and "suggestedModel" in lines[1]
    assert lines[2] == {"prompt": "Research the company's website for pricing"}
    r = await client.post(
        "/v3/ai-generation/stream-metaprompter", json={"prompt": "Summarise {{Company}}"}
    )
    assert orjson.loads(r.text.splitlines()[0])["suggestedUseCase"] == "use-ai"
    r = await client.post("/v3/1/ai-generation/chat-conversation", json={"message": "hi"})
    assert r.status_code == 404 and r.json()["type"] == "NoMatchingURL"

    assert (await client.post("/v3/ai-generation/formula", json={})).status_code == 400
    r = await client.post("/v3/ai-generation/stream-metaprompter", json={})
    assert r.status_code == 400
    other, _ = await other_user()
    r = await other.post("/v3/ai-generation/table-description", json={"tableId": table["id"]})
    assert r.status_code == 404
    assert (await other.post("/v3/ai-generation/formula", json=body)).status_code == 404


def _fake_model(answers: list[str]) -> FastAPI:
    """A local OpenAI-compatible chat endpoint answering ``answers`` in turn."""
    fake = FastAPI()

    @fake.post("/v1/chat/completions")
    async def complete(body: dict[str, Any]) -> dict[str, Any]:
        content = answers.pop(0) if answers else "…"
        return {"choices": [{"message": {"content": content}, "finish_reason": "stop"}]}

    return fake


@pytest.fixture
def model_answers() -> list[str]:
    return []


@pytest.fixture
async def with_model(
    settings: Settings, model_answers: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    with serve_in_thread(_fake_model(model_answers)) as base:
        update = {"ai_base_url": f"{base}/v1", "ai_model": "gpt-4o-mini"}
        app = create_app(settings.model_copy(update=update))
        async with app.router.lifespan_context(app):
            await lifecycle.reset(app)
            async with make_client(app) as c:
                await login(c, "demo@claystack.dev", "claystack")
                yield c


async def test_ai_helpers_ask_the_configured_model(
    with_model: httpx.AsyncClient, model_answers: list[str]
) -> None:
    client = with_model
    table = await new_table(client, name="Accounts", fields=("Domain",))
    formula = "{{" + table["byName"]["Domain"] + '}}?.replace("www.", "")'
    model_answers += [
        orjson.dumps({"formula": formula, "dataType": "url"}).decode(),
        "Accounts we sell to.",
        "Summarise the company in one sentence, using only the row's data.",
        "Hello!",
    ]
    body = {"workspaceId": "1", "userPromptInput": "strip www", "columnNamesToIds": {}}
    r = await client.post("/v3/ai-generation/formula", json=body)
    assert r.json() == {"formula": formula, "dataType": "url"}
    r = await client.post("/v3/ai-generation/table-description", json={"tableId": table["id"]})
    assert r.json() == {"description": "Accounts we sell to."}
    r = await client.post("/v3/ai-generation/stream-metaprompter", json={"prompt": "Summarise"})
    prompt = orjson.loads(r.text.splitlines()[-1])["prompt"]
    assert prompt.startswith("Summarise the company")  # the longer prompt wins
    r = await client.post("/v3/1/ai-generation/chat-conversation", json={"message": "hi"})
    assert r.json() == {"message": {"role": "assistant", "content": "Hello!"}}


async def _double(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=str(inputs["q"]) * 2)


PRICED = Integration(
    key="doubler",
    display_name="Doubler",
    actions=(Action(key="double", display_name="Double", run=_double, credits=2),),
)


@pytest.fixture
def doubler() -> Iterator[None]:
    registry.register(PRICED)
    yield
    registry.unregister(PRICED.key)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_poll_seconds": 0.05})


async def test_realtime_usage_by_run(
    client: httpx.AsyncClient, doubler: None, other_user: UserFactory
) -> None:
    t = await new_table(client, name="Usage", fields=("q",))
    tid, q = t["id"], t["byName"]["q"]
    r = await client.get(f"/v3/realtime-credit-usage/1/table/{tid}/run")
    assert r.status_code == 200 and r.json() == []
    action = {
        "type": "action",
        "typeSettings": {
            "actionKey": "double",
            "actionPackageId": "doubler",
            "inputsBinding": [{"name": "q", "formulaText": "{{" + q + "}}"}],
        },
    }
    fid = await add_field(client, tid, "Double", action)
    rows = [{"cells": {q: f"x{i}"}} for i in range(3)]
    assert (await client.post(f"/v3/tables/{tid}/records", json={"records": rows})).is_success
    await wait_done(client, tid)
    r = await client.get(
        f"/v3/realtime-credit-usage/1/table/{tid}/run",
        params={"timeRange[startTime]": "2000-01-01T00:00:00Z"},
    )
    runs = [RunUsage.model_validate(x) for x in r.json()]
    assert sum(run.creditsSpent for run in runs) == 6 and sum(run.actions for run in runs) == 3
    assert all(run.runId.startswith(f"run_{tid}_") for run in runs)
    assert {c.fieldId for run in runs for c in run.columns} == {fid}
    other, other_ws = await other_user()
    r = await other.get(f"/v3/realtime-credit-usage/{other_ws}/table/{tid}/run")
    assert r.status_code == 404


async def test_run_enrichment_runs_local_actions(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    body = {
        "workspaceId": "1",
        "enrichmentType": "normalize-company-name",
        "inputs": {"companyName": "  Acme, Inc. "},
    }
    r = await client.post("/v3/actions/run-enrichment", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["metadata"] == {"status": "SUCCESS"} and out["result"] == "Acme"
    assert out["taskId"].startswith("task_")

    target, cf = await companies(client)
    inputs = {"tableId": target, "targetColumn": "Domain", "rowValue": "globex.com"}
    body = {"enrichmentType": "lookup-row-in-other-table", "inputs": inputs}
    r = await client.post("/v3/actions/run-enrichment", json=body)
    assert r.json()["metadata"]["status"] == "SUCCESS"
    assert r.json()["fullValue"]["record"]["Company"] == "Globex", r.json()
    r = await client.post(
        "/v3/actions/run-enrichment",
        json={**body, "inputs": {**inputs, "tableId": "t_0t00000000000000000"}},
    )
    assert r.json()["metadata"]["status"] == "ERROR_INVALID_INPUT"
    assert lookup  # the column form of the same action: tests/test_local_actions.py

    for bad in (
        {"enrichmentType": "http-api-v2", "inputs": {"url": "http://x"}},
        {"enrichmentType": "write-to-cell", "inputs": {}},
        {"enrichmentType": "no-such-action"},
        {"inputs": {}},
    ):
        r = await client.post("/v3/actions/run-enrichment", json=bad)
        assert r.status_code == 400 and set(r.json()) == {"type", "message"}, bad
    other, _ = await other_user()
    r = await other.post("/v3/actions/run-enrichment", json={**body, "workspaceId": "1"})
    assert r.status_code == 404
    # Another workspace's table is not found, even by id.
    r = await other.post("/v3/actions/run-enrichment", json={**body, "workspaceId": None})
    assert r.json()["metadata"]["status"] == "ERROR_INVALID_INPUT"


async def test_presets_are_saved_and_listed(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    assert (await client.get("/v3/presets/workspace/1")).json() == []
    body = {
        "workspaceId": 1,
        "name": "Company website",
        "type": "action",
        "category": "Research",
        "actionKey": "use-ai",
        "actionPackageId": "67ba01e9-1898-4e7d-afe7-7ebe24819a57",
        "preset": {"inputsBinding": {"prompt": "Find the website of {{Input_1}}"}},
    }
    r = await client.post("/v3/presets", json=body)
    preset = PresetOut.model_validate(r.json())
    assert preset.id.startswith("pre__") and preset.category == "Research"
    await client.post("/v3/presets", json={"name": "Other", "type": "column"})
    assert (await client.get("/v3/presets/workspace/1/categories")).json() == ["Research"]
    r = await client.get("/v3/presets/workspace/1", params={"category": "Research"})
    assert [p["id"] for p in r.json()] == [preset.id]
    r = await client.get("/v3/presets/workspace/1/filtered", params={"types[]": ["column"]})
    assert [p["name"] for p in r.json()] == ["Other"]
    assert len((await client.get("/v3/presets/workspace/1")).json()) == 2
    for bad in ({}, {"name": ""}, {"name": "x", "preset": [1]}):
        assert (await client.post("/v3/presets", json=bad)).status_code == 400
    other, other_ws = await other_user()
    assert (await other.post("/v3/presets", json=body)).status_code == 404
    assert (await other.get(f"/v3/presets/workspace/{other_ws}")).json() == []
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    assert (await viewer.post("/v3/presets", json=body)).status_code == 403


async def test_workspace_sources(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    buffered = (await client.post("/v3/sources", json={"workspaceId": 1, "name": "B"})).json()
    r = await client.post("/v3/tables", json={"workspaceId": 1, "template": "basic_source"})
    attached = r.json()["source"]
    for path in ("/v3/workspaces/1/sources", "/v3/sources?workspaceId=1", "/v3/sources"):
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert [s["id"] for s in r.json()] == [buffered["id"], attached["id"]], path
    other, other_ws = await other_user()
    assert (await other.get("/v3/workspaces/1/sources")).status_code == 404
    assert (await other.get(f"/v3/workspaces/{other_ws}/sources")).json() == []


async def _cells(client: httpx.AsyncClient, tid: str, fid: str) -> list[Any]:
    view = (await client.get(f"/v3/tables/{tid}")).json()["table"]["firstViewId"]
    r = await client.get(f"/v3/tables/{tid}/views/{view}/records", params={"limit": 100})
    return [rec["cells"].get(fid, {}).get("value") for rec in r.json()["results"]]


async def test_formula_values_follow_data_type_and_patch_replaces_settings(
    client: httpx.AsyncClient,
) -> None:
    t = await new_table(client, name="Typed", fields=("raw",))
    tid, raw = t["id"], t["byName"]["raw"]
    rows = [{"cells": {raw: v}} for v in ("1,200", " 3.5 ", "yes", "no")]
    assert (await client.post(f"/v3/tables/{tid}/records", json={"records": rows})).is_success
    ref = "{{" + raw + "}}"

    def typed(kind: str) -> dict[str, Any]:
        settings = {"formulaText": ref, "formulaType": "text", "dataTypeSettings": {"type": kind}}
        return {"type": "text", "typeSettings": settings}

    number = await add_field(client, tid, "Number", typed("number"))
    flag = await add_field(client, tid, "Flag", typed("boolean"))
    text = await add_field(client, tid, "Text", typed("text"))
    await wait_done(client, tid)
    assert await _cells(client, tid, number) == [1200, 3.5, None, None]
    assert await _cells(client, tid, flag) == [None, None, True, False]
    assert await _cells(client, tid, text) == ["1,200", " 3.5 ", "yes", "no"]

    # PATCH replaces typeSettings whole: the new data type applies, the old keys go.
    body = {"typeSettings": {"formulaText": ref + ".trim()", "dataTypeSettings": {"type": "text"}}}
    r = await client.patch(f"/v3/tables/{tid}/fields/{number}", json=body)
    field = r.json()["field"]
    assert field["type"] == "formula" and "formulaType" not in field["typeSettings"]
    assert field["typeSettings"]["dataTypeSettings"] == {"type": "text"}
    await wait_done(client, tid)
    assert await _cells(client, tid, number) == ["1,200", "3.5", "yes", "no"]


async def test_sdk_namespaces(app: FastAPI) -> None:
    from claystack.client import AsyncClient, NotFoundError

    from .conftest import DEMO_EMAIL, DEMO_PASSWORD
    from .test_client import BASE, Counting

    async with AsyncClient(
        BASE, email=DEMO_EMAIL, password=DEMO_PASSWORD, transport=Counting(app)
    ) as clay:
        table = await clay.tables.create(1, "Shared")
        with pytest.raises(NotFoundError):
            await clay.shared_tables.get(table.id)
        share = await clay.shared_tables.share(table.id)
        changed = await clay.shared_tables.update(share["id"], sharing_type="PUBLIC")
        assert changed["sharingType"] == "PUBLIC"
        assert (await clay.shared_tables.get(table.id))["id"] == share["id"]

        made = await clay.functions.create_cpj_table(1, "company", workbook_name="Accounts")
        assert made["isNewTable"] and made["sourceId"].startswith("s_")
        assert await clay.functions.list(1) == [] and await clay.functions.tools(1) == []
        out = await clay.functions.run_action("normalize-company-name", {"companyName": "Acme Inc"})
        assert out["result"] == "Acme"

        assert (await clay.ai.formula("upper case"))["formula"] == ""
        assert "Shared" in await clay.ai.describe_table(table.id)
        meta = await clay.ai.metaprompt("Summarise the company")
        assert meta["suggestedUseCase"] == "use-ai" and meta["prompt"] == "Summarise the company"

        preset = await clay.presets.create(1, "P", {"inputsBinding": {}}, category="C")
        assert [p["id"] for p in await clay.presets.list(1, category="C")] == [preset["id"]]
