"""Errors of transport, on every route the app has: unknown paths and wrong methods,
nameless query parameters, trailing slashes, malformed JSON and junk bodies (never a 500),
validation messages, and the legacy form-encoded bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from claystack.server.errors import as_clay_error

from .conftest import new_table
from .errors_fixtures import (
    FORM,
    api_routes,
    build_world,
    fill,
    params_of,
    schemas,
    snapshot,
    takes_body,
)

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
    """The property names a request body schema names, or None where it takes any object (a
    plain ``dict`` body; a model, even one with no fields, says ``properties``)."""
    if "$ref" in schema:
        return body_fields(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    names: set[str] = set(schema.get("properties", {}))
    for part in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        more = body_fields(part, components)
        if more is None:
            return None
        names |= more
    if "properties" in schema:
        return names  # a model: its extra keys are ignored like missing ones
    if not names and schema.get("additionalProperties") not in (None, False):
        return None  # a free-form object
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
    components = schemas(app)
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


@pytest.mark.parametrize("sqlstate", ["53300", "40P01", "40001", "57P03"])
def test_a_busy_database_is_a_503_with_retry_after(sqlstate: str) -> None:
    """PostgreSQL out of connections, a deadlock, a serialization failure or a server
    starting: the request can succeed a moment later, so it is a 503, not a 500."""

    class Refusal(Exception):
        pass

    orig = Refusal("busy")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    error = as_clay_error(DBAPIError("SELECT 1", {}, orig))
    assert (error.status_code, error.type) == (503, "ServiceUnavailable")
    assert error.headers == {"Retry-After": "1"}
