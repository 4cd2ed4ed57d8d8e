"""Webhook sources, the management API: adding, listing, reading and deleting sources,
their auth tokens and who may touch them, the SDK's calls, and the URLs sources answer."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack import AsyncClient, NotFoundError, UnauthorizedError

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, UserFactory, new_table
from .sources_fixtures import URL_RE, AppFactory, add_source, add_source_body, count, path_of, rows
from .sources_fixtures import hook as hook  # noqa: F401 - fixtures
from .sources_fixtures import limited_app as limited_app  # noqa: F401

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
