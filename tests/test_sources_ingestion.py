"""Webhook sources, ingestion: a POST to a source's URL becomes a row kept whole; bad,
oversized and unknown-URL requests; auth tokens; idempotency keys; content types; a
source deleted mid-flight; auto-run of the rows a webhook adds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import new_table
from .sources_fixtures import _settled, add_source, count, path_of, rows
from .sources_fixtures import hook as hook  # noqa: F401 - a fixture

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
    # Auto-run queues in the transaction that adds the row: had it queued the new row's
    # cell, the answer would find it pending (and this wait, it computed); nor does it run
    # later (below: still blank once the next row's cell has run).
    assert await _settled(client, table_id) == {email: {"SUCCESS": 1}}
    assert await cell(off) is None

    await client.patch(f"/v3/tables/{table_id}", json={"tableSettings": {"AUTO_RUN_ON": True}})
    again = (await anon.post(path_of(hook), json={"email": "cy@example.com"})).json()["recordId"]
    assert await _settled(client, table_id) == {email: {"SUCCESS": 2}}
    assert await cell(again) == "cy@example.com" and await cell(off) is None
