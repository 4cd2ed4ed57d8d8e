"""More checks of the rows' answers: field groups, waterfalls, views, search, the catalog
and accounts, sources' functions, presets, tools and the AI helpers, formulas."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..conftest import DEMO_EMAIL
from .checks import Check, _group, _ws_tables
from .ctx import Ctx, wait_cell
from .shapes import (
    ACCOUNT,
    ACTION,
    array,
    error,
    field_obj,
    has,
    mirrored,
    prefixed,
    record_obj,
    source_obj,
    table_obj,
    view_obj,
)


async def _waterfall(r: httpx.Response, ctx: Ctx) -> None:
    groups = has(r.json(), "fieldGroupMap")["fieldGroupMap"]
    assert len(groups) == 1, groups
    for gid, group in groups.items():
        prefixed(gid, "gr_")
        _group(group)


def _view_answer(check: Callable[[dict[str, Any]], None] | None = None) -> Check:
    def run(r: httpx.Response, ctx: Ctx) -> None:
        v = view_obj(has(r.json(), "view")["view"])
        if check:
            check(v)

    return run


def _view_ids(expected: list[str]) -> Check:
    """The view answer, then its record ids: the filter or sort is applied server-side."""

    async def check(r: httpx.Response, ctx: Ctx) -> None:
        v = view_obj(mirrored(r.json(), "view"))
        got = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/views/{v['id']}/records/ids")
        assert got.json()["results"] == expected, got.json()

    return check


async def _view_field_hidden(r: httpx.Response, ctx: Ctx) -> None:
    v = view_obj(has(r.json(), "view")["view"])
    assert v["fields"][await ctx.get("f")]["isVisible"] is False, v["fields"]


async def _reordered(r: httpx.Response, ctx: Ctx) -> None:
    v = view_obj(has(r.json(), "view")["view"])
    f, f2 = await ctx.get("f"), await ctx.get("f2")
    assert v["fields"][f2]["order"] < v["fields"][f]["order"], v["fields"]


async def _view_copy(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    v = view_obj(body.get("view", body))
    assert v["name"] == "Default view (copy)" and v["id"] != await ctx.get("v"), v


async def _search(r: httpx.Response, ctx: Ctx) -> None:
    hits = array(has(r.json(), "results")["results"], "fieldId recordId", "results")
    assert hits == [{"fieldId": await ctx.get("f"), "recordId": "r_audit"}], hits


async def _record_made(r: httpx.Response, ctx: Ctx) -> None:
    rec = record_obj(r.json())
    assert rec["id"] == "r_1700000000000", rec


async def _catalog(r: httpx.Response, ctx: Ctx) -> None:
    actions = array(has(r.json(), "actions")["actions"], ACTION, "actions")
    http = [a for a in actions if a["actionKey"] == "http-api-v2"]
    assert http and http[0]["actionPackageId"] == "4299091f-3cd3-4d68-b198-0143575f471d", http
    array(http[0]["inputParameterSchema"], "name type optional displayName", "inputs")
    array(http[0]["outputParameterSchema"], "name type outputPath semanticType", "outputs")
    has(http[0]["pricing"], "credits", "pricing")


async def _enrichment_search(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "results")["results"], "entity_id name type description")
    assert rows and any("http" in x["entity_id"] for x in rows), rows
    assert all("/" in x["entity_id"] for x in rows), rows


def _dynamic(body: Any) -> None:
    rows = array(body, "parameterPath dynamicData errors logUrl", "dynamicFields")
    assert len(rows) == 1 and rows[0]["parameterPath"] == "model", rows


def _account_types(body: Any) -> None:
    assert array(body, "id authenticationType displayMetadata", "types"), "no types"


async def _account(r: httpx.Response, ctx: Ctx) -> None:
    a = has(r.json(), ACCOUNT)
    assert a["id"] == await ctx.get("aa")
    missing = await ctx.client.get("/v3/workspaces/1/app-accounts/accounts/aa_0t00000000000000000")
    assert missing.status_code == 404, missing.text
    error(missing.json(), "NotFound", "App Account not found")


async def _accounts_of_type(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(r.json(), ACCOUNT, "accounts")
    assert [a["id"] for a in rows] == [await ctx.get("aa")]


def _validate(body: Any) -> None:
    has(body, "status message actionMetadata")
    assert body["status"] in ("ok", "error"), body


def _strings(body: Any) -> None:
    assert array(body, where="categories") == ["email"], body


def _presets(body: Any) -> None:
    assert array(body, "id name type category preset", "presets"), "no presets"
    for p in body:
        prefixed(p["id"], "pre__")


def _presets_full(body: Any) -> None:
    rows = array(body, "id name type category preset actionKey actionPackageId", "presets")
    assert rows, "no presets"
    for p in rows:
        prefixed(p["id"], "pre__")
        assert isinstance(p["preset"].get("inputsBinding"), dict), p


async def _source_made(r: httpx.Response, ctx: Ctx) -> None:
    s = source_obj(has(r.json(), "source")["source"])
    assert s["sourceSubscriptions"] == [] and s["name"] == "Inbound", s
    bad = await ctx.client.post(
        "/v3/sources", json={"workspaceId": 1, "name": "P", "type": "people", "typeSettings": {}}
    )
    assert bad.status_code == 400, bad.text
    error(bad.json(), "BadRequest", "Invalid subscriptions")


async def _source_renamed(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    s = source_obj(body.get("source", body))
    assert s["name"] == "Renamed", s


async def _source_runs(r: httpx.Response, ctx: Ctx) -> None:
    array(has(r.json(), "runs")["runs"], "id status numRecords createdAt", "runs")
    bad = await ctx.client.get(f"/v3/sources/{await ctx.get('s')}/runs")
    assert bad.status_code == 400, bad.text
    error(bad.json(), "BadRequest", "limit")


async def _response_type(r: httpx.Response, ctx: Ctx) -> None:
    assert r.json() == {"success": True, "responseType": "PLAIN_TEXT"}, r.json()
    ack = await ctx.anon.post(f"/v3/sources/webhook/{await ctx.get('hook')}", json={"a": 1})
    assert ack.status_code == 200 and ack.headers["content-type"].startswith("text/plain"), ack
    assert ack.text == "OK", ack.text


def _auth_token(body: Any) -> None:
    has(body, "token headerName")
    assert body["headerName"] == "x-clay-webhook-auth" and body["token"], body


async def _cpj(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "tableId viewId workbookId sourceId isNewTable")
    prefixed(body["tableId"], "t_")
    prefixed(body["viewId"], "gv_")
    prefixed(body["workbookId"], "wb_")
    prefixed(body["sourceId"], "s_")
    assert body["isNewTable"] is True


def _subroutines(body: Any) -> None:
    assert array(
        has(body, "subroutines")["subroutines"],
        "sourceId table cost actionExecutionCost containsVariablePricing referenceCount",
    ), "no subroutines"


def _usage_array(keys: str) -> Check:
    def check(r: httpx.Response, ctx: Ctx) -> None:
        array(r.json(), keys, "usage")

    return check


def _stream(r: httpx.Response, ctx: Ctx) -> None:
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    lines = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    keys = set().union(*(set(x) for x in lines))
    assert {"suggestedUseCase", "suggestedModel", "prompt"} <= keys, lines
    use = [x["suggestedUseCase"] for x in lines if "suggestedUseCase" in x]
    assert set(use) <= {"use-ai", "claygent"}, use


async def _tool(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "id type name inputSchema")
    assert body["id"] == f"function:{await ctx.get('fn')}", body
    again = await ctx.client.post("/v3/workspaces/1/tools", json={"tableId": await ctx.get("fn")})
    assert again.status_code == 409, again.text


async def _tools(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    rows = body if isinstance(body, list) else has(body, "tools")["tools"]
    assert [x["id"] for x in array(rows, "id type name inputSchema", "tools")] == [
        await ctx.get("tool")
    ]


def _list_or(key: str) -> Check:
    def check(r: httpx.Response, ctx: Ctx) -> None:
        body = r.json()
        assert body == [] or body == {key: []}, body

    return check


def _errored(kind: str, message: str = "") -> Check:
    def check(r: httpx.Response, ctx: Ctx) -> None:
        error(r.json(), kind, message)

    return check


async def _action_field(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "action", f
    has(f["typeSettings"], "actionKey actionPackageId inputsBinding", "typeSettings")
    d = has(f, "actionDefinition")["actionDefinition"]
    has(
        d,
        "key actionPackageId displayName inputParameterSchema outputParameterSchema pricing",
        "actionDefinition",
    )


async def _formula_field(r: httpx.Response, ctx: Ctx) -> None:
    """§4.2: a text field with ``formulaText`` reads as a formula and fills the existing rows
    without a run."""
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "formula", f
    url = f"/v3/tables/{await ctx.get('t')}/records/r_audit"
    cell = await wait_cell(ctx.client, url, f["id"])
    assert cell["value"] == "ADA" and cell["metadata"]["status"] == "SUCCESS", cell


async def _unauthorized(r: httpx.Response, ctx: Ctx) -> None:
    assert r.json() == {"type": "Unauthorized", "message": "You must be logged in"}, r.json()


async def _bearer(r: httpx.Response, ctx: Ctx) -> None:
    assert has(r.json(), "id email name")["email"] == DEMO_EMAIL


async def _moved(r: httpx.Response, ctx: Ctx) -> None:
    table = table_obj(mirrored(r.json(), "table"))
    assert table["workbookId"] == await ctx.get("wb2"), table["workbookId"]
    got = await ctx.client.get(f"/v3/workbooks/{await ctx.get('wb2')}/tables")
    assert [t["id"] for t in got.json()] == [table["id"]]


async def _patched_to_formula(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "formula" and f["id"] == await ctx.get("f2"), f
    url = f"/v3/tables/{await ctx.get('t')}/records/r_audit"
    cell = await wait_cell(ctx.client, url, f["id"])
    assert cell["value"] == "Ada!" and cell["metadata"]["status"] == "SUCCESS", cell


async def _still_formula(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "formula" and f["typeSettings"].get("formulaText"), f
    url = f"/v3/tables/{await ctx.get('t')}/records/r_audit"
    deadline = time.monotonic() + 30
    while (cell := await wait_cell(ctx.client, url, f["id"]))["value"] != "Ada?":
        assert time.monotonic() < deadline, cell
        await asyncio.sleep(0.02)


async def _formula_shout(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "formula", f
    url = f"/v3/tables/{await ctx.get('t')}/records/r_audit"
    cell = await wait_cell(ctx.client, url, f["id"])
    assert cell["value"] == "Ada!" and cell["metadata"]["status"] == "SUCCESS", cell


async def _empty_formula(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "formula", f


async def _unknown_action(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    errors = (f.get("settingsError"), f["typeSettings"].get("settingsError"))
    assert "UNKNOWN_ACTION" in errors, f


async def _ai_alias(r: httpx.Response, ctx: Ctx) -> None:
    """``actionKey: "ai"`` is use-ai (whose account is optional on claystack: the server's
    model serves a field without one, so no ``MISSING_AUTH``)."""
    f = field_obj(has(r.json(), "field")["field"])
    assert f["typeSettings"]["actionKey"] == "use-ai", f["typeSettings"]
    assert f.get("settingsError") is None and f["actionDefinition"]["key"] == "use-ai", f


async def _subscribed(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["type"] == "source", f
    source = (await ctx.client.get(f"/v3/sources/{await ctx.get('buffered')}")).json()
    assert source["dataFieldId"] == f["id"], source
    count = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/count")
    assert count.json()["count"] == 3, count.json()  # two rows plus the buffered payload


async def _group_deleted(r: httpx.Response, ctx: Ctx) -> None:
    table = (await ctx.client.get(f"/v3/tables/{await ctx.get('t')}")).json()["table"]
    assert await ctx.get("g") not in table["fieldGroupMap"]
    assert await ctx.get("f") not in [f["id"] for f in table["fields"]]


async def _ws_tables_no_functions(r: httpx.Response, ctx: Ctx) -> None:
    await _ws_tables(r, ctx)
    ids = [t["id"] for t in r.json()["results"]]
    assert await ctx.get("fn") not in ids, "function tables are listed"
