"""Webhook sources: the management API, ingestion, its limits and its no-lost-rows promise."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack import AsyncClient, NotFoundError, UnauthorizedError
from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, UserFactory, login, make_client, new_table
from .fakes import free_port, poller

URL_RE = re.compile(
    r"^http://testserver/v3/sources/webhook/pull-in-data-from-a-webhook-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def add_source_body(
    name: str = "Webhook", workspace: int = 1, **type_settings: Any
) -> dict[str, Any]:
    settings = {"urlSlugText": "Pull in data from a Webhook", **type_settings}
    return {
        "tableSettings": {},
        "fieldGroupMap": {},
        "sourceSettings": {
            "addSource": {
                "name": name,
                "source": {
                    "name": name,
                    "workspaceId": workspace,
                    "type": "webhook",
                    "typeSettings": settings,
                },
            }
        },
    }


async def add_source(
    client: httpx.AsyncClient, table_id: str, name: str = "Webhook", **type_settings: Any
) -> dict[str, Any]:
    r = await client.patch(f"/v3/tables/{table_id}", json=add_source_body(name, **type_settings))
    assert r.status_code == 200, r.text
    body = r.json()
    source: dict[str, Any] = body["source"]
    source["table"] = body["table"]
    return source


def path_of(source: dict[str, Any]) -> str:
    return "/" + source["url"].split("/", 3)[3]


async def count(client: httpx.AsyncClient, table_id: str) -> int:
    r = await client.get(f"/v3/tables/{table_id}/count")
    return int(r.json()["tableTotalRecordsCount"])


async def rows(client: httpx.AsyncClient, table: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.get(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records")
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


@pytest.fixture
async def hook(client: httpx.AsyncClient) -> dict[str, Any]:
    table = await new_table(client, "Inbound", ("Note",))
    source = await add_source(client, table["id"])
    source["tableObj"] = table
    return source


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, httpx.AsyncClient]]]


@pytest.fixture
def limited_app(settings: Settings) -> AppFactory:
    """An app with other webhook settings: yields (logged-in client, anonymous client)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
        base = settings.model_dump(
            include={
                "database_url",
                "database_schema",
                "data_dir",
                "enable_reset",
                "port",
                # The suite's: at the standard cost, each app's dummy hash, demo user and
                # login would take ~0.2 s of CPU each.
                "password_hash_cost",
            }
        )
        application = create_app(Settings(**base, **overrides))
        async with application.router.lifespan_context(application):
            await lifecycle.reset(application)
            async with make_client(application) as c, make_client(application) as a:
                await login(c, DEMO_EMAIL, DEMO_PASSWORD)
                yield c, a

    return make


# -- managing sources ----------------------------------------------------------------------


async def test_add_source_creates_the_source_field_and_answers_the_url(
    client: httpx.AsyncClient,
) -> None:
    table = await new_table(client)
    source = await add_source(client, table["id"])
    assert URL_RE.match(source["url"]), source["url"]
    assert source["id"].startswith("s_0t") and source["tableId"] == table["id"]
    assert source["workspaceId"] == 1 and source["type"] == "webhook"
    assert source["hasAuthToken"] is False and "authToken" not in source
    assert source["numSourceRecords"] == 0 and source["deletedAt"] is None
    field = next(f for f in source["table"]["fields"] if f["id"] == source["fieldId"])
    assert field["type"] == "source" and field["name"] == "Webhook"
    assert field["typeSettings"]["sourceIds"] == [source["id"]]
    assert source["sourceSubscriptions"] == [{"tableId": table["id"], "fieldId": field["id"]}]

    second = await add_source(client, table["id"], urlSlugText="My CRM  Hook!")
    assert "/v3/sources/webhook/my-crm-hook-" in second["url"]
    names = [f["name"] for f in second["table"]["fields"] if f["type"] == "source"]
    assert names == ["Webhook", "Webhook 2"]


async def test_add_source_rejects_bad_bodies(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    body = add_source_body()
    body["sourceSettings"]["addSource"]["source"]["type"] = "salesforce"
    r = await client.patch(f"/v3/tables/{table['id']}", json=body)
    assert r.status_code == 400 and r.json()["type"] == "BadRequest"
    r = await client.patch(f"/v3/tables/{table['id']}", json=add_source_body(workspace=99))
    assert r.status_code == 400
    r = await client.patch(
        f"/v3/tables/{table['id']}", json={"sourceSettings": {"addSource": "webhook"}}
    )
    assert r.status_code == 400
    assert (await client.get(f"/v3/tables/{table['id']}/sources")).json() == []


async def test_list_get_and_foreign_ids(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    table = await new_table(client)
    a = await add_source(client, table["id"], "A")
    b = await add_source(client, table["id"], "B")
    for path in (f"/v3/tables/{table['id']}/sources", f"/v3/sources?tableId={table['id']}"):
        r = await client.get(path)
        assert r.status_code == 200
        assert [s["id"] for s in r.json()] == [a["id"], b["id"]]
        assert all("authToken" not in s for s in r.json())
    got = (await client.get(f"/v3/sources/{a['id']}")).json()
    assert got["url"] == a["url"] and got["name"] == "A"

    assert (await client.get("/v3/sources/s_nope")).json()["type"] == "NotFound"
    # Without tableId: every source of the caller's workspace (spec part 2 §2).
    listed = (await client.get("/v3/sources")).json()
    assert {a["id"], b["id"]} <= {s["id"] for s in listed}
    assert (await anon.get(f"/v3/sources/{a['id']}")).status_code == 401
    other, _ = await other_user()
    for method, path in (
        ("GET", f"/v3/sources/{a['id']}"),
        ("GET", f"/v3/sources?tableId={table['id']}"),
        ("GET", f"/v3/tables/{table['id']}/sources"),
        ("DELETE", f"/v3/sources/{a['id']}"),
        ("POST", f"/v3/sources/{a['id']}/auth-token"),
    ):
        r = await other.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
    assert (await client.get(f"/v3/sources/{a['id']}")).status_code == 200


async def test_viewer_cannot_change_sources(
    client: httpx.AsyncClient, hook: dict[str, Any], other_user: UserFactory
) -> None:
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    assert (await viewer.get(f"/v3/sources/{hook['id']}")).status_code == 200
    assert (await viewer.delete(f"/v3/sources/{hook['id']}")).status_code == 403


async def test_delete_at_both_paths(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    table_id = hook["tableId"]
    assert (await anon.post(path_of(hook), json={"a": 1})).status_code == 200
    other_table = await new_table(client, "Elsewhere")
    r = await client.delete(f"/v3/tables/{other_table['id']}/sources/{hook['id']}")
    assert r.status_code == 404
    r = await client.delete(f"/v3/tables/{table_id}/sources/{hook['id']}")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert (await client.get(f"/v3/sources/{hook['id']}")).status_code == 404
    assert (await client.get(f"/v3/tables/{table_id}/sources")).json() == []
    r = await anon.post(path_of(hook), json={"a": 2})
    assert r.status_code == 404 and r.json()["type"] == "NotFound"
    assert await count(client, table_id) == 1  # rows stay without deleteRecords
    assert (await client.delete(f"/v3/sources/{hook['id']}")).status_code == 404

    second = await add_source(client, table_id, "Second")
    r = await client.request("DELETE", f"/v3/sources/{second['id']}", json={})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert (await anon.post(path_of(second), json={"a": 3})).status_code == 404


async def test_delete_records_removes_only_the_rows_the_source_made(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    table = hook["tableObj"]
    other = await add_source(client, table["id"], "Other")
    for i in range(3):
        assert (await anon.post(path_of(hook), json={"i": i})).status_code == 200
    assert (await anon.post(path_of(other), json={"o": 1})).status_code == 200
    r = await client.post(
        f"/v3/tables/{table['id']}/records",
        json={"records": [{"cells": {table["byName"]["Note"]: "typed in"}}]},
    )
    assert r.status_code == 200
    assert await count(client, table["id"]) == 5
    source = (await client.get(f"/v3/sources/{hook['id']}")).json()
    assert source["numSourceRecords"] == 3

    r = await client.request("DELETE", f"/v3/sources/{hook['id']}", json={"deleteRecords": True})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert await count(client, table["id"]) == 2
    left = await rows(client, table)
    assert len(left) == 2
    assert {tuple(sorted(k for k in r["cells"] if k.startswith("f_0"))) for r in left} == {
        (other["fieldId"],),
        (table["byName"]["Note"],),
    }

    r = await client.delete(
        f"/v3/tables/{table['id']}/sources/{other['id']}", params={"deleteRecords": "true"}
    )
    assert r.status_code == 200 and await count(client, table["id"]) == 1


async def test_the_source_field_cannot_be_deleted_while_the_source_lives(
    client: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    path = f"/v3/tables/{hook['tableId']}/fields/{hook['fieldId']}"
    r = await client.delete(path)
    assert r.status_code == 400 and "delete that source first" in r.json()["message"]
    assert (await client.delete(f"/v3/sources/{hook['id']}")).status_code == 200
    assert (await client.delete(path)).status_code == 200


# -- ingestion -----------------------------------------------------------------------------


async def test_one_object_is_one_row_kept_whole(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    payload = {"email": "ada@example.com", "company": {"name": "Acme", "size": 12}, "tags": [1]}
    r = await anon.post(path_of(hook), json=payload)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["recordId"].startswith("r_0t")
    rec = (await client.get(f"/v3/tables/{hook['tableId']}/records/{body['recordId']}")).json()
    assert rec["cells"][hook["fieldId"]]["value"] == payload

    r = await anon.post(path_of(hook), json=[{"a": 1}, {"a": 2}])
    assert r.status_code == 200
    rec = (await client.get(f"/v3/tables/{hook['tableId']}/records/{r.json()['recordId']}")).json()
    assert rec["cells"][hook["fieldId"]]["value"] == [{"a": 1}, {"a": 2}]
    assert await count(client, hook["tableId"]) == 2
    source = (await client.get(f"/v3/sources/{hook['id']}")).json()
    assert source["numSourceRecords"] == 2 and source["numSubmissions"] == 2

    # A trailing slash, a text/plain body and the legacy form encoding are all accepted.
    r = await anon.post(
        path_of(hook) + "/", content=b'{"b": 1}', headers={"content-type": "text/plain"}
    )
    assert r.status_code == 200, r.text
    r = await anon.post(
        path_of(hook),
        content=b"%7B%22c%22%3A1%7D=",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    rec = (await client.get(f"/v3/tables/{hook['tableId']}/records/{r.json()['recordId']}")).json()
    assert rec["cells"][hook["fieldId"]]["value"] == {"c": 1}


async def test_bad_bodies_are_400_and_write_nothing(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    path = path_of(hook)
    for content in (b"", b"   ", b"not json", b'{"a": ', b"42", b'"text"', b"null", b"true"):
        r = await anon.post(path, content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400, (content, r.text)
        assert r.json()["type"] == "BadRequest"
    r = await anon.post(path, content=b"a=1&b=2", headers={"content-type": "text/plain"})
    assert r.status_code == 400
    assert await count(client, hook["tableId"]) == 0


async def test_nul_characters(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any], app: FastAPI
) -> None:
    r = await anon.post(
        path_of(hook), content=b'{"a": "x\\u0000y"}', headers={"content-type": "application/json"}
    )
    if app.state.db.is_sqlite:
        assert r.status_code == 200
        assert await count(client, hook["tableId"]) == 1
    else:  # jsonb cannot store NUL: refused up front, not a 5xx
        assert r.status_code == 400 and r.json()["type"] == "BadRequest"
        assert await count(client, hook["tableId"]) == 0


async def test_oversized_payload_is_413(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    big = {"blob": "x" * (100 * 1024)}
    r = await anon.post(path_of(hook), json=big)
    assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b'{"blob": "'
        for _ in range(11):
            yield b"y" * 10_000
        yield b'"}'

    r = await anon.post(path_of(hook), content=chunked())
    assert r.status_code == 413
    r = await anon.post(path_of(hook), json={"blob": "x" * (99 * 1024)})
    assert r.status_code == 200
    assert await count(client, hook["tableId"]) == 1


async def test_unknown_webhook_urls_are_404(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    known = path_of(hook)
    hook_part = known.rsplit("/", 1)[1]
    uid = hook_part[-36:]
    for path in (
        f"/v3/sources/webhook/pull-in-data-from-a-webhook-{uuid.uuid4()}",
        f"/v3/sources/webhook/some-other-slug-{uid}",
        "/v3/sources/webhook/garbage",
        f"/v3/sources/webhook/{uid}",
    ):
        r = await anon.post(path, json={"a": 1})
        assert r.status_code == 404 and r.json()["type"] == "NotFound", path
    r = await anon.post(known + "/extra", json={"a": 1})
    assert r.status_code == 404
    assert await count(client, hook["tableId"]) == 0


async def test_auth_token(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    table = await new_table(client)
    source = await add_source(client, table["id"], generateAuthToken=True)
    token = source["authToken"]
    assert token and source["hasAuthToken"] is True
    assert "generateAuthToken" not in source["typeSettings"]
    got = (await client.get(f"/v3/sources/{source['id']}")).json()
    assert got["hasAuthToken"] is True and "authToken" not in got
    path = path_of(source)

    r = await anon.post(path, json={"a": 1})
    assert r.status_code == 401 and r.json()["type"] == "Unauthorized"
    r = await anon.post(path, json={"a": 1}, headers={"x-clay-webhook-auth": token + "x"})
    assert r.status_code == 401
    r = await anon.post(path, json={"a": 1}, headers={"x-clay-webhook-auth": ""})
    assert r.status_code == 401
    assert await count(client, table["id"]) == 0
    r = await anon.post(path, json={"a": 1}, headers={"x-clay-webhook-auth": token})
    assert r.status_code == 200

    rotated = (await client.post(f"/v3/sources/{source['id']}/auth-token")).json()
    new = rotated["authToken"]
    assert new != token and rotated["hasAuthToken"] is True
    assert (
        await anon.post(path, json={}, headers={"x-clay-webhook-auth": token})
    ).status_code == 401
    assert (await anon.post(path, json={}, headers={"x-clay-webhook-auth": new})).status_code == 200

    removed = (await client.delete(f"/v3/sources/{source['id']}/auth-token")).json()
    assert removed["hasAuthToken"] is False and "authToken" not in removed
    assert (await anon.post(path, json={"a": 3})).status_code == 200
    assert await count(client, table["id"]) == 3


# -- idempotency ---------------------------------------------------------------------------


async def test_idempotency_key_sequential(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    path = path_of(hook)
    first = await anon.post(path, json={"a": 1}, headers={"Idempotency-Key": "evt-1"})
    again = await anon.post(path, json={"a": 1}, headers={"Idempotency-Key": "evt-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["recordId"] == again.json()["recordId"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    other = await anon.post(path, json={"a": 1}, headers={"Idempotency-Key": "evt-2"})
    assert other.json()["recordId"] != first.json()["recordId"]
    plain = await anon.post(path, json={"a": 1})
    assert plain.status_code == 200
    assert await count(client, hook["tableId"]) == 3
    source = (await client.get(f"/v3/sources/{hook['id']}")).json()
    assert source["numSubmissions"] == 3

    r = await anon.post(path, json={"a": 1}, headers={"Idempotency-Key": "k" * 201})
    assert r.status_code == 400
    # Keys belong to one source: the same key on another source is a new row.
    second = await add_source(client, hook["tableId"], "Second")
    r = await anon.post(path_of(second), json={"a": 1}, headers={"Idempotency-Key": "evt-1"})
    assert r.json()["recordId"] != first.json()["recordId"]
    assert await count(client, hook["tableId"]) == 4


async def test_idempotency_key_concurrent(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    path = path_of(hook)
    same = await asyncio.gather(
        *(anon.post(path, json={"n": 0}, headers={"Idempotency-Key": "dup"}) for _ in range(20))
    )
    assert {r.status_code for r in same} == {200}
    assert len({r.json()["recordId"] for r in same}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in same) == 19

    sends = [(k, n) for n in range(3) for k in range(40)]
    answers = await asyncio.gather(
        *(anon.post(path, json={"k": k}, headers={"Idempotency-Key": f"key-{k}"}) for k, _ in sends)
    )
    by_key: dict[int, set[str]] = {}
    for (k, _), r in zip(sends, answers, strict=True):
        assert r.status_code == 200
        by_key.setdefault(k, set()).add(r.json()["recordId"])
    assert all(len(ids) == 1 for ids in by_key.values())
    assert await count(client, hook["tableId"]) == 41


# -- the SDK -------------------------------------------------------------------------------


async def test_sdk_sources(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient(
        "http://testserver/v3", email=DEMO_EMAIL, password=DEMO_PASSWORD, transport=transport
    ) as clay:
        table = await clay.tables.create(1, "Hooks")
        source = await clay.sources.create(table.id, "Signups", auth_token=True)
        assert source.url and "/v3/sources/webhook/pull-in-data-from-a-webhook-" in source.url
        assert source.hasAuthToken and source.authToken
        assert [s.id for s in await clay.webhooks.list(table.id)] == [source.id]
        got = await clay.sources.get(source.id)
        assert got.authToken is None and got.fieldId == source.fieldId
        with pytest.raises(UnauthorizedError):
            await clay.sources.send(source, {"email": "a@b.co"})
        sent = await clay.sources.send(
            source, {"email": "a@b.co"}, auth_token=source.authToken, idempotency_key="x"
        )
        again = await clay.sources.send(
            source.id, {"email": "a@b.co"}, auth_token=source.authToken, idempotency_key="x"
        )
        assert sent["recordId"] == again["recordId"]
        rotated = await clay.sources.new_auth_token(source.id)
        assert rotated.authToken and rotated.authToken != source.authToken
        await clay.sources.remove_auth_token(source.id)
        await clay.sources.send(source.url or "", {"email": "c@d.co"})
        assert await clay.tables.count(table.id) == 2
        await clay.sources.delete(source.id, delete_records=True)
        assert await clay.tables.count(table.id) == 0
        with pytest.raises(NotFoundError):
            await clay.sources.get(source.id)


# -- over real HTTP, concurrently ----------------------------------------------------------


SENDERS = 16
PER_SENDER = 40


def _edge_cases_over_http(port: int, path: str) -> list[int]:
    """Statuses, each checked to carry ``{type, message}``, of: a chunked body over the
    100 KB limit, a Content-Length over it, a body exactly at it, an unknown URL, a
    non-JSON body, and a bad slug. Only the body at the limit may write a row."""
    limit = 100 * 1024
    at_limit = b'{"n": -1, "x": "' + b"y" * (limit - 18) + b'"}'
    assert len(at_limit) == limit
    statuses = []

    def answer(conn: http.client.HTTPConnection) -> int:
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200 or set(body) == {"type", "message"}, body
        return resp.status

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    try:
        for _ in range(11):
            chunk = b"y" * 10_000
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the whole body is sent
    statuses.append(answer(conn))
    conn.close()
    for target, body in (
        (path, at_limit + b" "),
        (path, at_limit),
        (path[:-12] + "000000000000", b"{}"),
        (path, b"{nope"),
        ("/v3/sources/webhook/garbage", b"{}"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", target, body, {"Content-Type": "application/json"})
        statuses.append(answer(conn))
        conn.close()
    return statuses


# -- audit: issue 4 ------------------------------------------------------------------------


@pytest.mark.parametrize("delete_records", [False, True])
async def test_source_deleted_while_posts_are_in_flight(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any], delete_records: bool
) -> None:
    """Each POST racing the delete either lands before it (2xx, and its row is there unless
    deleteRecords took it) or after it (404, nothing written)."""
    path = path_of(hook)

    async def send(n: int) -> httpx.Response:
        await asyncio.sleep(n * 0.001)
        return await anon.post(path, json={"n": n})

    async def delete() -> httpx.Response:
        await asyncio.sleep(0.03)
        body = {"deleteRecords": delete_records}
        return await client.request("DELETE", f"/v3/sources/{hook['id']}", json=body)

    before = [await anon.post(path, json={"before": n}) for n in range(5)]
    *answers, deleted = await asyncio.gather(*(send(n) for n in range(150)), delete())
    answers += before
    assert deleted.status_code == 200
    assert {r.status_code for r in answers} <= {200, 404}
    assert all(r.json()["type"] == "NotFound" for r in answers if r.status_code == 404)
    acked = {r.json()["recordId"] for r in answers if r.status_code == 200}
    stored = {r["id"] for r in await rows(client, hook["tableObj"])}
    assert stored == (set() if delete_records else acked)
    assert (await anon.post(path, json={"late": 1})).status_code == 404
    assert await count(client, hook["tableId"]) == len(stored)


async def test_a_chosen_auth_token_is_stored_hashed_and_enforced(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client)
    chosen = "my-own-secret-0123456789"
    r = await client.patch(f"/v3/tables/{table['id']}", json=add_source_body(authToken=chosen))
    assert r.status_code == 200, r.text
    source = r.json()["source"]
    assert source["hasAuthToken"] is True and source["authToken"] == chosen
    assert chosen not in json.dumps(r.json()["table"])
    assert "authToken" not in source["typeSettings"]
    for got in (
        (await client.get(f"/v3/sources/{source['id']}")).json(),
        *(await client.get(f"/v3/tables/{table['id']}/sources")).json(),
        (await client.get(f"/v3/tables/{table['id']}")).json(),
    ):
        assert chosen not in json.dumps(got)
    path = path_of(source)
    assert (await anon.post(path, json={"a": 1})).status_code == 401
    r = await anon.post(path, json={"a": 1}, headers={"x-clay-webhook-auth": chosen})
    assert r.status_code == 200

    for bad in ("", " padded ", "x" * 501, "tab\tin", 42, "new\n"):
        r = await client.patch(f"/v3/tables/{table['id']}", json=add_source_body(authToken=bad))
        assert r.status_code == 400 and r.json()["type"] == "BadRequest", bad
    both = add_source_body(authToken="abc", generateAuthToken=True)
    assert (await client.patch(f"/v3/tables/{table['id']}", json=both)).status_code == 400
    assert len((await client.get(f"/v3/tables/{table['id']}/sources")).json()) == 1


async def test_tokens_are_never_logged(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    table = await new_table(client)
    source = await add_source(client, table["id"], generateAuthToken=True)
    token = source["authToken"]
    path = path_of(source)
    for value in (token, token[:-1], token + "x"):
        await anon.post(path, json={"a": 1}, headers={"x-clay-webhook-auth": value})
    await anon.post(path, content=b"{", headers={"x-clay-webhook-auth": token})
    rotated = (await client.post(f"/v3/sources/{source['id']}/auth-token")).json()["authToken"]
    assert caplog.records  # something was captured, and none of it holds a token
    assert token[4:] not in caplog.text and rotated[4:] not in caplog.text


async def test_viewer_cannot_add_sources_or_touch_tokens(
    client: httpx.AsyncClient, hook: dict[str, Any], other_user: UserFactory
) -> None:
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    table_id = hook["tableId"]
    for method, path, body in (
        ("PATCH", f"/v3/tables/{table_id}", add_source_body()),
        ("POST", f"/v3/sources/{hook['id']}/auth-token", None),
        ("DELETE", f"/v3/sources/{hook['id']}/auth-token", None),
        ("DELETE", f"/v3/tables/{table_id}/sources/{hook['id']}", None),
        ("DELETE", f"/v3/sources/{hook['id']}", {"deleteRecords": True}),
    ):
        r = await viewer.request(method, path, json=body)
        assert r.status_code == 403 and r.json()["type"] == "Forbidden", (method, path)
    listed = (await viewer.get(f"/v3/sources?tableId={table_id}")).json()
    assert [s["id"] for s in listed] == [hook["id"]] and listed[0]["hasAuthToken"] is False


async def test_content_types(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    """JSON is read whatever the Content-Type; form fields become an object of strings;
    a body that is neither is a 400 (JSON or text types) or a 415 (other types)."""
    path = path_of(hook)

    async def value(r: httpx.Response) -> Any:
        assert r.status_code == 200, r.text
        rid = r.json()["recordId"]
        got = (await client.get(f"/v3/tables/{hook['tableId']}/records/{rid}")).json()
        return got["cells"][hook["fieldId"]]["value"]

    for ctype in (
        None,
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/cloudevents+json",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ):
        headers = {"content-type": ctype} if ctype else {}
        r = await anon.post(path, content='{"é": 1}'.encode(), headers=headers)
        assert await value(r) == {"é": 1}, ctype
    r = await anon.post(path, content=b'\xef\xbb\xbf{"bom": 1}')
    assert await value(r) == {"bom": 1}

    form = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    r = await anon.post(
        path, content=b"name=Ada+L&email=ada%40x.io&tag=a&tag=b&empty=", headers=form
    )
    assert await value(r) == {"name": "Ada L", "email": "ada@x.io", "tag": ["a", "b"], "empty": ""}
    r = await anon.post(path, content=b"%7B%22legacy%22%3A1%7D=", headers=form)
    assert await value(r) == {"legacy": 1}
    assert await count(client, hook["tableId"]) == 10

    for content, ctype, status in (
        (b"a=1&b=2", "text/plain", 400),
        (b"not json", "application/json", 400),
        (b"not json", None, 400),
        (b"not json", "application/problem+json", 400),
        (b"just text", "application/x-www-form-urlencoded", 400),
        (b"<a>1</a>", "application/xml", 415),
        (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415),
    ):
        headers = {"content-type": ctype} if ctype else {}
        r = await anon.post(path, content=content, headers=headers)
        assert r.status_code == status, (content, ctype, r.text)
        assert set(r.json()) == {"type", "message"}
    assert await count(client, hook["tableId"]) == 10


async def test_nul_in_form_bodies(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any], app: FastAPI
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    for content in (b"a=x%00y", b"%7B%22a%22%3A%22%5Cu0000%22%7D="):
        r = await anon.post(path_of(hook), content=content, headers=form)
        assert r.status_code == (200 if app.state.db.is_sqlite else 400), r.text
    assert await count(client, hook["tableId"]) == (2 if app.state.db.is_sqlite else 0)


async def _settled(client: httpx.AsyncClient, table_id: str) -> dict[str, dict[str, int]]:
    """Run-status counts (field → status → count) once no cell is pending."""
    deadline = time.monotonic() + 30
    while True:
        r = await client.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
        counts = {
            fid: {c["status"]: c["count"] for c in rows}
            for fid, rows in r.json()["statusCountsByField"].items()
        }
        pending = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
        if not any(s in pending for c in counts.values() for s in c):
            return counts
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.05)


async def test_webhook_rows_auto_run_only_when_auto_run_is_on(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    table_id, source_field = hook["tableId"], hook["fieldId"]
    r = await client.post(
        f"/v3/tables/{table_id}/fields",
        json={
            "name": "Email",
            "type": "formula",
            "typeSettings": {"formulaText": "{{" + source_field + "}}?.email"},
        },
    )
    assert r.status_code == 200, r.text
    email = r.json()["field"]["id"]

    async def cell(record_id: str) -> Any:
        got = (await client.get(f"/v3/tables/{table_id}/records/{record_id}")).json()
        return got["cells"].get(email, {}).get("value")

    on = (await anon.post(path_of(hook), json={"email": "ada@example.com"})).json()["recordId"]
    assert await _settled(client, table_id) == {email: {"SUCCESS": 1}}
    assert await cell(on) == "ada@example.com"

    r = await client.patch(f"/v3/tables/{table_id}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.status_code == 200
    off = (await anon.post(path_of(hook), json={"email": "bob@example.com"})).json()["recordId"]
    await asyncio.sleep(0.3)
    assert await _settled(client, table_id) == {email: {"SUCCESS": 1}}
    assert await cell(off) is None

    await client.patch(f"/v3/tables/{table_id}", json={"tableSettings": {"AUTO_RUN_ON": True}})
    again = (await anon.post(path_of(hook), json={"email": "cy@example.com"})).json()["recordId"]
    assert await _settled(client, table_id) == {email: {"SUCCESS": 2}}
    assert await cell(again) == "cy@example.com" and await cell(off) is None


async def test_token_options_in_either_typesettings(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    """``generateAuthToken`` is honoured in ``addSource.typeSettings`` as well as in
    ``addSource.source.typeSettings``; an unknown token option is a 400 and creates nothing."""
    table = await new_table(client)
    body = add_source_body()
    body["sourceSettings"]["addSource"]["typeSettings"] = {"generateAuthToken": True}
    r = await client.patch(f"/v3/tables/{table['id']}", json=body)
    assert r.status_code == 200, r.text
    source = r.json()["source"]
    assert source["hasAuthToken"] is True and source["authToken"]
    assert "generateAuthToken" not in source["typeSettings"]
    assert (await anon.post(path_of(source), json={"a": 1})).status_code == 401
    r = await anon.post(
        path_of(source), json={"a": 1}, headers={"x-clay-webhook-auth": source["authToken"]}
    )
    assert r.status_code == 200

    fields = len((await client.get(f"/v3/tables/{table['id']}")).json()["table"]["fields"])
    for where, options in (
        ("addSource", {"generateAuthTokens": True}),
        ("source", {"requireAuth": True}),
        ("source", {"generateAuthToken": "yes"}),
        ("addSource", {"authToken": ""}),
        ("both", {"generateAuthToken": True}),
    ):
        bad = add_source_body()
        add = bad["sourceSettings"]["addSource"]
        if where in ("addSource", "both"):
            add["typeSettings"] = dict(options)
        if where in ("source", "both"):
            add["source"]["typeSettings"].update(options)
        if where == "both":
            add["source"]["typeSettings"]["generateAuthToken"] = False
        r = await client.patch(f"/v3/tables/{table['id']}", json=bad)
        assert r.status_code == 400, (where, options, r.text)
        assert r.json()["type"] == "BadRequest"
    r = await client.get(f"/v3/tables/{table['id']}/sources")
    assert len(r.json()) == 1
    assert len((await client.get(f"/v3/tables/{table['id']}")).json()["table"]["fields"]) == fields


# -- with apps or a server of their own ------------------------------------------------
# Last in the file: each of these closes the shared app, which the tests above keep using.


async def test_source_urls_follow_the_request_or_the_public_base_url(
    limited_app: AppFactory,
) -> None:
    """Without CLAYSTACK_PUBLIC_BASE_URL a URL names the address the request came to (not the
    settings' port); with it, the public address, in every answer that carries one."""
    async with limited_app(public_base_url="https://clay.example.com/") as (c, _):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        assert source["url"].startswith("https://clay.example.com/v3/sources/webhook/")
        r = await c.get(f"/v3/sources/{source['id']}")
        assert r.json()["url"] == source["url"]
    async with limited_app() as (c, _):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        assert source["url"].startswith("http://testserver/v3/sources/webhook/")
        r = await c.get(f"/v3/sources/{source['id']}", headers={"Host": "10.1.2.3:9999"})
        assert r.json()["url"].startswith("http://10.1.2.3:9999/v3/sources/webhook/")


async def test_rate_limit_is_429_with_retry_after_and_writes_nothing(
    limited_app: AppFactory,
) -> None:
    async with limited_app(webhook_rate_per_second=0.5, webhook_rate_burst=3) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = [await a.post(path_of(source), json={"i": i}) for i in range(5)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert refused.json()["type"] == "TooManyRequests"
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        assert await count(c, table["id"]) == 3
        # The bucket is per workspace: another source of the same workspace shares it.
        other = await add_source(c, table["id"], "Other")
        assert (await a.post(path_of(other), json={})).status_code == 429


async def test_two_api_processes_share_one_rate_limit(
    limited_app: AppFactory, settings: Settings
) -> None:
    """On PostgreSQL the bucket is in the database: two apps (as two API processes would)
    let the burst through once between them, not once each."""
    if settings.is_sqlite:
        pytest.skip("SQLite serves one process; its limits stay in memory")
    limits = {"webhook_rate_per_second": 0.01, "webhook_rate_burst": 4}
    async with limited_app(**limits) as (_, a), limited_app(**limits) as (c, b):
        table = await new_table(c)
        path = path_of(await add_source(c, table["id"]))
        answers = [await (a, b)[i % 2].post(path, json={"i": i}) for i in range(8)]
        assert [r.status_code for r in answers] == [200] * 4 + [429] * 4
        assert {r.json()["type"] for r in answers[4:]} == {"TooManyRequests"}
        assert await count(c, table["id"]) == 4


async def test_hosted_limits_profile(limited_app: AppFactory) -> None:
    assert Settings().webhook_rate_per_second == 0
    hosted = Settings(limits_profile="hosted", webhook_max_table_rows=7)
    assert (hosted.webhook_rate_per_second, hosted.webhook_rate_burst) == (10, 20)
    assert hosted.webhook_max_submissions_per_source == 50_000
    assert hosted.webhook_max_payload_bytes == 100 * 1024
    assert hosted.webhook_max_table_rows == 7  # what is set explicitly wins
    async with limited_app(limits_profile="hosted") as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = await asyncio.gather(*(a.post(path_of(source), json={}) for _ in range(40)))
        codes = [r.status_code for r in answers]
        assert codes.count(200) >= 20 and codes.count(429) >= 1 and set(codes) == {200, 429}
        assert await count(c, table["id"]) == codes.count(200)


async def test_submission_cap_per_source(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=3) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        codes = [(await a.post(path_of(source), json={"i": i})).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = await a.post(path_of(source), json={})
        assert r.json()["type"] == "TooManyRequests" and "retry-after" in r.headers
        assert await count(c, table["id"]) == 3
        # Deleting rows does not give submissions back: the cap is over the source's life.
        await c.request("DELETE", f"/v3/tables/{table['id']}/records")
        assert (await a.post(path_of(source), json={})).status_code == 429
        fresh = await add_source(c, table["id"], "Fresh")
        assert (await a.post(path_of(fresh), json={})).status_code == 200


async def test_table_row_cap(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_table_rows=3) as (c, a):
        table = await new_table(c, fields=("Name",))
        r = await c.post(
            f"/v3/tables/{table['id']}/records", json={"records": [{"cells": {}}, {"cells": {}}]}
        )
        assert r.status_code == 200
        source = await add_source(c, table["id"])
        codes = [(await a.post(path_of(source), json={"i": i})).status_code for i in range(3)]
        assert codes == [200, 429, 429]
        assert await count(c, table["id"]) == 3
        await c.request("DELETE", f"/v3/tables/{table['id']}/records")
        assert (await a.post(path_of(source), json={})).status_code == 200


async def test_concurrent_posts_near_a_cap_never_overshoot(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=25) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = await asyncio.gather(*(a.post(path_of(source), json={"i": i}) for i in range(60)))
        codes = sorted(r.status_code for r in answers)
        assert codes.count(200) == 25 and codes.count(429) == 35
        assert await count(c, table["id"]) == 25


def test_concurrent_senders_over_real_http(database: Any, tmp_path: Path) -> None:
    """16 senders against ``claystack serve`` in its own process: every 2xx has its row,
    no row lacks a 2xx, the count matches, and retried keys add nothing."""
    url, schema = database
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env.update(
        CLAYSTACK_DATA_DIR=str(tmp_path),
        CLAYSTACK_DATABASE_URL=url,
        CLAYSTACK_DATABASE_SCHEMA=schema,
        CLAYSTACK_PASSWORD_HASH_COST="low",
    )
    cmd = [sys.executable, "-c", "from claystack.cli import main; main()", "serve"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a start on a loaded machine
        with poller() as poll:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    poll.get(base + "/_claystack/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as c:
            c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            table = c.post("/v3/tables", json={"name": "Load", "workspaceId": 1}).json()["table"]
            r = c.patch(f"/v3/tables/{table['id']}", json=add_source_body())
            source = r.json()["source"]
        path = path_of(source)
        answers: list[tuple[int, int, str | None]] = []
        lock = threading.Lock()

        def post(conn: http.client.HTTPConnection, n: int, keyed: bool) -> None:
            headers = {"Content-Type": "application/json"}
            if keyed:
                headers["Idempotency-Key"] = f"k{n}"
            conn.request("POST", path, b'{"n": %d}' % n, headers)
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            with lock:
                answers.append((n, resp.status, answer.get("recordId")))

        def sender(s: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(PER_SENDER):
                n = s * PER_SENDER + i
                # Every third payload carries a key; each keyed payload is also sent by
                # the next sender, racing the first delivery.
                post(conn, n, keyed=n % 3 == 0)
                prev = ((s - 1) % SENDERS) * PER_SENDER + i
                if prev % 3 == 0:
                    post(conn, prev, keyed=True)
            conn.close()

        threads = [threading.Thread(target=sender, args=(s,)) for s in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        with httpx.Client(base_url=base, timeout=60) as c:
            c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            got = c.get(
                f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records",
                params={"limit": 10_000},
            ).json()["results"]
            total = c.get(f"/v3/tables/{table['id']}/count").json()["tableTotalRecordsCount"]
            edge_answers = _edge_cases_over_http(port, path)
            after = c.get(f"/v3/tables/{table['id']}/count").json()["tableTotalRecordsCount"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    assert edge_answers == [413, 413, 200, 404, 400, 404]
    assert after == total + 1

    stored = {r["id"]: r["cells"][source["fieldId"]]["value"]["n"] for r in got}
    assert all(status == 200 for _, status, _ in answers)
    ids_by_n: dict[int, set[str | None]] = {}
    for n, _, rid in answers:
        ids_by_n.setdefault(n, set()).add(rid)
    assert all(len(ids) == 1 for ids in ids_by_n.values())
    acked = {next(iter(ids)): n for n, ids in ids_by_n.items()}
    assert acked == stored
    assert total == len(stored) == SENDERS * PER_SENDER


async def test_token_change_in_another_process_applies_at_once(limited_app: AppFactory) -> None:
    """Two servers on one database: a token rotated or added on one is enforced by the
    other at once, although the other has the webhook URL cached."""
    async with (
        limited_app(webhook_cache_seconds=60) as (c, _),
        limited_app(webhook_cache_seconds=60) as (_, other),
    ):
        await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        table = await new_table(c)
        source = await add_source(c, table["id"], generateAuthToken=True)
        path, old = path_of(source), source["authToken"]
        auth = {"x-clay-webhook-auth": old}
        assert (await other.post(path, json={"n": 1}, headers=auth)).status_code == 200
        new = (await c.post(f"/v3/sources/{source['id']}/auth-token")).json()["authToken"]
        r = await other.post(path, json={"n": 2}, headers=auth)
        assert r.status_code == 401 and r.json()["type"] == "Unauthorized"
        r = await other.post(path, json={"n": 3}, headers={"x-clay-webhook-auth": new})
        assert r.status_code == 200

        plain = await add_source(c, table["id"], "Plain")
        assert (await other.post(path_of(plain), json={"n": 4})).status_code == 200
        await c.post(f"/v3/sources/{plain['id']}/auth-token")
        r = await other.post(path_of(plain), json={"n": 5})
        assert r.status_code == 401
        assert await count(c, table["id"]) == 3


async def test_payload_limit_boundary(limited_app: AppFactory) -> None:
    limit = 1000
    async with limited_app(webhook_max_payload_bytes=limit) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        path = path_of(source)

        def body(size: int) -> bytes:
            return b'{"x": "' + b"y" * (size - 9) + b'"}'

        async def chunked(data: bytes) -> AsyncIterator[bytes]:  # no Content-Length
            for start in range(0, len(data), 100):
                yield data[start : start + 100]

        assert len(body(limit)) == limit
        assert (await a.post(path, content=body(limit))).status_code == 200
        r = await a.post(path, content=body(limit + 1))
        assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
        assert str(limit) in r.json()["message"]
        assert (await a.post(path, content=chunked(body(limit)))).status_code == 200
        r = await a.post(path, content=chunked(body(limit + 1)))
        assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
        # A Content-Length that understates the body does not get past the limit either.
        r = await a.post(path, content=chunked(body(5 * limit)), headers={"content-length": "10"})
        assert r.status_code in (400, 413)
        assert await count(c, table["id"]) == 2


async def test_retry_after_is_a_whole_number_of_seconds(limited_app: AppFactory) -> None:
    async with limited_app(
        webhook_rate_per_second=1000, webhook_rate_burst=1, webhook_max_submissions_per_source=3
    ) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        refused = []
        for _ in range(40):
            r = await a.post(path_of(source), json={})
            if r.status_code == 429:
                refused.append(r)
        assert refused
        for r in refused:
            assert re.fullmatch(r"[1-9][0-9]*", r.headers["retry-after"]), r.headers
            assert r.json()["type"] == "TooManyRequests"
        assert await count(c, table["id"]) == 3


async def test_concurrent_posts_near_the_row_cap_never_overshoot(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_table_rows=10) as (c, a):
        table = await new_table(c)
        one = await add_source(c, table["id"], "One")
        two = await add_source(c, table["id"], "Two")
        answers = await asyncio.gather(
            *(a.post(path_of(one if i % 2 else two), json={"i": i}) for i in range(40))
        )
        codes = [r.status_code for r in answers]
        assert codes.count(200) == 10 and codes.count(429) == 30
        assert await count(c, table["id"]) == 10


async def test_idempotency_keys_across_sources_and_limits(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=2) as (c, a):
        table = await new_table(c)
        one = await add_source(c, table["id"], "One")
        two = await add_source(c, table["id"], "Two")
        key = {"Idempotency-Key": "evt-42"}
        # The same key in flight on two sources at once: one row on each.
        answers = await asyncio.gather(
            *(
                a.post(path_of(src), json={"n": n}, headers=key)
                for n in range(6)
                for src in (one, two)
            )
        )
        assert {r.status_code for r in answers} == {200}
        ids = {r.json()["recordId"] for r in answers}
        assert len(ids) == 2 and await count(c, table["id"]) == 2
        # At the submission cap a retry still answers its row; a new delivery is refused.
        assert (await a.post(path_of(one), json={})).status_code == 200
        assert (await a.post(path_of(one), json={})).status_code == 429
        again = await a.post(path_of(one), json={"n": 0}, headers=key)
        assert again.status_code == 200 and again.json()["recordId"] in ids
        assert again.headers["idempotent-replayed"] == "true"
        # A refused or malformed request does not use up its key.
        r = await a.post(path_of(two), content=b"{", headers={"Idempotency-Key": "evt-43"})
        assert r.status_code == 400
        r = await a.post(path_of(two), json={"ok": 1}, headers={"Idempotency-Key": "evt-43"})
        assert r.status_code == 200 and "idempotent-replayed" not in r.headers
        assert await count(c, table["id"]) == 4


async def test_batches_across_tables_and_processes_keep_every_count(
    limited_app: AppFactory, settings: Settings
) -> None:
    """Concurrent POSTs to three sources on two tables (on PostgreSQL from two servers on
    one database): a group commit holds rows of several sources and tables (on PostgreSQL
    one statement writes them all), and every row, row count, counter and auto-run adds
    up; a cell over ``max_cell_bytes`` fails alone, with its 413."""
    async with AsyncExitStack() as stack:
        c, anon = await stack.enter_async_context(limited_app(max_cell_bytes=200))
        other = anon
        if not settings.is_sqlite:  # SQLite serves one process
            _, other = await stack.enter_async_context(limited_app(max_cell_bytes=200))
            await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        one, two = await new_table(c, "One"), await new_table(c, "Two")
        a = await add_source(c, one["id"], "A")
        b = await add_source(c, two["id"], "B")
        a2 = await add_source(c, one["id"], "A2")
        formula = {"formulaText": "{{" + a["fieldId"] + "}}?.n"}
        r = await c.post(
            f"/v3/tables/{one['id']}/fields",
            json={"name": "N", "type": "formula", "typeSettings": formula},
        )
        assert r.status_code == 200, r.text
        n_field = r.json()["field"]["id"]
        sends = [(sender, src) for _ in range(15) for sender in (anon, other) for src in (a, b, a2)]
        big = {"blob": "x" * 300}
        answers = await asyncio.gather(
            *(sender.post(path_of(src), json={"n": i}) for i, (sender, src) in enumerate(sends)),
            anon.post(path_of(b), json=big),
            other.post(path_of(a), json=big),
        )
        assert [r.status_code for r in answers[: len(sends)]] == [200] * len(sends)
        for r in answers[len(sends) :]:
            assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge", r.text
        assert len({r.json()["recordId"] for r in answers[: len(sends)]}) == len(sends)
        assert await count(c, one["id"]) == 60 and await count(c, two["id"]) == 30
        for table, n in ((one, 60), (two, 30)):
            got = (await c.get(f"/v3/tables/{table['id']}")).json()["table"]
            assert got["rowCount"] == n, got
        for src in (a, b, a2):
            source = (await c.get(f"/v3/sources/{src['id']}")).json()
            assert source["numSourceRecords"] == 30 and source["numSubmissions"] == 30
        # Only A's rows fill the formula's input: 30 cells run, on either server.
        assert (await _settled(c, one["id"]))[n_field] == {"SUCCESS": 30}
        stored = await rows(c, one)
        by_id = {r["id"]: r for r in stored}
        for r, (_, src) in zip(answers, sends, strict=False):
            if src is a:
                row = by_id[r.json()["recordId"]]
                assert row["cells"][n_field]["value"] == row["cells"][a["fieldId"]]["value"]["n"]


async def test_the_group_commit_waits_only_for_senders_it_expects(limited_app: AppFactory) -> None:
    """With a long batch wait: a lone sender is never held (its batches hold one), and a
    burst as large as the last batch goes out as soon as it is queued, not at the end of
    the wait. (A broken wait would hold each of these for a minute; the deadline says so.)"""
    async with limited_app(webhook_batch_wait_ms=60_000) as (c, anon):
        table = await new_table(c)
        src = await add_source(c, table["id"])

        async def post(n: int) -> str:
            r = await anon.post(path_of(src), json={"n": n})
            assert r.status_code == 200, r.text
            return str(r.json()["recordId"])

        async def burst(start: int) -> set[str]:
            return set(await asyncio.gather(*(post(start + i) for i in range(4))))

        for n in range(3):
            await asyncio.wait_for(post(n), 30)
        ids = await asyncio.wait_for(burst(10), 30)
        # One more, which the writer holds for the others it expects; they come later.
        lone = asyncio.create_task(post(20))
        for _ in range(3):
            assert (await c.get("/v3/me")).status_code == 200
        ids |= await asyncio.wait_for(burst(30), 30)
        ids.add(await asyncio.wait_for(lone, 30))
        assert len(ids) == 9 and await count(c, table["id"]) == 12


async def test_two_processes_share_keys_and_caps(limited_app: AppFactory) -> None:
    """Two servers on one database: a key in flight on both makes one row, and the
    submission cap holds for their sum."""
    async with (
        limited_app(webhook_max_submissions_per_source=5) as (c, anon),
        limited_app(webhook_max_submissions_per_source=5) as (_, other),
    ):
        await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        table = await new_table(c)
        keyed = await add_source(c, table["id"], "Keyed")
        key = {"Idempotency-Key": "same"}
        answers = await asyncio.gather(
            *(sender.post(path_of(keyed), json={}, headers=key) for sender in [anon, other] * 8)
        )
        assert {r.status_code for r in answers} == {200}
        assert len({r.json()["recordId"] for r in answers}) == 1

        capped = await add_source(c, table["id"], "Capped")
        answers = await asyncio.gather(
            *(sender.post(path_of(capped), json={}) for sender in [anon, other] * 10)
        )
        codes = [r.status_code for r in answers]
        assert codes.count(200) == 5 and codes.count(429) == 15
        assert await count(c, table["id"]) == 6
