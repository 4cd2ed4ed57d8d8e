"""The rows' type (``Row``) and the checks of their answers: auth, workspaces, tables,
fields, views, records, runs, sources, workbooks, exports and imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..test_exports import wait_export
from ..test_imports import wait_import
from .ctx import Ctx
from .shapes import (
    ACCOUNT,
    CELL_STATUSES,
    EXPORT,
    RESOURCE,
    SYSTEM_FIELDS,
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
    workbook_obj,
)

# -- the rows ------------------------------------------------------------------------------

Check = Callable[[httpx.Response, Ctx], Awaitable[None] | None]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as the spec writes it, with placeholders the Ctx fills
    body: Any = None
    check: Check | None = None
    status: int = 200
    form: bool = False  # send the body form-encoded (part 1 §1's legacy encoding)
    needs: str = ""  # ids to seed although neither path nor body names them
    anon: bool = False  # without the session cookie
    headers: tuple[tuple[str, str], ...] = ()  # extra headers (placeholders filled)
    xfail: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def ok_json(fn: Callable[[Any], Any]) -> Check:
    def check(r: httpx.Response, ctx: Ctx) -> None:
        fn(r.json())

    return check


async def _login(r: httpx.Response, ctx: Ctx) -> None:
    has(has(r.json(), "user")["user"], "id email name", "user")
    cookie = r.headers.get("set-cookie", "")
    assert cookie.startswith("claysession=s%3A"), cookie
    for part in ("HttpOnly", "Path=/", "Max-Age=86400"):
        assert part.lower() in cookie.lower(), cookie


async def _logout(r: httpx.Response, ctx: Ctx) -> None:
    assert (await ctx.client.get("/v3/me")).status_code == 401


async def _deleted(url: str, ctx: Ctx) -> None:
    r = await ctx.client.get(await ctx.fill(url))
    assert r.status_code == 404 and r.json()["type"] == "NotFound", r.text


def gone(url: str) -> Check:
    async def check(r: httpx.Response, ctx: Ctx) -> None:
        await _deleted(url, ctx)

    return check


async def _folder_gone(r: httpx.Response, ctx: Ctx) -> None:
    got = await ctx.client.post("/v3/workspaces/1/resources_v2/", json={"parentResource": None})
    assert await ctx.get("folder") not in [x["id"] for x in got.json()["resources"]]


async def _resources(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "resources")["resources"], RESOURCE, "resources")
    kinds = {x["resourceType"] for x in rows}
    assert kinds <= {"FOLDER", "WORKBOOK", "TABLE"}, kinds
    assert rows, "no resources"


async def _global_search(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "resources")["resources"], RESOURCE, "resources")
    assert await ctx.get("t") in {x["id"] for x in rows}, "the nested table is not found"


async def _table_created(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    table_obj(has(body, "table extraData")["table"])
    extra = body["extraData"]
    has(extra, "initialRecordIds initialRecords", "extraData")
    workbook_obj(extra.get("newlyCreatedWorkbook"), "extraData.newlyCreatedWorkbook")


async def _untitled(r: httpx.Response, ctx: Ctx) -> None:
    await _table_created(r, ctx)
    table = r.json()["table"]
    assert table["name"] == "Untitled table", table["name"]
    names = [v["name"] for v in table["views"]]
    assert names[0] == "Default view", names
    kinds = {v["typeSettings"].get("preconfiguredType") for v in table["views"]}
    assert {"errored-rows", "fully-enriched-rows", "all-rows"} <= kinds, kinds


async def _no_views(r: httpx.Response, ctx: Ctx) -> None:
    table = table_obj(r.json()["table"])
    assert [v["name"] for v in table["views"]] == ["Default view"], table["views"]


async def _basic_source(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    table = table_obj(body["table"])
    source = source_obj(body["source"])
    assert "/v3/sources/webhook/" in source["url"], source["url"]
    kinds = [f["type"] for f in table["fields"]]
    assert "source" in kinds, kinds


async def _table_in_ws(r: httpx.Response, ctx: Ctx) -> None:
    await _table_created(r, ctx)
    assert r.json()["table"]["workspaceId"] == 1


async def _table_read(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    table = table_obj(has(body, "table extraData")["table"])
    assert {await ctx.get("f"), await ctx.get("f2")} <= {f["id"] for f in table["fields"]}


async def _table_patched(r: httpx.Response, ctx: Ctx) -> None:
    table = table_obj(mirrored(r.json(), "table"))
    assert table["name"] == "Renamed", table["name"]
    assert table["tableSettings"].get("custom") == 1, table["tableSettings"]


async def _table_add_source(r: httpx.Response, ctx: Ctx) -> None:
    body = r.json()
    table_obj(mirrored(body, "table"))
    source = source_obj(body["source"])
    assert source["type"] == "webhook" and source["url"], source


async def _field_created(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    again = await ctx.client.post(
        f"/v3/tables/{await ctx.get('t')}/fields", json={"name": f["name"], "type": "text"}
    )
    assert again.status_code == 409, again.text
    error(again.json(), "FieldNameAlreadyExists")


async def _field_patched(r: httpx.Response, ctx: Ctx) -> None:
    f = field_obj(has(r.json(), "field")["field"])
    assert f["name"] == "Full name", f


async def _view_created(r: httpx.Response, ctx: Ctx) -> None:
    v = view_obj(mirrored(r.json(), "view"))
    assert v["name"] == "Mine" and v["limit"] == 1, v
    ctx.ids["gv"] = v["id"]


async def _view_patched(r: httpx.Response, ctx: Ctx) -> None:
    v = view_obj(mirrored(r.json(), "view"))
    assert v["name"] == "Renamed", v


async def _view_read(r: httpx.Response, ctx: Ctx) -> None:
    v = view_obj(mirrored(r.json(), "view"))
    assert v["id"] == await ctx.get("v")


async def _ids(r: httpx.Response, ctx: Ctx) -> None:
    ids = array(has(r.json(), "results")["results"])
    assert ids == ["r_audit", "r_bo"], ids  # view order: insertion


async def _records_added(r: httpx.Response, ctx: Ctx) -> None:
    records = array(has(r.json(), "records")["records"])
    assert len(records) == 2
    for rec in records:
        record_obj(rec)
    f = await ctx.get("f")
    assert records[0]["id"] == "my-own-id", records[0]["id"]
    assert records[0]["cells"][f]["value"] == "Acme", records[0]["cells"]
    prefixed(records[1]["id"], "r_")
    user_cells = {k: c for k, c in records[1]["cells"].items() if k not in SYSTEM_FIELDS}
    assert all(not c["value"] for c in user_cells.values()), records[1]


async def _records_wrapped_cells(r: httpx.Response, ctx: Ctx) -> None:
    records = array(has(r.json(), "records")["records"])
    f = await ctx.get("f")
    assert record_obj(records[0])["cells"][f]["value"] == "Acme", records[0]["cells"]
    got = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/records/{records[0]['id']}")
    assert record_obj(got.json())["cells"][f]["value"] == "Acme", got.json()


async def _records_patched(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "records extraData")
    assert body["extraData"].get("message") == "Record updates enqueued", body["extraData"]
    for rec in array(body["records"]):
        record_obj(rec)
    got = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/records/r_audit")
    assert got.json()["cells"][await ctx.get("f")]["value"] == "Ada L", got.json()


async def _record_read(r: httpx.Response, ctx: Ctx) -> None:
    rec = record_obj(r.json())
    assert rec["id"] == "r_audit" and rec["cells"][await ctx.get("f")]["value"] == "Ada"


def _record_patched(value: str) -> Check:
    async def check(r: httpx.Response, ctx: Ctx) -> None:
        rec = record_obj(r.json())
        assert rec["cells"][await ctx.get("f")]["value"] == value, rec["cells"]

    return check


def _count_after(n: int) -> Check:
    async def check(r: httpx.Response, ctx: Ctx) -> None:
        got = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/count")
        assert got.json()["tableTotalRecordsCount"] == n, got.json()

    return check


async def _bulk_fetch(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "results")["results"])
    assert [record_obj(x)["id"] for x in rows] == ["r_audit"], rows
    empty = await ctx.client.post(
        f"/v3/tables/{await ctx.get('t')}/bulk-fetch-records", json={"recordIds": []}
    )
    assert empty.status_code == 400, empty.text
    error(empty.json(), "BadRequest")


async def _bulk_fetch_external(r: httpx.Response, ctx: Ctx) -> None:
    [rec] = array(has(r.json(), "results")["results"])
    record_obj(rec)
    f = await ctx.get("f")
    has(has(rec, "externalContent")["externalContent"], [f], "record.externalContent")
    has(rec["externalContent"][f], "fullValue status", "record.externalContent.f")


async def _view_records(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "results")["results"])
    assert [record_obj(x)["id"] for x in rows] == ["r_audit"], [x["id"] for x in rows]


async def _count(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "tableTotalRecordsCount count")
    assert body["tableTotalRecordsCount"] == body["count"] == 2, body


async def _run(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "recordCount runMode")
    assert body["recordCount"] == 1 and body["runMode"] == "INDIVIDUAL", body


async def _runstatus(r: httpx.Response, ctx: Ctx) -> None:
    by_field = has(r.json(), "statusCountsByField")["statusCountsByField"]
    assert isinstance(by_field, dict), by_field
    counts = {c["status"]: c["count"] for c in by_field.get(await ctx.get("formula"), [])}
    assert counts.get("SUCCESS") == 2, by_field
    for fid, counts in by_field.items():
        prefixed(fid, "f_")
        for c in array(counts, "status count", fid):
            assert c["status"] in CELL_STATUSES, c


def _sources_array(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(r.json(), where="sources")
    assert rows, "no sources"
    for s in rows:
        source_obj(s)


async def _source(r: httpx.Response, ctx: Ctx) -> None:
    s = source_obj(r.json())
    has(s, "state dataFieldId")
    has(s["state"], "url numSourceRecords", "state")
    assert s["state"]["url"] == s["url"]


async def _success(r: httpx.Response, ctx: Ctx) -> None:
    assert r.json() == {"success": True} or r.json().get("success") is True, r.json()
    got = await ctx.client.get(f"/v3/sources/{await ctx.get('s')}")
    assert got.status_code == 404, got.text


async def _webhook(r: httpx.Response, ctx: Ctx) -> None:
    got = await ctx.client.get(f"/v3/tables/{await ctx.get('st')}/count")
    assert got.json()["tableTotalRecordsCount"] == 1, got.json()


def _members(body: Any) -> None:
    rows = body if isinstance(body, list) else has(body, "users")["users"]
    assert array(rows, "id email name role", "users"), "no users"


def _owners(body: Any) -> None:
    """[ours] ``{"results": [user with role]}``."""
    assert array(has(body, "results")["results"], "id email name role", "results"), "no users"


async def _app_accounts(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(r.json(), ACCOUNT, "app accounts")
    assert [a["id"] for a in rows] == [await ctx.get("aa")], rows
    for a in rows:
        prefixed(a["id"], "aa_")
        assert "credentials" not in a and "secrets" not in a, a


def _integration_type(body: Any) -> None:
    has(body, "id authenticationType authMethods displayMetadata typeSpecific actions integration")
    has(body["typeSpecific"], "validateAuthActionInfo", "typeSpecific")
    has(body["typeSpecific"]["validateAuthActionInfo"], "actionKey actionPackageId")
    array(body["actions"], where="actions")


def _integration(body: Any) -> None:
    """[ours] ``{"integration": {…, actions: [{inputs, outputs, price, auth}]}}``."""
    one = has(body, "integration")["integration"]
    assert array(has(one, "actions")["actions"], where="actions"), "no actions"


def _integrations(body: Any) -> None:
    has(body, "integrations appAccounts")
    array(body["integrations"], where="integrations")
    array(body["appAccounts"], where="appAccounts")


def _workbooks_array(body: Any) -> None:
    assert array(body, where="workbooks"), "no workbooks"
    for w in body:
        workbook_obj(w)


async def _workbook_tables(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(r.json(), where="tables")
    assert [table_obj(t)["id"] for t in rows] == [await ctx.get("t")]


async def _ws_tables(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(has(r.json(), "results")["results"], where="results")
    assert await ctx.get("t") in [table_obj(t, full=False)["id"] for t in rows]


async def _workbook_made(r: httpx.Response, ctx: Ctx) -> None:
    w = workbook_obj(r.json())
    assert w["name"] == "WB", w


async def _workbook_read(r: httpx.Response, ctx: Ctx) -> None:
    w = workbook_obj(r.json())
    assert w["id"] == await ctx.get("wb")


async def _workbook_renamed(r: httpx.Response, ctx: Ctx) -> None:
    assert workbook_obj(r.json())["name"] == "Renamed"


async def _workbook_ordered(r: httpx.Response, ctx: Ctx) -> None:
    w = workbook_obj(r.json())
    rows = array(has(w, "orderedWorkbookTables")["orderedWorkbookTables"], "id name")
    assert [x["id"] for x in rows] == [await ctx.get("t")]


async def _overview(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "nodes edges")
    nodes = array(
        body["nodes"],
        "nodeId name type totalFieldCount creditEstimate tableDetails sendDataFields",
        "nodes",
    )
    assert [n["nodeId"] for n in nodes] == [await ctx.get("t")], nodes
    array(body["edges"], "sourceNodeId targetNodeId type", "edges")


async def _ws_sources(r: httpx.Response, ctx: Ctx) -> None:
    await ctx.get("s")
    again = await ctx.client.request(r.request.method, r.request.url)
    rows = array(again.json(), where="sources")
    assert await ctx.get("s") in [source_obj(s)["id"] for s in rows]


async def _duplicate(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "table oldViewIdToNewViewIdMap oldFieldIdToNewFieldIdMap")
    t = table_obj(body["table"])
    assert t["id"] != await ctx.get("t") and t["workbookId"] == await ctx.get("wb"), t
    count = await ctx.client.get(f"/v3/tables/{t['id']}/count")
    assert count.json()["count"] == 0, "a duplicate has no rows"
    assert await ctx.get("f") in body["oldFieldIdToNewFieldIdMap"]
    assert await ctx.get("v") in body["oldViewIdToNewViewIdMap"]


async def _schema(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "tableSchema exampleRecords")
    f = await ctx.get("f")
    col = has(body["tableSchema"], [f], "tableSchema")[f]
    has(col, "type name dataType", "tableSchema.f")
    assert col["type"] in ("basic", "formula", "action", "source"), col
    rows = array(body["exampleRecords"], where="exampleRecords")
    assert rows and rows[0][f] == "Ada", rows  # flat values
    has(rows[0], "f_created_at f_updated_at", "exampleRecords[0]")


async def _graph(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "nodes edges")
    array(body["nodes"], "nodeId name type field extractedFieldIds", "nodes")
    edges = array(body["edges"], "sourceNodeId targetNodeId type", "edges")
    for e in edges:
        assert e["type"] in ("Input", "ConditionalRun"), e
    f, formula = await ctx.get("f"), await ctx.get("formula")
    assert {"sourceNodeId": f, "targetNodeId": formula, "type": "Input"} in edges, edges


async def _source_schema(r: httpx.Response, ctx: Ctx) -> None:
    """§3.3: a source field's ``children`` are the keys seen in its payloads."""
    schema = has(r.json(), "tableSchema exampleRecords")["tableSchema"]
    sources = [c for c in schema.values() if c["type"] == "source"]
    assert len(sources) == 1, schema
    children = has(sources[0], "children", "source column")["children"]
    has(children, "email", "children")
    has(children["email"], "dataType", "children.email")


async def _export_started(r: httpx.Response, ctx: Ctx) -> None:
    job = has(r.json(), EXPORT)
    prefixed(job["id"], "ej_")
    assert job["status"] in ("ACTIVE", "FINISHED"), job
    if job["status"] == "ACTIVE":
        assert job["recordsExportedCount"] == 0 and job["downloadUrl"] is None, job


async def _export_read(r: httpx.Response, ctx: Ctx) -> None:
    has(r.json(), EXPORT)
    done = await wait_export(ctx.client, await ctx.get("export"))
    assert done["status"] == "FINISHED", done
    has(done, "downloadUrl url recordsExportedCount expiresAt")
    assert done["downloadUrl"].startswith("http"), done["downloadUrl"]
    got = await ctx.anon.get(
        urlsplit(done["downloadUrl"]).path + "?" + urlsplit(done["downloadUrl"]).query
    )
    assert got.status_code == 200 and "Ada" in got.text, got.text[:200]
    missing = await ctx.client.get("/v3/exports/ej_0t00000000000000000")
    assert missing.status_code == 404, missing.text


async def _signed_url(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "url fields")
    has(body["fields"], "key policy signature", "fields")
    url = urlsplit(body["url"])
    up = await ctx.anon.post(
        url.path, data=body["fields"], files={"file": ("a.csv", b"name\nAda\n", "text/csv")}
    )
    assert up.status_code == 204, up.text


async def _import_started(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "id status state")
    has(body["state"], "status", "state")
    prefixed(body["id"], "ij_")


async def _import_read(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "id status state")
    has(body["state"], "status numRowsSoFar", "state")
    assert body["state"]["status"] in ("ACTIVE", "FINISHED", "FAILED"), body
    done = await wait_import(ctx.client, await ctx.get("import"))
    assert done["state"]["status"] == "FINISHED" and done["state"]["numRowsSoFar"] == 1, done


async def _share(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "id tableId viewId sharingType publicId")
    prefixed(body["id"], "share_")


async def _share_by_table(r: httpx.Response, ctx: Ctx) -> None:
    await _share(r, ctx)
    assert r.json()["id"] == await ctx.get("share")
    other = await ctx.client.get(f"/v3/shared-tables/by-table-id/{await ctx.get('st')}")
    assert other.status_code == 404, other.text


async def _fields_array(r: httpx.Response, ctx: Ctx) -> None:
    rows = array(r.json(), where="fields")
    assert {await ctx.get("f"), await ctx.get("f2")} <= {field_obj(f)["id"] for f in rows}


async def _fields_deleted(r: httpx.Response, ctx: Ctx) -> None:
    assert r.json() == {}, r.json()
    got = await ctx.client.get(f"/v3/tables/{await ctx.get('t')}/fields")
    assert await ctx.get("f") not in [f["id"] for f in got.json()]


async def _group_made(r: httpx.Response, ctx: Ctx) -> None:
    body = has(r.json(), "groupId")
    prefixed(body["groupId"], "gr_")
    table = (await ctx.client.get(f"/v3/tables/{await ctx.get('t')}")).json()["table"]
    group = has(table["fieldGroupMap"], [body["groupId"]], "fieldGroupMap")[body["groupId"]]
    _group(group)


def _group(group: Any) -> None:
    has(group, "id name groupDetails", "group")
    array(has(group["groupDetails"], "fields")["fields"], "id isOutputField", "groupDetails.fields")


async def _group_updated(r: httpx.Response, ctx: Ctx) -> None:
    missing = await ctx.client.post(
        await ctx.fill("/v3/tables/{t}/fields/group/{g}"), json={"name": "G"}
    )
    assert missing.status_code == 400, missing.text
    error(missing.json(), "BadRequest", 'Field "fields" - Required')
    table = (await ctx.client.get(f"/v3/tables/{await ctx.get('t')}")).json()["table"]
    group = table["fieldGroupMap"][await ctx.get("g")]
    _group(group)
    assert [f["id"] for f in group["groupDetails"]["fields"]] == [await ctx.get("f2")], group


async def _ungrouped(r: httpx.Response, ctx: Ctx) -> None:
    table = (await ctx.client.get(f"/v3/tables/{await ctx.get('t')}")).json()["table"]
    assert await ctx.get("g") not in table["fieldGroupMap"], table["fieldGroupMap"]
    assert await ctx.get("f") in [f["id"] for f in table["fields"]]
