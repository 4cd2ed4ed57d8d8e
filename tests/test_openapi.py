"""``/openapi.json`` documents every route: its request body, its response, and Clay's
error envelope for failures."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from . import wirecheck
from .errors_fixtures import VIEWER_POSTS

# Writes that take no body at all.
BODYLESS = {
    ("POST", "/v3/auth/logout"),
    ("POST", "/_claystack/reset"),
    ("POST", "/v3/sources/{sourceId}/auth-token"),
    ("POST", "/v3/sources/webhook/auth-token/{sourceId}"),
    ("POST", "/v3/tables/{tableId}/export"),
    ("POST", "/v3/tables/{tableId}/views/{viewId}/export"),
    ("POST", "/v3/me/api-token"),
}
# Each table route is also served under /v3/workspaces/{workspaceId} (spec part 2 §2).
BODYLESS |= {
    (m, "/v3/workspaces/{workspaceId}" + p[3:]) for m, p in BODYLESS if p.startswith("/v3/tables/")
}


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            out += refs(value)
        return out
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def json_schema(node: dict[str, Any]) -> Any:
    content = node.get("content", {})
    return next((c.get("schema") for c in content.values() if c.get("schema")), None)


_DOC: dict[str, Any] = {}


async def doc(anon: httpx.AsyncClient) -> dict[str, Any]:
    """``/openapi.json`` as served (fetched once per run: it is slow to build)."""
    if not _DOC:
        r = await anon.get("/openapi.json")
        assert r.status_code == 200
        _DOC.update(r.json())
    return _DOC


def served_paths(routes: list[Any]) -> set[str]:
    """Paths of every route, looking inside included routers (none of ours has a prefix)."""
    out: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out |= served_paths(inner.routes)
        elif getattr(route, "include_in_schema", False):
            # The web app's pages and its mounted assets are HTML and files, not API.
            out.add(route.path_format)
    return out


async def test_every_route_is_documented(app: FastAPI, anon: httpx.AsyncClient) -> None:
    paths = (await doc(anon))["paths"]
    served = served_paths(app.routes) - {
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
    }
    assert len(served) >= 30
    assert served == set(paths)


async def test_request_and_response_schemas(anon: httpx.AsyncClient) -> None:
    document = await doc(anon)
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            if "204" in op["responses"]:
                ok = None
            else:
                ok = op["responses"].get("200")
                assert ok is not None, where
                schema = json_schema(ok)
                assert schema and (schema.get("$ref") or schema.get("type")), where
            if method in ("post", "patch", "put") and (method.upper(), path) not in BODYLESS:
                body = op.get("requestBody")
                assert body is not None and json_schema(body), where
            for name in re.findall(r"\{([^}]+)\}", path):
                documented = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                assert name in documented, (where, name)
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


async def test_bulk_delete_bodies_are_documented(anon: httpx.AsyncClient) -> None:
    paths = (await doc(anon))["paths"]
    for path in ("/v3/tables/{tableId}/records", "/v3/workspaces/{workspaceId}/resources"):
        assert json_schema(paths[path]["delete"]["requestBody"]), path


async def test_errors_are_the_clay_envelope(anon: httpx.AsyncClient) -> None:
    document = await doc(anon)
    envelope = document["components"]["schemas"]["ClayError"]
    assert set(envelope["required"]) == {"type", "message"}
    assert {"type", "message", "details"} <= set(envelope["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert "422" not in responses, (method, path)
            assert "400" in responses and "404" in responses, (method, path)
            if not path.startswith(("/_claystack", "/v3/auth/logout")):
                assert "401" in responses, (method, path)
            for status, response in responses.items():
                if not status.startswith("2"):
                    assert json_schema(response) == {"$ref": "#/components/schemas/ClayError"}, (
                        method,
                        path,
                        status,
                    )


async def test_every_status_a_route_can_answer_is_documented(anon: httpx.AsyncClient) -> None:
    paths = (await doc(anon))["paths"]

    def statuses(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"200", "400", "401", "429"} <= statuses("post", "/v3/auth/login")
    assert {"409", "413", "403"} <= statuses("post", "/v3/tables/{tableId}/records")
    assert {"409", "403"} <= statuses("post", "/v3/tables/{tableId}/fields")
    assert "409" in statuses("patch", "/v3/tables/{tableId}/fields/{fieldId}")
    assert {"400", "401", "404", "413", "415", "429", "503"} <= statuses(
        "post", "/v3/sources/webhook/{hook}"
    )
    assert {"401", "409"} <= statuses("post", "/v3/me/api-token")
    for path, operations in paths.items():
        for method, op in operations.items():
            responses = set(op["responses"])
            if method == "get" or path in VIEWER_POSTS:
                assert "403" not in responses and "409" not in responses, (method, path)
            elif not path.startswith(("/_claystack", "/v3/auth/", "/v3/me", "/v3/sources/webhook")):
                assert {"403", "409"} <= responses, (method, path)
            if "requestBody" in op:
                assert "413" in responses, (method, path)


async def test_every_json_answer_declares_a_wire_model(anon: httpx.AsyncClient) -> None:
    """tests/wirecheck.py validates answers against these; a route without one is listed."""
    missing = set()
    for path, operations in (await doc(anon))["paths"].items():
        for method, operation in operations.items():
            ok = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            schemas = [
                r.get("content", {}).get("application/json", {}).get("schema") for r in ok.values()
            ]
            if not any(schemas):
                missing.add((method.upper(), path))
    assert missing == set(wirecheck.NOT_JSON | wirecheck.UNDECLARED)


async def test_wirecheck_rejects_answers_off_their_model(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The checker itself (its schemas are compacted: components in place, nullable types
    folded): a table answer with a wrong type deep inside, a null or a number where the model
    says otherwise, a missing key; an error off Clay's envelope."""
    t = (await client.post("/v3/tables", json={"name": "W", "workspaceId": 1})).json()["table"]
    path = f"/v3/tables/{t['id']}"
    body = (await client.get(path)).json()
    scope = {"method": "GET", "path": path}

    def check(answer: Any, status: int = 200) -> None:
        wirecheck.check(app, scope, status, orjson.dumps(answer))

    check(body)
    assert body["table"]["description"] is None or isinstance(body["table"]["description"], str)
    check({**body, "table": {**body["table"], "description": None}})
    check({**body, "table": {**body["table"], "description": "text"}})
    bad_field = {**body["table"]["fields"][0], "id": 5}
    wrong = [
        {**body, "table": {**body["table"], "fields": [bad_field]}},
        {**body, "table": {**body["table"], "description": 5}},
        {**body, "table": {**body["table"], "name": None}},
        {**body, "table": {k: v for k, v in body["table"].items() if k != "workspaceId"}},
    ]
    for answer in wrong:
        with pytest.raises(wirecheck.WireMismatch):
            check(answer)
    check({"type": "NotFound", "message": "gone"}, 404)
    with pytest.raises(wirecheck.WireMismatch):
        check({"type": 1, "message": "gone"}, 404)
