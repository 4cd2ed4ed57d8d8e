"""Errors at the limits: oversized bodies are 413 and unstorable values 400, and neither
writes anything; read-only POSTs never wait for writers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, login, make_client, new_table
from .errors_fixtures import FORM, READ_ONLY_POSTS, build_world, fill, send

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
