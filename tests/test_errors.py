"""Every failure is a Clay-style error with the right status, never a 500, never a leak of
another workspace's ids, and never half-written.

Several tests walk every route the app has, so routes added later are checked too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, UserFactory, login, make_client, new_table

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNAUTHORIZED = {"type": "Unauthorized", "message": "You must be logged in"}
# Paths that need no login: login itself, logout (a no-op without a session), the emulator's
# own endpoints, webhook ingestion, and the signed export download and import upload.
PUBLIC = re.compile(
    r"^(/v3/auth/log(in|out)$|/_claystack/|/v3/sources/webhook/"
    r"|/v3/exports/\{exportId\}/file$|/v3/imports/upload$)"
)
# POSTs that only read: a viewer may call them.
READ_ONLY_POSTS = {
    "/v3/workspaces/{workspaceId}/resources_v2",
    "/v3/workspaces/{workspaceId}/resources/search",
    "/v3/tables/{tableId}/bulk-fetch-records",
    "/v3/tables/{tableId}/views/{viewId}/search",
    "/v3/users/{userId}/resources",
}
# POSTs a viewer may call: those, and starting an export (which writes only the job).
VIEWER_POSTS = READ_ONLY_POSTS | {
    "/v3/tables/{tableId}/export",
    "/v3/tables/{tableId}/views/{viewId}/export",
    "/v3/enrichment-search/{workspaceId}/query",
    "/v3/workspaces/{workspaceId}/enrichment-search/query-v2",
    "/v3/workspaces/{workspaceId}/actions/dynamicFields",
    "/v3/workspaces/{workspaceId}/wizard/evaluate-step",
    "/v3/actions/run-cpj-preview-enrichment",
    "/v3/actions/run-enrichment",
    "/v3/ai-generation/formula",
    "/v3/ai-generation/table-description",
    "/v3/ai-generation/stream-metaprompter",
    "/v3/{workspaceId}/ai-generation/chat-conversation",
}
# Every table route is also served under /v3/workspaces/{workspaceId} (spec part 2 §2).
READ_ONLY_POSTS |= {
    "/v3/workspaces/{workspaceId}" + p[3:] for p in READ_ONLY_POSTS if p.startswith("/v3/tables/")
}
VIEWER_POSTS |= READ_ONLY_POSTS | {
    "/v3/workspaces/{workspaceId}" + p[3:] for p in VIEWER_POSTS if p.startswith("/v3/tables/")
}
# Routes where an id in the path is the client's to choose: an unknown one creates the object
# (spec part 2 §6: POST …/records/{recordId} makes a blank row with the client's id).
CLIENT_CHOSEN = {
    ("POST", "/v3/tables/{tableId}/records/{recordId}", "recordId"),
    ("POST", "/v3/workspaces/{workspaceId}/tables/{tableId}/records/{recordId}", "recordId"),
}
# Routes acting on the caller's own user, in no workspace.
USER_LEVEL = ("/v3/me/",)
PARAM = re.compile(r"\{([A-Za-z_]+)(?::[a-z]+)?\}")
UNKNOWN = {
    "workspaceId": "987654",
    "folderId": "fo_0t00000000000000000",
    "workbookId": "wb_0t00000000000000000",
    "tableId": "t_0t00000000000000000",
    "fieldId": "f_0t00000000000000000",
    "viewId": "gv_0t00000000000000000",
    "recordId": "r_0t00000000000000000",
    "userId": "987654",
}


@dataclass
class World:
    """One of everything, in one workspace."""

    ws: int
    user: int
    folder: str
    workbook: str
    table: str
    field: str
    view: str
    record: str

    def params(self) -> dict[str, str]:
        return {
            "workspaceId": str(self.ws),
            "folderId": self.folder,
            "workbookId": self.workbook,
            "tableId": self.table,
            "fieldId": self.field,
            "viewId": self.view,
            "recordId": self.record,
            "userId": str(self.user),
        }

    def body(self, method: str, path: str) -> Any:
        """A body that would be valid for the route, so only the ids can fail."""
        bodies: dict[tuple[str, str], Any] = {
            ("POST", "/v3/workspaces/{workspaceId}/folders"): {"name": "x"},
            ("POST", "/v3/workbooks"): {"name": "x", "workspaceId": self.ws},
            ("POST", "/v3/tables"): {"name": "x", "workspaceId": self.ws},
            ("POST", "/v3/workspaces/{workspaceId}/resources/search"): {"query": "x"},
            ("POST", "/v3/tables/{tableId}/fields"): {"name": "x", "type": "text"},
            ("POST", "/v3/tables/{tableId}/views"): {"name": "x"},
            ("POST", "/v3/tables/{tableId}/records"): {"records": [{"cells": {}}]},
            ("PATCH", "/v3/tables/{tableId}/records"): {
                "records": [{"id": self.record, "cells": {}}]
            },
            ("PATCH", "/v3/tables/{tableId}/records/{recordId}"): {"cells": {}},
            ("POST", "/v3/tables/{tableId}/bulk-fetch-records"): {"recordIds": [self.record]},
            ("POST", "/v3/tables/{tableId}/views/{viewId}/search"): {"searchTerm": "x"},
            ("DELETE", "/v3/tables/{tableId}/records"): {"recordIds": [self.record]},
            ("POST", "/v3/sources/create-cpj-table"): {
                "workspaceId": self.ws,
                "cpjConfig": {"type": "people", "basicFields": [{"name": "Name"}]},
            },
            ("POST", "/v3/presets"): {"workspaceId": self.ws, "name": "x"},
            ("POST", "/v3/shared-tables"): {"tableId": self.table},
            ("POST", "/v3/workspaces/{workspaceId}/tools"): {"tableId": self.table},
            ("POST", "/v3/ai-generation/formula"): {"userPromptInput": "x", "workspaceId": self.ws},
            ("POST", "/v3/ai-generation/table-description"): {"tableId": self.table},
            ("POST", "/v3/ai-generation/stream-metaprompter"): {"prompt": "x"},
            ("POST", "/v3/actions/run-enrichment"): {
                "workspaceId": self.ws,
                "enrichmentType": "normalize-company-name",
                "inputs": {"companyName": "Acme Inc"},
            },
            ("POST", "/v3/imports"): {
                "workspaceId": self.ws,
                "config": {
                    "source": {"type": "S3_CSV", "key": "x", "filename": "x.csv"},
                    "destination": {"type": "TABLE", "tableId": self.table},
                    "map": {self.field: "{{name}}"},
                },
            },
        }
        alias = "/v3/workspaces/{workspaceId}/tables/"
        if path.startswith(alias):  # the workspace-scoped alias takes the same body
            path = "/v3/tables/" + path[len(alias) :]
        if (method, path) in bodies:
            return bodies[(method, path)]
        return {} if method in ("POST", "PATCH", "PUT") else None


async def build_world(client: httpx.AsyncClient, ws: int) -> World:
    r = await client.post(f"/v3/workspaces/{ws}/folders", json={"name": "F"})
    folder = r.json()["id"]
    r = await client.post("/v3/workbooks", json={"name": "W", "workspaceId": ws})
    workbook = r.json()["id"]
    table = await new_table(client, "T", fields=("name",), workspace=ws)
    r = await client.post(
        f"/v3/tables/{table['id']}/records",
        json={"records": [{"cells": {table["byName"]["name"]: "x"}}]},
    )
    record = r.json()["records"][0]["id"]
    assert (await client.post("/v3/shared-tables", json={"tableId": table["id"]})).is_success
    user = (await client.get("/v3/me")).json()["id"]
    return World(
        ws,
        user,
        folder,
        workbook,
        table["id"],
        table["byName"]["name"],
        table["firstViewId"],
        record,
    )


@dataclass
class Worlds:
    mine: World
    theirs: World
    other: httpx.AsyncClient


@pytest.fixture
async def worlds(client: httpx.AsyncClient, other_user: UserFactory) -> Worlds:
    other, ws = await other_user()
    return Worlds(await build_world(client, 1), await build_world(other, ws), other)


_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = []


def api_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, OpenAPI operation) of every route the app serves. Routes are the same
    for every app of a run, and the document is slow to build: it is built once."""
    if not _OPERATIONS:
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                _OPERATIONS.append((method.upper(), path, operation))
    return _OPERATIONS


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: quote(values[m.group(1)], safe=""), path)


def params_of(path: str) -> list[str]:
    return PARAM.findall(path)


def takes_body(operation: dict[str, Any]) -> bool:
    """A JSON body (the multipart upload is checked by its own tests)."""
    return "application/json" in operation.get("requestBody", {}).get("content", {})


async def send(client: httpx.AsyncClient, method: str, url: str, body: Any) -> httpx.Response:
    if body is None:
        return await client.request(method, url)
    return await client.request(method, url, json=body)


async def snapshot(app: FastAPI) -> dict[str, int]:
    out = {}
    async with app.state.db.transaction(write=False) as conn:
        for name in ("folders", "workbooks", "tables", "fields", "views", "records"):
            out[name] = (await conn.exec_driver_sql(f"SELECT count(*) FROM {name}")).scalar_one()
    return out


# -- ids: unknown and foreign look the same -----------------------------------------------


async def test_unknown_and_foreign_ids_are_the_same_404_on_every_route(
    app: FastAPI, client: httpx.AsyncClient, worlds: Worlds
) -> None:
    before = await snapshot(app)
    mine, theirs = worlds.mine.params(), worlds.theirs.params()
    checked = 0
    for method, path, _ in api_routes(app):
        names = params_of(path)
        if PUBLIC.match(path) or not names or not set(names) <= mine.keys():
            continue
        for name in names:
            if (method, path, name) in CLIENT_CHOSEN:
                continue
            unknown = await send(
                client,
                method,
                fill(path, {**mine, name: UNKNOWN[name]}),
                worlds.mine.body(method, path),
            )
            foreign = await send(
                client,
                method,
                fill(path, {**mine, name: theirs[name]}),
                worlds.mine.body(method, path),
            )
            where = f"{method} {path} with a foreign {name}"
            if name == "userId":  # a user id is no workspace's secret: empty or 404, alike
                assert unknown.status_code in (200, 404), where
                foreign_body = foreign.text.replace(theirs[name], UNKNOWN[name])
                assert foreign_body == unknown.text, where
                continue
            assert unknown.status_code == 404, (where, unknown.text)
            assert unknown.json()["type"] == "NotFound", where
            assert foreign.status_code == 404, (where, foreign.text)
            assert foreign.text.replace(theirs[name], UNKNOWN[name]) == unknown.text, where
            checked += 1
    assert checked >= 30
    assert await snapshot(app) == before


async def test_foreign_ids_in_bodies_answer_like_unknown_ones(
    client: httpx.AsyncClient, worlds: Worlds
) -> None:
    me, them = worlds.mine, worlds.theirs

    async def same(method: str, url: str, make: Any, key: str) -> httpx.Response:
        theirs = them.params()[key]
        unknown = await client.request(method, url, json=make(UNKNOWN[key]))
        foreign = await client.request(method, url, json=make(theirs))
        assert foreign.status_code == unknown.status_code, (url, foreign.text, unknown.text)
        assert foreign.text.replace(theirs, UNKNOWN[key]) == unknown.text
        assert unknown.status_code in (200, 400, 404), unknown.text
        return unknown

    ws = f"/v3/workspaces/{me.ws}"
    t = f"/v3/tables/{me.table}"
    r = await same(
        "POST", "/v3/workbooks", lambda i: {"name": "x", "workspaceId": i}, "workspaceId"
    )
    assert r.status_code == 404
    await same("POST", "/v3/tables", lambda i: {"name": "x", "workspaceId": i}, "workspaceId")
    await same(
        "POST",
        "/v3/tables",
        lambda i: {"name": "x", "workspaceId": 1, "workbookId": i},
        "workbookId",
    )
    await same(
        "POST",
        "/v3/workbooks",
        lambda i: {"name": "x", "workspaceId": 1, "parentFolderId": i},
        "folderId",
    )
    await same("POST", f"{ws}/folders", lambda i: {"name": "x", "parentFolderId": i}, "folderId")
    for kind, key in (("FOLDER", "folderId"), ("WORKBOOK", "workbookId")):
        await same(
            "POST",
            f"{ws}/resources_v2/",
            lambda i, k=kind: {"parentResource": {"type": k, "id": i}},
            key,
        )
    for key in ("folderId", "workbookId", "tableId"):
        await same("DELETE", f"{ws}/resources/", lambda i, k=key: {k[:-2] + "Ids": [i]}, key)
    # Unknown field ids in cells are dropped (spec part 2 §1): a foreign one is dropped alike.
    for fid in (UNKNOWN["fieldId"], them.params()["fieldId"]):
        r = await client.post(f"{t}/records", json={"records": [{"id": fid, "cells": {fid: 1}}]})
        assert r.status_code == 200 and fid not in r.json()["records"][0]["cells"], r.text
    await same("PATCH", f"{t}/records", lambda i: {"records": [{"id": i, "cells": {}}]}, "recordId")
    await same("POST", f"{t}/bulk-fetch-records", lambda i: {"recordIds": [i]}, "recordId")
    await same("DELETE", f"{t}/records", lambda i: {"recordIds": [i]}, "recordId")
    await same("DELETE", f"{t}/records", lambda i: {"deleteAll": True, "viewId": i}, "viewId")
    await same("POST", f"{t}/views", lambda i: {"name": "v", "sort": [{"fieldId": i}]}, "fieldId")
    r = await worlds.other.get(f"/v3/tables/{them.table}/count")
    assert r.json() == {"tableTotalRecordsCount": 1, "count": 1}


# -- roles and sessions --------------------------------------------------------------------


async def test_viewer_can_read_but_every_write_is_403(
    app: FastAPI, client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    world = await build_world(client, 1)
    viewer, _ = await other_user(email="viewer@example.com", workspace=1, role="viewer")
    before = await snapshot(app)
    values = {**world.params(), "userId": "1"}
    writes = reads = 0
    for method, path, _ in api_routes(app):
        if PUBLIC.match(path) or path.startswith(USER_LEVEL):
            continue  # a viewer's own credentials are theirs to change
        if not set(params_of(path)) <= values.keys():
            continue
        r = await send(viewer, method, fill(path, values), world.body(method, path))
        if method == "GET" or (method == "POST" and path in VIEWER_POSTS):
            # Some reads need query parameters (a 400 here); none may refuse the viewer.
            # The AI chat exists only with a model configured (spec part 2 §13).
            expected = (200, 400, 404) if path.endswith("/chat-conversation") else (200, 400)
            assert r.status_code in expected, (method, path, r.text)
            reads += r.status_code == 200
        else:
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["type"] == "Forbidden"
            writes += 1
    assert writes >= 15 and reads >= 10
    assert await snapshot(app) == before


async def test_every_private_route_needs_a_session(app: FastAPI, anon: httpx.AsyncClient) -> None:
    checked = 0
    for method, path, _ in api_routes(app):
        if PUBLIC.match(path):
            continue
        url = PARAM.sub(lambda m: UNKNOWN.get(m.group(1), "x1"), path)
        r = await anon.request(method, url, json={} if method != "GET" else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json() == UNAUTHORIZED
        checked += 1
    assert checked >= 30


async def test_expired_and_revoked_sessions_are_401(app: FastAPI, anon: httpx.AsyncClient) -> None:
    async def fresh_cookie() -> str:
        r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        return str(r.cookies["claysession"])

    urls = ("/v3/me", "/v3/my-workspaces", "/v3/workspaces/1", "/v3/owners")
    expired = await fresh_cookie()
    async with app.state.db.transaction(write=True) as conn:
        await conn.exec_driver_sql("UPDATE sessions SET expires_at = 1")
    revoked = await fresh_cookie()
    r = await anon.post("/v3/auth/logout", headers={"Cookie": f"claysession={revoked}"})
    assert r.status_code == 200
    assert 'claysession=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    tampered = revoked[:-3] + ("AAA" if not revoked.endswith("AAA") else "BBB")
    for cookie in (expired, revoked, tampered, "s%3Anonsense", "garbage"):
        for url in urls:
            r = await anon.get(url, headers={"Cookie": f"claysession={cookie}"})
            assert r.status_code == 401 and r.json() == UNAUTHORIZED, (cookie, url)
        r = await anon.post(
            "/v3/tables",
            json={"name": "x", "workspaceId": 1},
            headers={"Cookie": f"claysession={cookie}"},
        )
        assert r.status_code == 401
    for header in ("Bearer", "Bearer ", "Basic abc", "Bearer cs_" + "x" * 40):
        r = await anon.get("/v3/me", headers={"Authorization": header})
        assert r.status_code == 401 and r.json() == UNAUTHORIZED, header


# -- transport: paths, methods, bodies -----------------------------------------------------


async def test_unknown_paths_and_wrong_methods(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    t = table["id"]
    # "/" is the web app (issue 15): tests/test_web.py.
    for path in ("/v3/nope", "/nope", "/v3", f"/v3/tables/{t}/nope", "/v4/me"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.json() == {"type": "NoMatchingURL", "message": "Invalid URL"}
    for method, path in (
        ("PUT", f"/v3/tables/{t}"),
        ("GET", "/v3/auth/login"),
        ("DELETE", "/v3/my-workspaces"),
        ("POST", f"/v3/tables/{t}/count"),
        ("GET", "/v3/workspaces/1/resources_v2/"),
    ):
        r = await client.request(method, path)
        assert r.status_code == 405, (method, path)
        assert r.json()["type"] == "MethodNotAllowed" and r.json()["message"]
        allowed = set(r.headers["allow"].split(", "))
        assert method not in allowed and allowed, (method, path)
        for other in allowed - {"HEAD"}:
            again = await client.request(other, path)
            assert again.status_code != 405, (other, path)
    r = await client.put(f"/v3/tables/{t}")
    assert set(r.headers["allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


async def test_a_query_parameter_without_a_name_is_400(client: httpx.AsyncClient) -> None:
    for url in ("/v3/me?=x", "/v3/my-workspaces?a=1&=2", "/v3/me?=", "/v3/nope?=1"):
        r = await client.get(url)
        assert r.status_code == 400, (url, r.text)
        assert r.json()["type"] == "BadRequest" and "no name" in r.json()["message"]
    for url in ("/v3/me?", "/v3/me?&", "/v3/me?a", "/v3/me?a=&b=1", "/v3/me?a=%3D"):
        assert (await client.get(url)).status_code == 200, url
    r = await client.post("/v3/workspaces/1/folders?=x", json={"name": "no"})
    assert r.status_code == 400


async def test_trailing_slashes_on_every_read(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(client, 1)
    values = world.params()
    checked = 0
    for method, path, _ in api_routes(app):
        if method != "GET" or not set(params_of(path)) <= values.keys():
            continue
        url = fill(path, values)
        plain, slashed = await client.get(url), await client.get(url + "/")
        assert plain.status_code == slashed.status_code, url
        assert plain.status_code in (200, 400), (url, plain.text)  # 400: needs a query
        if "/_claystack/" not in url:
            assert plain.json() == slashed.json(), url
        checked += plain.status_code == 200
    assert checked >= 10
    r = await client.post("/v3/workspaces/1/folders/", json={"name": "slash"})
    assert r.status_code == 200
    r = await client.patch(f"/v3/tables/{world.table}/", json={"name": "slash"})
    assert r.status_code == 200 and r.json()["table"]["name"] == "slash"
    r = await client.get(f"/v3/tables/{world.table}/count/?x=1")
    assert r.json() == {"tableTotalRecordsCount": 1, "count": 1}


MALFORMED = (
    b'{"name": "x",',
    b"{'a': 1}",
    b"\xff\xfe",
    b"[1, 2",
    b'{"name": "\\ud800", "records": ["\\udfff"], "cells": {"a": "\\ud800"}}',
    b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
)


async def test_malformed_json_on_every_body_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(client, 1)
    before = await snapshot(app)
    values = world.params()
    checked = 0
    for method, path, operation in api_routes(app):
        if not takes_body(operation) or not set(params_of(path)) <= values.keys():
            continue
        for raw in MALFORMED:
            r = await client.request(
                method,
                fill(path, values),
                content=raw,
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 400, (method, path, raw, r.text)
            assert r.json()["type"] == "BadRequest" and "JSON" in r.json()["message"], r.text
            checked += 1
    assert checked >= 90
    assert await snapshot(app) == before


JUNK: list[Any] = [
    [],
    "text",
    None,
    0,
    True,
    {"records": None},
    {"records": [None]},
    {"records": [{"id": None, "cells": None}]},
    {"recordIds": None},
    {"recordIds": [{"a": 1}]},
    {"name": None, "workspaceId": None},
    {"name": {"a": 1}, "type": ["text"], "typeSettings": []},
    {"workspaceId": 1.5, "name": "x" * 600},
    {"workspaceId": "1e3", "name": "x"},
    {"parentResource": "FOLDER", "filters": []},
    {"filters": {"resourceTypes": "TABLE", "ownerIds": [None], "q": 5}},
    {"sort": {"fieldId": None}, "filter": {"items": [None]}},
    {"deleteAll": "yes", "viewId": 5, "omitDeletingRecordIds": "r_1"},
    {"tableSettings": None, "fieldGroupMap": [], "sourceSettings": "x"},
    {"cells": None},
    {"\u0000": "\u0000"},
]


def body_fields(schema: Any, components: dict[str, Any]) -> set[str] | None:
    """The property names a request body schema names, or None where it takes any object."""
    if "$ref" in schema:
        return body_fields(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    names: set[str] = set(schema.get("properties", {}))
    for part in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        more = body_fields(part, components)
        if more is None:
            return None
        names |= more
    if not names and schema.get("additionalProperties") not in (None, False):
        return None  # a free-form object; a model's extra keys are ignored like missing ones
    return names


def junk_for(operation: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """The junk bodies worth sending to a route: every one that is not an object or names no
    field at all, and the objects naming a field of the route's body (the others fail the
    same "Required" check as ``{}`` would)."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    fields = body_fields(schema, components)
    return [
        body
        for body in JUNK
        if fields is None or not isinstance(body, dict) or body.keys() & (fields | {"\u0000"})
    ]


async def test_junk_bodies_never_500(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(client, 1)
    values = world.params()
    components = app.openapi()["components"]["schemas"]
    for method, path, operation in api_routes(app):
        if not takes_body(operation) or not set(params_of(path)) <= values.keys():
            continue
        if method == "DELETE" and "{" not in path.rsplit("/", 1)[-1]:
            continue  # bulk deletes with junk may legitimately delete; checked elsewhere
        for body in junk_for(operation, components):
            r = await client.request(
                method,
                fill(path, values),
                content=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code < 500, (method, path, body, r.text)
            if r.status_code >= 400:
                assert set(r.json()) <= {"type", "message", "details"} and r.json()["message"]


async def test_validation_messages(client: httpx.AsyncClient) -> None:
    r = await client.post("/v3/workbooks", json={"workspaceId": 1})
    assert r.json() == {
        "type": "BadRequest",
        "message": 'Invalid request parameter(s): Field "name" - Required',
    }
    r = await client.post("/v3/tables", json={"name": "x", "workspaceId": "one"})
    assert r.status_code == 400
    assert r.json()["message"].startswith('Invalid request parameter(s): Field "workspaceId" - ')
    r = await client.post("/v3/workspaces/1/resources/search", json={"query": 5})
    assert r.json()["message"].startswith('Invalid request parameter(s): Field "query" - ')
    table = await new_table(client)
    r = await client.get(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records?limit=x")
    assert r.json()["message"].startswith('Invalid request parameter(s): Field "limit" - ')
    r = await client.post(f"/v3/tables/{table['id']}/records", json={})
    assert r.json()["message"] == 'Invalid request parameter(s): Field "records" - Required'


async def test_legacy_form_bodies_on_writes(client: httpx.AsyncClient) -> None:
    def form(body: Any) -> str:
        return quote(orjson.dumps(body).decode(), safe="") + "="

    r = await client.post(
        "/v3/tables", content=form({"name": "Form & Co = 100%", "workspaceId": 1}), headers=FORM
    )
    assert r.status_code == 200, r.text
    table = r.json()["table"]
    t = table["id"]
    assert table["name"] == "Form & Co = 100%"
    r = await client.post(
        f"/v3/tables/{t}/fields", content=form({"name": "n", "type": "text"}), headers=FORM
    )
    f = r.json()["field"]["id"]
    r = await client.post(
        f"/v3/tables/{t}/records",
        content=form({"records": [{"id": "a", "cells": {f: "é+ü"}}]}),
        headers=FORM,
    )
    assert r.status_code == 200 and r.json()["records"][0]["cells"][f] == {
        "value": "é+ü",
        "metadata": {},
    }
    r = await client.patch(
        f"/v3/tables/{t}", content=form({"tableSettings": {"AUTO_RUN_ON": False}}), headers=FORM
    )
    assert r.json()["table"]["tableSettings"]["AUTO_RUN_ON"] is False
    r = await client.post("/v3/workspaces/1/folders", content=form({"name": "F"}), headers=FORM)
    assert r.status_code == 200
    r = await client.post(
        "/v3/workspaces/1/resources_v2/", content=form({"resourceTypes": ["FOLDER"]}), headers=FORM
    )
    assert [x["name"] for x in r.json()["resources"]] == ["F"]
    # curl -d sends raw JSON with the form content type; text/plain too.
    raw = orjson.dumps({"records": [{"id": "b", "cells": {f: "a=b&c"}}]})
    r = await client.post(f"/v3/tables/{t}/records", content=raw, headers=FORM)
    assert r.status_code == 200 and r.json()["records"][0]["cells"][f] == {
        "value": "a=b&c",
        "metadata": {},
    }
    r = await client.post(
        f"/v3/tables/{t}/views", content=b'{"name":"v"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 200
    r = await client.post(f"/v3/tables/{t}/views", content=b'{"name":"v2"}')
    assert r.status_code == 200
    for bad in ("a=1&b=2", quote('{"name":') + "=", "name=x", "%ZZ"):
        r = await client.post(f"/v3/tables/{t}/views", content=bad, headers=FORM)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["type"] == "BadRequest"
    # Default view, the 3 system views and the 2 made here.
    assert len((await client.get(f"/v3/tables/{t}")).json()["table"]["views"]) == 6


# -- limits --------------------------------------------------------------------------------


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app with a 4 KB body limit and 5 records per request, on the same database."""
    limited = settings.model_copy(update={"max_body_bytes": 4096, "max_records_per_request": 5})
    application = create_app(limited)
    async with application.router.lifespan_context(application):
        await lifecycle.reset(application)
        async with make_client(application) as c:
            await login(c, DEMO_EMAIL, DEMO_PASSWORD)
            yield c


async def test_oversized_bodies_are_413_and_write_nothing(small: httpx.AsyncClient) -> None:
    table = await new_table(small, fields=("n",))
    t, f = table["id"], table["byName"]["n"]
    big = {"records": [{"cells": {f: "x" * 5000}}]}
    r = await small.post(f"/v3/tables/{t}/records", json=big)
    assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
    r = await small.post(
        f"/v3/tables/{t}/records", content=quote(orjson.dumps(big).decode()) + "=", headers=FORM
    )
    assert r.status_code == 413

    def chunked(body: Any) -> AsyncIterator[bytes]:
        """The body with no Content-Length (Transfer-Encoding: chunked)."""

        async def chunks() -> AsyncIterator[bytes]:
            data = orjson.dumps(body)
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        return chunks()

    for ctype in ("application/json", "application/x-www-form-urlencoded"):
        for method, url, body in (
            ("POST", f"/v3/tables/{t}/records", big),
            ("POST", "/v3/tables", {"name": "x" * 5000, "workspaceId": 1}),
            ("PATCH", f"/v3/tables/{t}", {"description": "x" * 5000}),
        ):
            r = await small.request(
                method, url, content=chunked(body), headers={"Content-Type": ctype}
            )
            assert r.status_code == 413, (ctype, url, r.text)
            assert r.json()["type"] == "PayloadTooLarge"
    r = await small.patch(
        f"/v3/tables/{t}",
        content=chunked({"description": "small"}),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["table"]["description"] == "small"
    r = await small.patch(f"/v3/tables/{t}", json={"description": "x" * 5000})
    assert r.status_code == 413
    r = await small.post(f"/v3/tables/{t}/records", json={"records": [{"cells": {}}] * 6})
    assert r.status_code == 413 and "5" in r.json()["message"]
    r = await small.patch(
        f"/v3/tables/{t}/records", json={"records": [{"id": "a", "cells": {}}] * 6}
    )
    assert r.status_code == 413
    assert (await small.get(f"/v3/tables/{t}/count")).json() == {
        "tableTotalRecordsCount": 0,
        "count": 0,
    }
    r = await small.post(f"/v3/tables/{t}/records", json={"records": [{"cells": {}}] * 5})
    assert r.status_code == 200


async def test_unstorable_values_are_400_and_write_nothing(client: httpx.AsyncClient) -> None:
    """Integers beyond 64 bits are refused by both backends; PostgreSQL also refuses NUL
    characters in text (SQLite stores them). Either way: a 400, and nothing written."""
    table = await new_table(client, fields=("n",))
    t, f, gv = table["id"], table["byName"]["n"], table["firstViewId"]
    huge = 10**25
    # An id beyond 64 bits is an unknown id like any other: 404, or nothing found.
    for method, url, body, status in (
        ("GET", f"/v3/workspaces/{huge}", None, 404),
        ("GET", f"/v3/workspaces/{2**63}", None, 404),
        ("GET", f"/v3/owners?workspaceId={huge}", None, 404),
        ("POST", f"/v3/users/{huge}/resources", None, 200),
    ):
        r = await send(client, method, url, body)
        assert r.status_code == status, (url, r.text)
        if status == 404:
            assert (
                r.json()
                == (await send(client, method, url.replace(str(huge), "987654"), body)).json()
            )
            assert r.json()["type"] == "NotFound"
        else:
            assert r.json() == {"resources": []}
    # A number the body's schema cannot hold is a 400 (documented), as is an offset.
    for method, url, body in (
        ("POST", "/v3/workbooks", {"name": "x", "workspaceId": huge}),
        ("POST", "/v3/workspaces/1/resources_v2/", {"filters": {"ownerIds": [huge]}}),
        ("GET", f"/v3/tables/{t}/views/{gv}/records?offset={huge}", None),
    ):
        r = await send(client, method, url, body)
        assert r.status_code == 400 and r.json()["type"] == "BadRequest", (url, r.text)
    rows = {"records": [{"cells": {f: "fine"}}, {"id": "nul\u0000", "cells": {f: "x\u0000y"}}]}
    for method, url, body in (
        ("GET", f"/v3/tables/{t}/records/a%00", None),
        ("GET", "/v3/tables/t_%00", None),
        ("POST", "/v3/workspaces/1/folders", {"name": "a\u0000b"}),
        ("POST", f"/v3/tables/{t}/fields", {"name": "x\u0000", "type": "text"}),
        ("POST", f"/v3/tables/{t}/records", rows),
        ("POST", f"/v3/tables/{t}/records", {"records": [{"cells": {f: {"k\u0000": 1}}}]}),
        ("POST", "/v3/workspaces/1/resources/search", {"query": "\u0000"}),
    ):
        count = (await client.get(f"/v3/tables/{t}/count")).json()["tableTotalRecordsCount"]
        r = await send(client, method, url, body)
        assert r.status_code in (200, 400, 404), (url, r.text)
        if r.status_code == 400:
            assert r.json()["type"] == "BadRequest"
            after = (await client.get(f"/v3/tables/{t}/count")).json()["tableTotalRecordsCount"]
            assert after == count


async def test_read_only_posts_never_wait_for_writers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Searches and bulk fetches are POSTs that only read: they run in a read transaction,
    so they answer while a writer holds SQLite's write lock (a write would queue behind it)."""
    world = await build_world(client, 1)
    values = {**world.params(), "userId": str(world.user)}
    # An export is a read a viewer may start, but it writes its job's row: not one of these.
    posts = [(p, world.body("POST", p)) for p in READ_ONLY_POSTS if not p.endswith("/export")]
    async with app.state.db.write_lock:
        for path, body in posts:
            r = await asyncio.wait_for(send(client, "POST", fill(path, values), body), 30)
            assert r.status_code == 200, (path, r.text)
