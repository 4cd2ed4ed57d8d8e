"""Limits on what a request may store: JSON nesting depth and cell size. A body over a limit
is refused alone, with its own 4xx, and leaves nothing written, here or in another workspace."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from fastapi import FastAPI

from claystack.server.config import Settings

from .conftest import UserFactory, make_client, new_table
from .errors_fixtures import api_routes, build_world, fill, params_of, snapshot, takes_body
from .sources_fixtures import add_source, add_source_body, count, path_of


def nested(depth: int) -> bytes:
    """JSON whose outermost container is level 1 and innermost level ``depth`` (written by
    hand: orjson cannot write more than 255 levels)."""
    head = b"".join(b'{"k":' if i % 2 == 0 else b"[" for i in range(depth - 1))
    tail = b"".join(b"}" if i % 2 == 0 else b"]" for i in reversed(range(depth - 1)))
    return head + b'{"leaf":1}' + tail


def deep_body(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def test_deep_json_is_400_on_every_body_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(client, 1)
    before = await snapshot(app)
    values = world.params()
    checked = 0
    for method, path, operation in api_routes(app):
        if not takes_body(operation) or not set(params_of(path)) <= values.keys():
            continue
        for depth in (65, 300, 1000):
            r = await client.request(
                method,
                fill(path, values),
                content=deep_body(depth),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 400, (method, path, depth, r.text)
            assert r.json()["type"] == "BadRequest" and "JSON" in r.json()["message"]
            checked += 1
    assert checked >= 60
    assert await snapshot(app) == before


async def test_deep_values_inside_valid_bodies_are_400(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("n",))
    t, f = table["id"], table["byName"]["n"]
    for depth in (70, 256, 600, 1000):
        deep = nested(depth)
        for method, url, body in (
            ("POST", f"/v3/tables/{t}/records", b'{"records": [{"cells": {"%s": %s}}]}'),
            ("PATCH", f"/v3/tables/{t}", b'{"tableSettings": {"x": %s}}'),
            (
                "POST",
                f"/v3/tables/{t}/fields",
                b'{"name": "x", "type": "text", "typeSettings": %s}',
            ),
            ("POST", "/v3/workspaces/1/app-accounts", b'{"type": "x", "credentials": %s}'),
        ):
            args = (f.encode(), deep) if body.count(b"%s") == 2 else (deep,)
            r = await client.request(method, url, content=body % args)
            assert r.status_code == 400, (url, depth, r.text)
            assert "nested deeper than 64" in r.json()["message"]
    # Just inside the limit is fine, and reads back.
    ok = orjson.loads(nested(60))
    r = await client.post(
        f"/v3/tables/{t}/records", json={"records": [{"id": "a", "cells": {f: ok}}]}
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/v3/tables/{t}/records/a")
    assert r.status_code == 200 and r.json()["cells"][f]["value"] == ok
    assert await count(client, t) == 1


async def test_deep_webhook_bodies_are_400(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client)
    path = path_of(await add_source(client, table["id"]))
    for depth in (65, 256, 1000):
        body = b'{"a": %s}' % nested(depth)
        for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            r = await anon.post(path, content=body, headers={"Content-Type": ctype})
            assert r.status_code == 400, (depth, ctype, r.text)
            assert "nested deeper" in r.json()["message"]
    assert await count(client, table["id"]) == 0


CELL_CAP = 2000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with cells capped at 2,000 bytes of JSON."""
    return settings.model_copy(update={"max_cell_bytes": CELL_CAP})


async def test_a_cell_over_the_cap_is_413_on_every_write(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("n",))
    t, f = table["id"], table["byName"]["n"]
    r = await client.post(
        f"/v3/tables/{t}/records", json={"records": [{"id": "a", "cells": {f: "x"}}]}
    )
    assert r.status_code == 200
    before = await snapshot(app)
    fits = "x" * 1998  # 2,000 bytes with its quotes
    for big in ("x" * 1999, "é" * 1000, {"k": "x" * 1995}, ["x" * 700] * 3, "\u0001" * 400):
        for method, url, body in (
            (
                "POST",
                f"/v3/tables/{t}/records",
                {"records": [{"cells": {f: fits}}, {"cells": {f: big}}]},
            ),
            ("PATCH", f"/v3/tables/{t}/records", {"records": [{"id": "a", "cells": {f: big}}]}),
            ("PATCH", f"/v3/tables/{t}/records/a", {"cells": {f: big}}),
            ("PATCH", f"/v3/tables/{t}/records/a", {f: big}),
        ):
            r = await client.request(method, url, json=body)
            assert r.status_code == 413, (method, url, r.text)
            assert r.json()["type"] == "PayloadTooLarge" and "2000 bytes" in r.json()["message"]
    assert await snapshot(app) == before
    assert (await client.get(f"/v3/tables/{t}/records/a")).json()["cells"][f]["value"] == "x"
    r = await client.patch(f"/v3/tables/{t}/records/a", json={"cells": {f: fits}})
    assert r.status_code == 200

    path = path_of(await add_source(client, t))
    r = await client.post(path, json={"a": "x" * 3000})
    assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
    r = await client.post(path, json={"a": "x" * 100})
    assert r.status_code == 200
    assert await count(client, t) == 2


async def test_poison_webhooks_in_one_workspace_never_fail_another(
    app: FastAPI, client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    """Senders to workspace B post bodies that fail (too deep, cell too large) while
    workspace A's senders post good ones: every one of A's rows is stored, each of B's bad
    posts gets its own 4xx, and B's good posts in the same batches are stored too."""
    good_table = await new_table(client)
    good = path_of(await add_source(client, good_table["id"]))
    other, ws_b = await other_user()
    bad_table = await new_table(other, "B", workspace=ws_b)
    r = await other.patch(f"/v3/tables/{bad_table['id']}", json=add_source_body(workspace=ws_b))
    bad = path_of(r.json()["source"])

    poison = [
        ("application/json", orjson.dumps({"a": "x" * 5000})),
        ("application/json", b'{"a": %s}' % nested(300)),
        ("application/json", b'{"a": %s}' % nested(1000)),
        ("text/plain", b'{"a": %s}' % nested(200)),
    ]
    async with make_client(app) as anon:

        async def send_good(i: int) -> httpx.Response:
            return await anon.post(good, json={"n": i})

        async def send_bad(i: int) -> httpx.Response:
            ctype, body = poison[i % len(poison)]
            return await anon.post(bad, content=body, headers={"Content-Type": ctype})

        async def send_fine_to_b(i: int) -> httpx.Response:
            return await anon.post(bad, json={"fine": i})

        tasks = []
        for i in range(120):
            tasks.append(send_good(i))
            tasks.append(send_bad(i))
            if i % 4 == 0:
                tasks.append(send_fine_to_b(i))
        answers = await asyncio.gather(*tasks)
    by_url: dict[str, list[httpx.Response]] = {}
    for r in answers:
        by_url.setdefault(r.request.url.path, []).append(r)
    assert [r.status_code for r in by_url[good]] == [200] * 120
    statuses = sorted({r.status_code for r in by_url[bad]})
    assert statuses == [200, 400, 413], statuses
    assert all(
        r.json()["type"] in ("BadRequest", "PayloadTooLarge")
        for r in by_url[bad]
        if r.status_code != 200
    )
    assert await count(client, good_table["id"]) == 120
    assert await count(other, bad_table["id"]) == 30
