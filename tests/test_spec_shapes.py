"""Every row of both spec parts, called with the body a real client sends, answers 2xx (or the
error the spec documents) in the shape the spec documents: the keys it names, array or object,
the wrapper and its top-level copy where part 2 §1 asks for both, id prefixes, status names.

One case per row (method and path as the spec writes them), so a failure names the row. Each
case seeds only what its path and body name (``Ctx``), on the freshly reset demo workspace.
``tests/test_coverage.py`` only checks that every row is served; this file checks what a
client reads.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from claystack.server.services import accounts

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, new_table
from .test_exports import wait_export
from .test_imports import upload, wait_import

# -- the keys the spec names for each object ----------------------------------------------

TABLE = (
    "id workspaceId workbookId name description type parentFolderId tableSettings "
    "fieldGroupMap firstViewId fields views ownerId createdAt updatedAt"
).split()
WORKBOOK = (
    "id workspaceId name description parentFolderId settings ownerId createdAt updatedAt deletedAt"
).split()
FIELD = "id tableId name type typeSettings inputFieldIds createdAt updatedAt".split()
VIEW = "id name order fields sort filter limit offset description typeSettings".split()
RECORD = "id tableId cells createdAt updatedAt".split()
SOURCE = (
    "id tableId workspaceId name type typeSettings url hasAuthToken numSourceRecords "
    "sourceSubscriptions createdAt deletedAt"
).split()
FOLDER = "id name workspaceId parentFolderId createdAt".split()
RESOURCE = "resourceType id name parentFolderId ownerId createdAt updatedAt".split()
ACCOUNT = "id name appAccountTypeId workspaceId createdBy createdAt".split()
EXPORT = (
    "id status tableId viewId fileName totalRecordsInViewCount recordsExportedCount "
    "downloadUrl exportType createdAt"
).split()
ACTION = (
    "key actionKey actionPackageId displayName description inputParameterSchema "
    "outputParameterSchema pricing auth"
).split()
REPORT_ROW = "date userId integration tableId fieldId credits runs".split()
SYSTEM_FIELDS = ("f_created_at", "f_updated_at")
CELL_STATUSES = {
    "SUCCESS",
    "SUCCESS_NO_DATA",
    "QUEUED",
    "RUNNING",
    "RETRY",
    "AWAITING_CALLBACK",
    "PENDING",
    "RATE_LIMITED",
    "ERROR_TIMEOUT",
    "ERROR_INVALID_INPUT",
    "ERROR_BLANK_TOKEN",
    "ERROR_RUN_CONDITION_NOT_MET",
    "ERROR_TOO_MANY_RUNS",
    "ERROR_OUT_OF_CREDITS",
    "ERROR_BAD_REQUEST",
    "ERROR",
    "CANCELLED",
}


def has(obj: Any, keys: list[str] | str, where: str = "answer") -> dict[str, Any]:
    """``obj`` is a JSON object carrying every key of ``keys``."""
    names = keys.split() if isinstance(keys, str) else keys
    assert isinstance(obj, dict), f"{where} is not an object: {str(obj)[:300]}"
    missing = [k for k in names if k not in obj]
    assert not missing, f"{where} lacks {missing}; has {sorted(obj)}"
    return obj


def array(obj: Any, keys: list[str] | str = (), where: str = "answer") -> list[Any]:  # type: ignore[assignment]
    """``obj`` is a JSON array whose items carry ``keys``."""
    assert isinstance(obj, list), f"{where} is not an array: {str(obj)[:300]}"
    for i, item in enumerate(obj):
        if keys:
            has(item, keys, f"{where}[{i}]")
    return obj


MINTED = re.compile(r"0t[A-Za-z0-9]{17}")


def prefixed(value: Any, prefix: str, where: str = "id") -> None:
    """``value`` is ``prefix`` + a minted id body (part 1 §3: ``0t`` + 17 base62 chars)."""
    assert isinstance(value, str) and value.startswith(prefix), f"{where} {value!r} ≠ {prefix}…"
    if value not in SYSTEM_FIELDS:
        assert MINTED.fullmatch(value[len(prefix) :]), f"{where} {value!r}: not 0t + 17 base62"


def mirrored(body: Any, name: str) -> dict[str, Any]:
    """Part 2 §1: the object under ``name`` and each of its keys at top level too."""
    inner = has(body, [name])[name]
    assert isinstance(inner, dict), f"{name} is not an object"
    differ = [k for k, v in inner.items() if body.get(k, object()) != v]
    assert not differ, f"top level lacks or differs on {differ} of {name}"
    return inner


def table_obj(t: Any, *, full: bool = True, where: str = "table") -> dict[str, Any]:
    has(t, TABLE if full else "id workspaceId workbookId name type firstViewId", where)
    prefixed(t["id"], "t_", f"{where}.id")
    assert t["type"] == "spreadsheet", t["type"]
    if full:
        has(t["tableSettings"], "AUTO_RUN_ON", f"{where}.tableSettings")
        array(t["fields"], FIELD, f"{where}.fields")
        for v in array(t["views"], VIEW, f"{where}.views"):
            view_obj(v)
        assert t["firstViewId"] == t["views"][0]["id"], "firstViewId is not the first view"
    else:
        assert "fields" not in t and "views" not in t, f"{where} lists fields or views"
    return t


def view_obj(v: Any, where: str = "view") -> dict[str, Any]:
    has(v, VIEW, where)
    prefixed(v["id"], "gv_", f"{where}.id")
    for fid, settings in v["fields"].items():
        has(settings, "order isVisible width isPinned", f"{where}.fields.{fid}")
        assert isinstance(settings["order"], str), f"{where}.fields.{fid}.order is not a string"
    return v


def field_obj(f: Any, where: str = "field") -> dict[str, Any]:
    has(f, FIELD, where)
    prefixed(f["id"], "f_", f"{where}.id")
    return f


def record_obj(r: Any, where: str = "record") -> dict[str, Any]:
    has(r, RECORD, where)
    for fid, cell in r["cells"].items():
        has(cell, "value metadata", f"{where}.cells.{fid}")
        assert isinstance(cell["metadata"], dict), f"{where}.cells.{fid}.metadata"
        status = cell["metadata"].get("status")
        assert status is None or status in CELL_STATUSES, status
    return r


def workbook_obj(w: Any, where: str = "workbook") -> dict[str, Any]:
    has(w, WORKBOOK, where)
    prefixed(w["id"], "wb_", f"{where}.id")
    has(w["settings"], "isAutoRun", f"{where}.settings")
    return w


def source_obj(s: Any, where: str = "source") -> dict[str, Any]:
    has(s, SOURCE, where)
    prefixed(s["id"], "s_", f"{where}.id")
    return s


def report(body: Any) -> None:
    """[ours] credit report: totals, time range, rows of {date, userId, integration, …}."""
    has(body, "totals timeRange rows")
    array(body["rows"], REPORT_ROW, "rows")


def error(body: Any, kind: str, message: str = "") -> None:
    has(body, "type message", "error")
    assert body["type"] == kind, body
    assert message in body["message"], body


# -- what a case may seed, built on demand -------------------------------------------------


@dataclass
class Ctx:
    """The ids a row's path and body name, created the first time one is asked for."""

    app: FastAPI
    client: httpx.AsyncClient
    anon: httpx.AsyncClient
    ids: dict[str, Any] = field(default_factory=dict)

    async def get(self, key: str) -> Any:
        if key not in self.ids:
            await getattr(self, "_make_" + key.split(".")[0])()
        return self.ids[key]

    async def _make_ws(self) -> None:
        self.ids["ws"] = "1"

    async def _make_t(self) -> None:
        table = await new_table(self.client, "Audit", fields=("name", "domain"))
        t, name, domain = table["id"], table["byName"]["name"], table["byName"]["domain"]
        r = await self.client.post(
            f"/v3/tables/{t}/records",
            json={
                "records": [
                    {"id": "r_audit", "cells": {name: "Ada", domain: "acme.com"}},
                    {"id": "r_bo", "cells": {name: "Bo"}},
                ]
            },
        )
        assert r.status_code == 200, r.text
        self.ids.update(
            t=t, f=name, f2=domain, v=table["firstViewId"], r="r_audit", wb=table["workbookId"]
        )

    _make_f = _make_f2 = _make_v = _make_r = _make_wb = _make_t

    async def _make_gv(self) -> None:  # a view of our own (deletable)
        t = await self.get("t")
        r = await self.client.post(f"/v3/tables/{t}/views", json={"name": "Mine"})
        assert r.status_code == 200, r.text
        self.ids["gv"] = r.json()["view"]["id"]

    async def _make_g(self) -> None:
        t, f = await self.get("t"), await self.get("f")
        r = await self.client.post(f"/v3/tables/{t}/fields/group", json={"fieldIds": [f]})
        assert r.status_code == 200, r.text
        self.ids["g"] = r.json()["groupId"]

    async def _make_s(self) -> None:
        r = await self.client.post(
            "/v3/tables", json={"workspaceId": 1, "template": "basic_source"}
        )
        assert r.status_code == 200, r.text
        source = r.json()["source"]
        self.ids.update(s=source["id"], st=source["tableId"], hook=source["url"].rsplit("/", 1)[1])

    _make_st = _make_hook = _make_s

    async def _make_folder(self) -> None:
        r = await self.client.post("/v3/workspaces/1/folders", json={"name": "F"})
        assert r.status_code == 200, r.text
        self.ids["folder"] = r.json()["id"]

    async def _make_export(self) -> None:
        t = await self.get("t")
        r = await self.client.post(f"/v3/tables/{t}/export", json={})
        assert r.status_code == 200, r.text
        self.ids["export"] = r.json()["id"]

    async def _make_key(self) -> None:
        self.ids["key"] = await upload(self.client, self.anon, b"name\nAda\n")

    async def _make_import(self) -> None:
        r = await self.client.post("/v3/imports", json=await import_body(self))
        assert r.status_code == 200, r.text
        self.ids["import"] = r.json()["id"]

    async def _make_aa(self) -> None:
        r = await self.client.post(
            "/v3/workspaces/1/app-accounts",
            json={"appAccountTypeId": "use-ai", "name": "AI", "credentials": {"model": "m"}},
        )
        assert r.status_code == 200, r.text
        self.ids["aa"] = r.json()["appAccount"]["id"]

    async def _make_share(self) -> None:
        t = await self.get("t")
        r = await self.client.post("/v3/shared-tables", json={"tableId": t})
        assert r.status_code == 200, r.text
        self.ids["share"] = r.json()["id"]

    async def _make_user(self) -> None:
        self.ids["user"] = str((await self.client.get("/v3/me")).json()["id"])

    async def _make_fn(self) -> None:  # a function table (part 2 §8)
        settings = {"BLOCK_TYPE": "SUBROUTINE", "SUBROUTINE_INPUTS": [{"inputName": "domain"}]}
        r = await self.client.post(
            "/v3/tables", json={"name": "Clean", "workspaceId": 1, "tableSettings": settings}
        )
        assert r.status_code == 200, r.text
        self.ids["fn"] = r.json()["table"]["id"]

    async def _make_otherws(self) -> None:  # a second workspace the demo user owns
        async with self.app.state.db.transaction(write=True) as conn:
            ws = await accounts.create_workspace(
                conn, name="Second", owner_id=int(await self.get("user")), credits=10
            )
        self.ids["otherws"] = str(ws)

    async def _make_pv(self) -> None:  # a preconfigured view (part 2 §5.1) of table t
        table = (await self.client.get(f"/v3/tables/{await self.get('t')}")).json()["table"]
        kinds = {v["typeSettings"].get("preconfiguredType"): v["id"] for v in table["views"]}
        assert "errored-rows" in kinds, kinds
        self.ids["pv"] = kinds["errored-rows"]

    async def _make_formula(self) -> None:  # a formula column over f, computed on every row
        t, f = await self.get("t"), await self.get("f")
        body = {"name": "Upper", "type": "formula", "typeSettings": {"formulaText": f"{{{{{f}}}}}"}}
        r = await self.client.post(f"/v3/tables/{t}/fields", json=body)
        assert r.status_code == 200, r.text
        self.ids["formula"] = fid = r.json()["field"]["id"]
        await wait_cell(self.client, f"/v3/tables/{t}/records/r_audit", fid)

    async def _make_act(self) -> None:  # an http-api-v2 action column, by Clay's package id
        body = {
            "name": "Call",
            "type": "action",
            "typeSettings": {
                "actionKey": "http-api-v2",
                "actionPackageId": HTTP,
                "inputsBinding": [{"name": "url", "formulaText": '"http://127.0.0.1:9/"'}],
            },
        }
        r = await self.client.post(f"/v3/tables/{await self.get('t')}/fields", json=body)
        assert r.status_code == 200, r.text
        self.ids["act"] = r.json()["field"]["id"]

    async def _make_sv(self) -> None:  # the source table's default view
        table = (await self.client.get(f"/v3/tables/{await self.get('st')}")).json()["table"]
        self.ids["sv"] = table["firstViewId"]

    async def _make_payload(self) -> None:  # one webhook payload into the source table
        hook = f"/v3/sources/webhook/{await self.get('hook')}"
        r = await self.anon.post(hook, json={"email": "ada@acme.com", "name": "Ada"})
        assert r.status_code == 200, r.text
        self.ids["payload"] = r.json().get("recordId")

    async def _make_tool(self) -> None:
        r = await self.client.post("/v3/workspaces/1/tools", json={"tableId": await self.get("fn")})
        assert r.status_code == 200, r.text
        self.ids["tool"] = r.json()["id"]

    async def _make_preset(self) -> None:
        body = {
            "name": "Find email",
            "type": "action",
            "category": "email",
            "actionKey": "http-api-v2",
            "actionPackageId": HTTP,
            "preset": {"inputsBinding": {"url": "{{Input_1}}"}},
        }
        r = await self.client.post("/v3/presets", json=body)
        assert r.status_code == 200, r.text
        self.ids["preset"] = r.json()["id"]

    async def _make_token(self) -> None:
        self.ids["token"] = (await self.client.get("/v3/me")).json()["apiToken"]

    async def _make_wb2(self) -> None:
        r = await self.client.post("/v3/workbooks", json={"name": "Other", "workspaceId": 1})
        assert r.status_code == 200, r.text
        self.ids["wb2"] = r.json()["id"]

    async def _make_buffered(self) -> None:  # a POST /v3/sources source holding one payload
        body = {"workspaceId": 1, "name": "Inbound", "type": "webhook", "typeSettings": {}}
        r = await self.client.post("/v3/sources", json=body)
        assert r.status_code == 200, r.text
        source = r.json()["source"]
        hook = await self.anon.post(urlsplit(source["url"]).path, json={"email": "a@b.c"})
        assert hook.status_code == 200, hook.text
        self.ids["buffered"] = source["id"]

    async def _make_newr(self) -> None:
        self.ids["newr"] = "r_1700000000000"  # the UI's client-minted id

    async def _make_signal(self) -> None:
        self.ids["signal"] = "sig_0t00000000000000000"

    async def _make_type(self) -> None:
        self.ids["type"] = "use-ai"

    async def fill(self, text: str) -> str:
        """``{t}`` → the id; ``{{@f}}`` → ``{{<the id>}}`` (a formula's reference)."""
        for name in re.findall(r"\{\{@(\w+)\}\}", text):
            text = text.replace("{{@" + name + "}}", "{{" + str(await self.get(name)) + "}}")
        for name in re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text):
            text = text.replace("{" + name + "}", str(await self.get(name)))
        return text

    async def fill_body(self, body: Any) -> Any:
        """Placeholders ``"{t}"`` in a body's strings (and keys) become the ids."""
        if isinstance(body, str):
            return await self.fill(body)
        if isinstance(body, list):
            return [await self.fill_body(b) for b in body]
        if isinstance(body, dict):
            return {await self.fill(k): await self.fill_body(v) for k, v in body.items()}
        return body


async def import_body(ctx: Ctx) -> dict[str, Any]:
    return await ctx.fill_body(
        {
            "workspaceId": 1,
            "config": {
                "source": {
                    "type": "S3_CSV",
                    "key": "{key}",
                    "filename": "a.csv",
                    "hasHeader": True,
                    "fieldDelimiter": ",",
                },
                "destination": {"type": "TABLE", "tableId": "{t}"},
                "map": {"{f}": "{{name}}"},
                "isImportWithoutRun": True,
            },
        }
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


async def wait_cell(client: httpx.AsyncClient, url: str, fid: str) -> dict[str, Any]:
    """The cell once no longer in flight (the formula sweep is asynchronous: polled, as the
    export jobs are)."""
    deadline = time.monotonic() + 30
    while True:
        cell: dict[str, Any] = (await client.get(url)).json()["cells"].get(fid) or {}
        if cell.get("metadata", {}).get("status") not in (None, "QUEUED", "RUNNING", "PENDING"):
            return cell
        assert time.monotonic() < deadline, cell
        await asyncio.sleep(0.02)


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


HTTP = "4299091f-3cd3-4d68-b198-0143575f471d"
RUN_BODY = {"fieldIds": ["{f}"], "runRecords": {"recordIds": ["r_audit"]}, "callerName": "sdk"}
ADD_SOURCE = {
    "tableSettings": {},
    "fieldGroupMap": {},
    "sourceSettings": {
        "addSource": {
            "name": "Webhook",
            "source": {
                "name": "Webhook",
                "workspaceId": 1,
                "type": "webhook",
                "typeSettings": {"urlSlugText": "Pull in data from a Webhook"},
            },
        }
    },
}
WS = "/v3/workspaces/{ws}"

ROWS: list[Row] = [
    # part 1 — auth and identity
    Row(
        "POST",
        "/v3/auth/login",
        {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "source": "web"},
        _login,
    ),
    Row("POST", "/v3/auth/logout", None, _logout),
    Row("GET", "/v3/me", check=ok_json(lambda b: has(b, "id email name apiToken"))),
    Row(
        "POST",
        "/v3/auth/login (bad credentials)",
        {"email": DEMO_EMAIL, "password": "wrong"},
        _errored("Unauthorized"),
        status=401,
        anon=True,
    ),
    Row("GET", "/v3/me (no session)", check=_unauthorized, status=401, anon=True),
    Row(
        "GET",
        "/v3/me (Bearer apiToken)",
        check=_bearer,
        anon=True,
        headers=(("authorization", "Bearer {token}"),),
    ),
    Row("GET", "/v3/no-such-route", check=_errored("NoMatchingURL", "Invalid URL"), status=404),
    # workspaces, folders, resources, workbooks
    Row(
        "GET",
        "/v3/my-workspaces",
        check=ok_json(lambda b: array(has(b, "results")["results"], "id name", "results")),
    ),
    Row(
        "GET",
        "/v3/workspaces/{ws}",
        check=ok_json(lambda b: has(has(b, "workspace")["workspace"], "id name credits")),
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/folders",
        {"name": "Leads", "parentFolderId": None},
        ok_json(lambda b: prefixed(has(b, FOLDER)["id"], "fo_")),
    ),
    Row("DELETE", "/v3/folders/{folder}", check=_folder_gone),
    Row(
        "DELETE",
        "/v3/workspaces/{ws}/resources/",
        {"folderIds": [], "workbookIds": [], "tableIds": ["{t}"], "isPermanentDelete": False},
        gone("/v3/tables/{t}"),
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2/",
        {"parentResource": None, "filters": {"resourceTypes": ["WORKBOOK", "TABLE"]}},
        _resources,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2/ (resourceTypes, isGlobalSearch)",
        {"resourceTypes": ["TABLE"], "isGlobalSearch": True},
        _global_search,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2 (no trailing slash)",
        {"parentResource": None, "filters": {}},
        _resources,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources/search",
        {"query": "Audit"},
        _global_search,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workbooks",
        {"name": "WB", "workspaceId": 1, "settings": {"isAutoRun": True}},
        _workbook_made,
    ),
    Row("DELETE", "/v3/workbooks/{wb}", check=gone("/v3/tables/{t}")),
    Row("GET", "/v3/workspaces/{ws}/workbooks", check=ok_json(_workbooks_array), needs="wb"),
    Row("GET", "/v3/workbooks/{wb}/tables", check=_workbook_tables),
    # tables, fields, views
    Row("POST", "/v3/tables", {"name": "Leads", "workspaceId": 1}, _table_created),
    Row(
        "POST", "/v3/tables (no name, basic)", {"workspaceId": "1", "template": "basic"}, _untitled
    ),
    Row("POST", "/v3/tables (no_views)", {"workspaceId": 1, "template": "no_views"}, _no_views),
    Row(
        "POST",
        "/v3/tables (basic_source)",
        {"workspaceId": 1, "template": "basic_source", "callerName": "x"},
        _basic_source,
    ),
    Row("GET", "/v3/tables/{t}", check=_table_read),
    Row(
        "PATCH",
        "/v3/tables/{t}",
        {"name": "Renamed", "tableSettings": {"custom": 1}},
        _table_patched,
    ),
    Row("PATCH", "/v3/tables/{t} (addSource)", ADD_SOURCE, _table_add_source),
    Row("PATCH", "/v3/tables/{t} (workbookId: move)", {"workbookId": "{wb2}"}, _moved),
    Row("DELETE", "/v3/tables/{t}", check=gone("/v3/tables/{t}")),
    Row(
        "POST",
        "/v3/tables/{t}/fields",
        {"name": "Title", "type": "text", "typeSettings": {}},
        _field_created,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (action, Clay package id)",
        {
            "name": "Call",
            "type": "action",
            "typeSettings": {
                "actionKey": "http-api-v2",
                "actionPackageId": HTTP,
                "inputsBinding": [
                    {"name": "url", "formulaText": '"http://127.0.0.1:9/" + {{@f}}'},
                    {"name": "method", "formulaText": '"GET"'},
                    {"name": "headers", "formulaMap": {"X-A": '"1"'}},
                    {"name": "body", "optional": True},
                    {"name": "retryOptions|maxRetries", "formulaText": "2"},
                    {"name": "followRedirects", "formulaText": "true"},
                    {"name": "returnResponseMetadata", "formulaText": "false"},
                    {"name": "queryString"},
                ],
                "dataTypeSettings": {"type": "json"},
            },
        },
        _action_field,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (text with formulaText)",
        {
            "name": "Upper",
            "type": "text",
            "typeSettings": {
                "formulaText": "({{@f}} || '').toUpperCase()",
                "formulaType": "text",
                "dataTypeSettings": {"type": "text"},
            },
        },
        _formula_field,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (formula without a formula)",
        {"name": "Later", "type": "formula", "typeSettings": {}},
        _empty_formula,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (unknown action)",
        {
            "name": "Mystery",
            "type": "action",
            "typeSettings": {
                "actionKey": "enrich-person-with-mixrank-v2",
                "actionPackageId": "e251a70e-46d7-4f3a-b3ef-a211ad3d8bd2",
                "inputsBinding": [{"name": "linkedinUrl", "formulaText": "{{@f}}"}],
            },
        },
        _unknown_action,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (actionKey ai)",
        {
            "name": "Summary",
            "type": "action",
            "typeSettings": {
                "actionKey": "ai",
                "actionPackageId": "67ba01e9-1898-4e7d-afe7-7ebe24819a57",
                "inputsBinding": [
                    {"name": "prompt", "formulaText": '"Summarise " + {{@f}}'},
                    {"name": "useCase", "formulaText": '"use-ai"'},
                ],
            },
        },
        _ai_alias,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (source field subscribing)",
        {
            "name": "Inbound",
            "type": "source",
            "typeSettings": {"sourceIds": ["{buffered}"], "canCreateRecords": True},
        },
        _subscribed,
    ),
    Row("PATCH", "/v3/tables/{t}/fields/{f}", {"name": "Full name"}, _field_patched),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{formula} (no formulaType: keeps the formula)",
        {"typeSettings": {"formulaText": '{{@f}} + "?"'}},
        _still_formula,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (formulaText, no dataTypeSettings)",
        {"name": "Shout", "type": "text", "typeSettings": {"formulaText": '{{@f}} + "!"'}},
        _formula_shout,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{act} (changing actionKey)",
        {
            "typeSettings": {
                "actionKey": "normalize-domain",
                "actionPackageId": HTTP,
                "inputsBinding": [{"name": "domain", "formulaText": "{{@f}}"}],
            }
        },
        _errored("BadRequest"),
        status=400,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{f2} (text to formula)",
        {
            "typeSettings": {
                "formulaText": '{{@f}} + "!"',
                "formulaType": "text",
                "dataTypeSettings": {"type": "text"},
            }
        },
        _patched_to_formula,
    ),
    Row("DELETE", "/v3/tables/{t}/fields/{f}", check=None),
    Row("POST", "/v3/tables/{t}/views", {"name": "Mine", "limit": 1}, _view_created),
    Row("GET", "/v3/tables/{t}/views/{v}", check=_view_read),
    Row("PATCH", "/v3/tables/{t}/views/{gv}", {"name": "Renamed"}, _view_patched),
    Row("DELETE", "/v3/tables/{t}/views/{gv}", check=None),
    Row(
        "DELETE",
        "/v3/tables/{t}/views/{pv} (preconfigured: undeletable)",
        check=_errored("BadRequest"),
        status=400,
    ),
    # records
    Row("GET", "/v3/tables/{t}/views/{v}/records/ids", check=_ids),
    Row(
        "POST",
        "/v3/tables/{t}/records",
        {"records": [{"id": "my-own-id", "cells": {"{f}": "Acme", "f_unknown": 1}}, {"cells": {}}]},
        _records_added,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/records (wrapped cell values)",
        {"records": [{"cells": {"{f}": {"value": "Acme", "metadata": {"status": "SUCCESS"}}}}]},
        _records_wrapped_cells,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/records (form-encoded)",
        {"records": [{"id": "my-own-id", "cells": {"{f}": "Acme"}}, {"cells": {}}]},
        _records_added,
        form=True,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/records",
        {"records": [{"id": "r_audit", "cells": {"{f}": "Ada L"}}]},
        _records_patched,
    ),
    Row("GET", "/v3/tables/{t}/records/{r}", check=_record_read),
    Row("PATCH", "/v3/tables/{t}/records/{r}", {"cells": {"{f}": "Ann"}}, _record_patched("Ann")),
    Row("PATCH", "/v3/tables/{t}/records/{r} (flat)", {"{f}": "Flat"}, _record_patched("Flat")),
    Row(
        "PATCH",
        "/v3/tables/{t}/records/{r} (wrapped cell value)",
        {"cells": {"{f}": {"value": "Wrapped", "metadata": {"status": "SUCCESS"}}}},
        _record_patched("Wrapped"),
    ),
    Row("DELETE", "/v3/tables/{t}/records/{r}", check=_count_after(1)),
    Row("DELETE", "/v3/tables/{t}/records", None, _count_after(0)),
    Row("DELETE", "/v3/tables/{t}/records (recordIds)", {"recordIds": ["{r}"]}, _count_after(1)),
    Row(
        "DELETE",
        "/v3/tables/{t}/records (deleteAll, form)",
        {"deleteAll": True, "viewId": "{v}", "omitDeletingRecordIds": ["{r}"]},
        _count_after(1),
        form=True,
    ),
    Row(
        "DELETE",
        "/v3/tables/{t}/records (deleteAll, empty recordIds)",
        {"deleteAll": True, "viewId": "{v}", "recordIds": []},
        _count_after(0),
    ),
    Row("POST", "/v3/tables/{t}/bulk-fetch-records", {"recordIds": ["{r}"]}, _bulk_fetch),
    Row(
        "POST",
        "/v3/tables/{t}/bulk-fetch-records (externalContent)",
        {"recordIds": ["{r}"], "fieldIds": ["{f}"], "includeExternalContentFieldIds": ["{f}"]},
        _bulk_fetch_external,
    ),
    Row("GET", "/v3/tables/{t}/views/{v}/records?limit=1&offset=0", check=_view_records),
    Row("GET", "/v3/tables/{t}/count", check=_count),
    # running
    Row("PATCH", "/v3/tables/{t}/run", RUN_BODY, _run),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (viewIdTopRecords)",
        {
            "fieldIds": ["{f}"],
            "runRecords": {"viewIdTopRecords": {"viewId": "{v}", "numRecords": 1}},
        },
        _run,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (recordIds, tableId, flags)",
        {
            "fieldIds": ["{f}"],
            "runRecords": {"recordIds": ["r_audit"], "tableId": "{t}"},
            "forceRun": True,
            "skipActionFieldRuns": False,
            "skipTriggerSetting": True,
        },
        _run,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (no runRecords)",
        {"fieldIds": ["{f}"]},
        _errored("BadRequest", "runRecords"),
        status=400,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (no fieldIds)",
        {"runRecords": {"recordIds": ["r_audit"]}},
        _errored("BadRequest", 'Field "fieldIds" - Required'),
        status=400,
    ),
    Row(
        "GET",
        "/v3/workspaces/{ws}/tables/{t}/fields/runstatus",
        check=_runstatus,
        needs="formula",
    ),
    # sources and webhooks
    Row("GET", "/v3/tables/{st}/sources", check=_sources_array),
    Row("GET", "/v3/sources?tableId={st}", check=_sources_array),
    Row("GET", "/v3/sources/{s}", check=_source),
    Row("DELETE", "/v3/tables/{st}/sources/{s}", {"deleteRecords": False}, _success),
    Row("DELETE", "/v3/sources/{s}", {"deleteRecords": True}, _success),
    Row("POST", "/v3/sources/webhook/{hook}", {"email": "a@b.c"}, _webhook),
    # credits, owners, integrations
    Row("GET", "/v3/owners", check=ok_json(_owners)),
    Row("GET", "/v3/workspaces/{ws}/permissions", check=ok_json(_owners)),
    Row("GET", "/v3/users/{user}/credits", check=ok_json(report)),
    Row("POST", "/v3/users/{user}/resources", {}, _resources, needs="t"),
    Row("GET", "/v3/workspaces/{ws}/credits", check=ok_json(report)),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/workspace"
        "?timeRange[startTime]=2026-01-01T00:00:00Z&timeRange[endTime]=2027-01-01T00:00:00Z",
        check=ok_json(report),
    ),
    Row("GET", "/v3/integrations", check=ok_json(_integrations)),
    Row("GET", "/v3/workspaces/{ws}/app-accounts", check=_app_accounts, needs="aa"),
    Row(
        "GET",
        "/v3/integrations/{type}",
        check=ok_json(_integration),
    ),
    Row("GET", "/v3/app-accounts/type/{type}", check=ok_json(_integration_type)),
    Row("GET", "/v3/app-accounts/type/{type}?workspaceId={ws}", check=ok_json(_integration_type)),
    Row("GET", "/v3/integrations/{type}/credits", check=ok_json(report)),
    Row("GET", "/v3/integrations/{type}/credits/report", check=ok_json(report)),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/integration"
        "?timeRange[startTime]=2026-01-01T00:00:00Z&timeRange[endTime]=2027-01-01T00:00:00Z",
        check=ok_json(report),
    ),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/workspace?integrations[0]=use-ai",
        check=ok_json(report),
    ),
    # part 2 §2 — workspace-scoped aliases
    Row(
        "GET",
        "/v3/workspaces",
        check=ok_json(lambda b: array(has(b, "results")["results"], "id name", "results")),
    ),
    Row(
        "POST",
        WS + "/tables",
        {"name": "Leads", "workspaceId": 99},
        _table_in_ws,
    ),
    Row("GET", WS + "/tables?parentFolderId=", check=_ws_tables_no_functions, needs="t fn"),
    Row("GET", WS + "/tables/{t}", check=_table_read),
    Row(
        "PATCH",
        WS + "/tables/{t}",
        {"name": "Renamed", "tableSettings": {"custom": 1}},
        _table_patched,
    ),
    Row("DELETE", WS + "/tables/{t}", check=gone("/v3/tables/{t}")),
    Row("GET", WS + "/tables/{t}/details", check=_table_read),
    Row(
        "GET",
        "/v3/workspaces/{otherws}/tables/{t}/count (a {ws} that does not own it)",
        check=_errored("NotFound"),
        status=404,
    ),
    Row("GET", WS + "/tables/{t}/count", check=_count),
    Row("GET", WS + "/tables/{t}/fields", check=_fields_array),
    Row("POST", WS + "/tables/{t}/fields", {"name": "Title", "type": "text"}, _field_created),
    Row("PATCH", WS + "/tables/{t}/fields/{f}", {"name": "Full name"}, _field_patched),
    Row("DELETE", WS + "/tables/{t}/fields/{f}"),
    Row(
        "POST",
        WS + "/tables/{t}/records",
        {"records": [{"id": "my-own-id", "cells": {"{f}": "Acme"}}, {"cells": {}}]},
        _records_added,
    ),
    Row(
        "PATCH",
        WS + "/tables/{t}/records",
        {"records": [{"id": "r_audit", "cells": {"{f}": "Ada L"}}]},
        _records_patched,
    ),
    Row("DELETE", WS + "/tables/{t}/records", {"recordIds": ["{r}"]}, _count_after(1)),
    Row("POST", WS + "/tables/{t}/bulk-fetch-records", {"recordIds": ["{r}"]}, _bulk_fetch),
    Row("GET", WS + "/tables/{t}/views/{v}/records/ids", check=_ids),
    Row("GET", WS + "/tables/{t}/views/{v}/table-schema-v2", check=_schema),
    Row("PATCH", WS + "/tables/{t}/run", RUN_BODY, _run),
    Row("POST", WS + "/workbooks", {"name": "WB"}, _workbook_made),
    Row("GET", WS + "/workbooks/{wb}", check=_workbook_read),
    Row("PATCH", WS + "/workbooks/{wb}", {"name": "Renamed"}, _workbook_renamed),
    Row("GET", WS + "/workbooks/{wb}/tables", check=_workbook_tables),
    Row("GET", WS + "/workbooks/{wb}/overview", check=_overview),
    Row("GET", "/v3/{ws}/workbooks/{wb}/overview", check=_overview),
    Row("GET", "/v3/{ws}/workbooks/{wb}", check=_workbook_ordered),
    Row("GET", WS + "/sources", check=_ws_sources),
    Row("GET", "/v3/sources?workspaceId={ws}", check=_ws_sources),
    # §3 tables
    Row("POST", "/v3/tables/{t}/duplicate", {}, _duplicate),
    Row("POST", "/v3/tables/{t}/duplicate/", {}, _duplicate),
    Row("GET", "/v3/tables/{t}/views/{v}/table-schema-v2", check=_schema),
    Row("GET", "/v3/tables/{t}/graph", check=_graph, needs="formula"),
    Row(
        "GET",
        "/v3/tables/{st}/views/{sv}/table-schema-v2 (source field children)",
        check=_source_schema,
        needs="payload",
    ),
    Row("POST", "/v3/tables/{t}/export", None, _export_started),
    Row("POST", "/v3/tables/{t}/views/{v}/export", {}, _export_started),
    Row("GET", "/v3/exports/{export}", check=_export_read),
    Row("GET", "/v3/exports/{export}?download=true", check=_export_read),
    Row(
        "POST",
        "/v3/imports/signed-s3-post-url",
        {"filename": "a.csv", "uploadMode": "import"},
        _signed_url,
    ),
    Row("POST", "/v3/imports", "import-body", _import_started),
    Row("GET", "/v3/imports/{import}", check=_import_read),
    Row("POST", "/v3/shared-tables", {"tableId": "{t}"}, _share),
    Row(
        "PATCH",
        "/v3/shared-tables/{share}",
        {
            "sharingType": "PUBLIC",
            "viewId": "{v}",
            "sharedUserEmails": [],
            "shouldResetPublicId": True,
        },
        _share,
    ),
    Row("GET", "/v3/shared-tables/by-table-id/{t}", check=_share_by_table, needs="share"),
    # §4 fields
    Row("GET", "/v3/tables/{t}/fields", check=_fields_array),
    Row("DELETE", "/v3/tables/{t}/fields", {"fieldIds": ["{f}"]}, _fields_deleted),
    Row("POST", "/v3/tables/{t}/fields/group", {"fieldIds": ["{f}"], "name": "G"}, _group_made),
    Row(
        "POST",
        "/v3/tables/{t}/fields/group/{g}",
        {"name": "G2", "fields": [{"id": "{f2}", "isOutputField": True}]},
        _group_updated,
    ),
    Row("DELETE", "/v3/tables/{t}/fields/group/{g}", {"deleteFields": False}, _ungrouped),
    Row(
        "DELETE",
        "/v3/tables/{t}/fields/group/{g} (deleteFields)",
        {"deleteFields": True},
        _group_deleted,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/waterfall/v2",
        {
            "waterfallFieldName": "Email",
            "waterfallGroupName": "Find email",
            "runAsButton": True,
            "hideFromViews": True,
            "waterfallConfigs": [
                {
                    "actionKey": "http-api-v2",
                    "actionPackageId": HTTP,
                    "inputsBinding": [{"name": "url", "formulaText": '"http://127.0.0.1:9/"'}],
                    "attributePath": "email",
                    "name": "Step 1",
                }
            ],
        },
        _waterfall,
    ),
    # §5 views
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/filter",
        {"combinationMode": "AND", "items": [{"fieldId": "{f}", "type": "CONTAIN", "value": "ad"}]},
        _view_ids(["r_audit"]),
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/filter (NOT_EMPTY on domain)",
        {"combinationMode": "OR", "items": [{"fieldId": "{f2}", "type": "NOT_EMPTY"}]},
        _view_ids(["r_audit"]),
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/sort",
        {"items": [{"fieldId": "{f}", "direction": "DESC"}]},
        _view_ids(["r_bo", "r_audit"]),
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/fields",
        {"{f}": {"isVisible": False, "width": 120}},
        _view_field_hidden,
    ),
    Row("PATCH", "/v3/tables/{t}/views/{v}/fields/{f}", {"isVisible": False}, _view_field_hidden),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/fields/{f} (move)",
        {"afterFieldId": "{f2}"},
        _reordered,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/reorder-fields",
        {"fieldIds": ["{f2}"], "beforeFieldId": "{f}"},
        _reordered,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/group/{g}",
        {"groupId": "{g}", "afterFieldId": "{f2}"},
        _view_answer(),
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/views/{v}/reorder-fields (not adjacent)",
        {"fieldIds": ["f_created_at", "{f2}"], "afterFieldId": "{f}"},
        _errored("BadRequest", "Fields are not adjacent in the view."),
        status=400,
    ),
    Row("POST", "/v3/tables/{t}/views/{v}/duplicate", {}, _view_copy),
    Row("POST", "/v3/tables/{t}/views/{v}/duplicate (no body)", None, _view_copy),
    Row("POST", "/v3/tables/{t}/views/{v}/search", {"searchTerm": "ADA"}, _search),
    # §6 records
    Row("POST", "/v3/tables/{t}/records/{newr}", {}, _record_made),
    Row("GET", "/v3/tables/{t}/fieldrun", check=_runstatus, needs="formula"),
    # §7 catalog and accounts
    Row("GET", "/v3/actions?workspaceId={ws}", check=_catalog),
    Row("GET", "/v3/actions", check=_catalog),
    Row(
        "POST",
        "/v3/enrichment-search/{ws}/query",
        {"userQuery": "http", "limit": 5},
        _enrichment_search,
    ),
    Row(
        "POST",
        WS + "/enrichment-search/query-v2",
        {"userQuery": "http", "types": ["action"]},
        _enrichment_search,
    ),
    Row(
        "POST",
        WS + "/actions/dynamicFields",
        {
            "dynamicRequests": [
                {
                    "actionKey": "use-ai",
                    "actionPackageId": "67ba01e9-1898-4e7d-afe7-7ebe24819a57",
                    "authAccountId": None,
                    "parameterPath": "model",
                    "type": "enum",
                    "inputs": {},
                }
            ]
        },
        ok_json(_dynamic),
    ),
    Row("GET", "/v3/app-accounts/types", check=ok_json(_account_types)),
    Row("GET", WS + "/app-accounts/accounts/{aa}", check=_account),
    Row("GET", WS + "/app-accounts/accounts/type/{type}", check=_accounts_of_type, needs="aa"),
    Row(
        "POST",
        "/v3/app-accounts/{type}/validate-auth",
        {"authMethod": {"type": "app-account-id", "appAccountId": "{aa}"}},
        ok_json(_validate),
    ),
    Row(
        "GET",
        "/v3/presets/workspace/{ws}/categories",
        check=ok_json(_strings),
        needs="preset",
    ),
    Row(
        "GET",
        "/v3/presets/workspace/{ws}/filtered?types[]=action",
        check=ok_json(_presets),
        needs="preset",
    ),
    Row("GET", "/v3/presets/workspace/{ws}", check=ok_json(_presets_full), needs="preset"),
    Row(
        "GET",
        "/v3/presets/workspace/{ws}?category=email",
        check=ok_json(_presets_full),
        needs="preset",
    ),
    Row(
        "GET",
        WS + "/all-disabled-actions",
        check=ok_json(lambda b: None if b == {"disabledActionIds": []} else pytest.fail(str(b))),
    ),
    # §8 sources and functions
    Row(
        "POST",
        "/v3/sources",
        {"workspaceId": 1, "name": "Inbound", "type": "webhook", "typeSettings": {}},
        _source_made,
    ),
    Row("PATCH", "/v3/sources/{s}", {"name": "Renamed"}, _source_renamed),
    Row("GET", "/v3/sources/{s}/runs?limit=10", check=_source_runs),
    Row(
        "PATCH",
        "/v3/sources/webhook/response-type/{s}",
        {"sourceId": "{s}", "responseType": "PLAIN_TEXT"},
        _response_type,
    ),
    Row("POST", "/v3/sources/webhook/auth-token/{s}", {}, ok_json(_auth_token)),
    Row(
        "POST",
        "/v3/sources/create-cpj-table",
        {
            "workspaceId": 1,
            "workbookName": "People",
            "cpjConfig": {
                "type": "people",
                "typeSettings": {},
                "basicFields": [{"name": "Name", "formulaText": "{{source}}?.name"}],
            },
        },
        _cpj,
    ),
    Row("GET", WS + "/subroutines", check=ok_json(_subroutines), needs="fn"),
    # §9 credits
    *(
        Row("GET", f"/v3/credit-reporting/{{ws}}/creditReportType/{kind}", check=ok_json(report))
        for kind in ("signal", "triggerDefinition", "mcp", "api")
    ),
    Row(
        "GET",
        "/v3/realtime-credit-usage/{ws}/table/{t}/run"
        "?timeRange[startTime]=2026-01-01T00:00:00Z&timeRange[endTime]=2027-01-01T00:00:00Z",
        check=_usage_array("runId timestamp creditsSpent columns"),
    ),
    Row(
        "GET",
        "/v3/realtime-credit-usage/{ws}/table/{t}/time?timeAggregationUnit=day",
        check=_usage_array("date creditsSpent"),
    ),
    Row(
        "GET",
        "/v3/realtime-credit-usage/{ws}/table/{t}/column",
        check=_usage_array("fieldId creditsSpent runs"),
    ),
    Row(
        "GET",
        WS + "/default-credit-limits?appliesTo=workbook",
        check=ok_json(lambda b: has(b, "creditLimit")),
    ),
    Row(
        "GET",
        WS + "/credit-limits/workbook/{wb}/balance",
        check=ok_json(lambda b: has(b, "creditLimit creditsUsed balance")),
    ),
    # §10 AI helpers
    Row(
        "POST",
        "/v3/ai-generation/formula",
        {
            "id": "{user}",
            "workspaceId": "1",
            "userPromptInput": "upper case name",
            "columnNamesToIds": {"name": "{f}"},
            "mode": "basic",
            "rawExampleTableData": [{"{f}": "Ada"}],
        },
        ok_json(lambda b: has(b, "formula dataType")),
    ),
    Row(
        "POST",
        "/v3/ai-generation/table-description",
        {"workspaceId": 1, "tableId": "{t}"},
        ok_json(lambda b: has(b, "description")),
    ),
    Row(
        "POST",
        "/v3/ai-generation/stream-metaprompter",
        {
            "prompt": "Summarise the company",
            "taskDescription": "summary",
            "tableId": "{t}",
            "columnNamesToIds": {"name": "{f}"},
            "latencyBudget": "low",
        },
        _stream,
    ),
    # §11 long tail
    Row("GET", WS + "/users", check=ok_json(_members)),
    Row(
        "POST",
        "/v3/actions/run-enrichment",
        {
            "workspaceId": "1",
            "enrichmentType": "normalize-company-name",
            "inputs": {"companyName": "Acme Inc"},
        },
        ok_json(lambda b: has(has(b, "result metadata taskId")["metadata"], "status")),
    ),
    Row("GET", WS + "/claygents", check=_list_or("claygents")),
    Row("GET", WS + "/signals", check=_list_or("signals")),
    Row(
        "GET",
        WS + "/signals/{signal}",
        check=_errored("NotFound"),
        status=404,
    ),
    Row(
        "GET",
        WS + "/trigger-definitions-with-schedule",
        check=_list_or("triggerDefinitions"),
    ),
    Row("GET", "/v3/{ws}/agent-configs", check=_list_or("agentConfigs")),
    Row("POST", WS + "/tools", {"tableId": "{fn}"}, _tool),
    Row("GET", WS + "/tools", check=_tools, needs="tool"),
    Row(
        "POST",
        WS + "/wizard/evaluate-step",
        {"step": 1},
        _errored("BadRequest"),
        status=400,
    ),
    Row(
        "GET",
        WS + "/audiences/segments",
        check=ok_json(lambda b: None if b == {"segments": [], "total": 0} else pytest.fail(str(b))),
    ),
    Row(
        "GET",
        WS + "/audiences/count",
        check=ok_json(lambda b: None if b == {"count": 0} else pytest.fail(str(b))),
    ),
    Row(
        "GET",
        WS + "/audiences/contacts",
        check=ok_json(
            lambda b: has(has(b, "contacts pagination")["pagination"], "hasMore", "pagination")
        ),
    ),
    Row(
        "GET",
        WS + "/audiences/imports",
        check=ok_json(lambda b: None if b == {"imports": []} else pytest.fail(str(b))),
    ),
    Row(
        "POST",
        WS + "/audiences/segments (write)",
        {"name": "S"},
        _errored("BadRequest"),
        status=400,
    ),
    Row(
        "GET",
        "/v3/resources/starred",
        check=ok_json(lambda b: array(has(b, "starredResources")["starredResources"])),
    ),
    Row(
        "GET",
        "/v3/resources/{type}%2Fnormalize/star",
        check=ok_json(lambda b: has(b, "isStarred")),
    ),
    Row(
        "POST",
        "/v3/presets",
        {"name": "p", "type": "action"},
        ok_json(lambda b: prefixed(has(b, "id")["id"], "pre__")),
    ),
    # §13 more shapes
    Row(
        "GET",
        "/v3/model-pricing/{ws}/base-costs",
        check=ok_json(lambda b: array(b, "model credits", "base costs")),
    ),
    Row(
        "POST",
        "/v3/actions/run-cpj-preview-enrichment",
        {"workspaceId": 1},
        _errored("BadRequest"),
        status=400,
    ),
    Row(
        "POST",
        "/v3/{ws}/ai-generation/chat-conversation",
        {},
        _errored("NoMatchingURL"),
        status=404,
    ),
]


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            r, id=r.id, marks=[pytest.mark.xfail(strict=True, reason=r.xfail)] if r.xfail else []
        )
        for r in ROWS
    ],
)
async def test_spec_row(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, row: Row
) -> None:
    ctx = Ctx(app, client, anon)
    for name in row.needs.split():
        await ctx.get(name)
    path = row.path.split(" (", 1)[0]
    url = await ctx.fill(path)
    if row.body == "import-body":
        body: Any = await import_body(ctx)
    else:
        body = await ctx.fill_body(row.body)
    headers = {k: await ctx.fill(v) for k, v in row.headers}
    caller = anon if row.anon else client
    if row.method == "GET" or body is None:
        r = await caller.request(row.method, url, headers=headers)
    elif row.form:
        headers["content-type"] = "application/x-www-form-urlencoded"
        r = await caller.request(
            row.method, url, content=quote(json.dumps(body)) + "=", headers=headers
        )
    else:
        r = await caller.request(row.method, url, json=body, headers=headers)
    assert r.status_code == row.status, f"{r.status_code}: {r.text[:500]}"
    if row.check is not None:
        out = row.check(r, ctx)
        if out is not None:
            await out


def test_every_spec_row_has_a_case() -> None:
    """Each (method, path) of both spec parts is called by some case above."""
    from .test_coverage import generator

    gen = generator()
    endpoints = gen.parse_spec(gen.SPEC.read_text(encoding="utf-8"))
    endpoints += gen.parse_spec(gen.LIVE.read_text(encoding="utf-8"), part2=True)
    ours = {(r.method, gen.shape(r.path.split(" (", 1)[0].split("?", 1)[0])) for r in ROWS}

    def called(method: str, path: str) -> bool:
        want = gen.shape(path.split("[", 1)[0])
        return any(
            m == method
            and len(s) == len(want)
            and all(a == b or "*" in (a, b) for a, b in zip(s, want, strict=True))
            for m, s in ours
        )

    missing = []
    for method, spec_path in gen.audit_calls(endpoints):
        variants = gen.Endpoint("", method, spec_path, "").variants()
        if not any(called(method, v) for v in variants):
            missing.append(f"{method} {spec_path}")
    assert missing == []


# Part 2 §1: "A path {ws} must own the resource, else 404" — every row whose path names both a
# workspace and something in it, called with another workspace of the same user.
OWNED = re.compile(r"\{(t|wb|aa|s|f|v|g|r)\}")
FOREIGN = [
    r
    for r in ROWS
    if "{ws}" in r.path and OWNED.search(r.path.split(" (", 1)[0]) and r.status == 200
]


@pytest.mark.parametrize("row", FOREIGN, ids=[r.id for r in FOREIGN])
async def test_foreign_workspace_is_404(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, row: Row
) -> None:
    ctx = Ctx(app, client, anon)
    for name in row.needs.split():
        await ctx.get(name)
    url = await ctx.fill(row.path.split(" (", 1)[0].replace("{ws}", "{otherws}"))
    body = None if row.method == "GET" else await ctx.fill_body(row.body)
    r = await client.request(row.method, url, json=body)
    assert r.status_code == 404, r.text
    error(r.json(), "NotFound")
