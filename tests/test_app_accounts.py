"""Integrations and connected accounts over HTTP; secrets never come back out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext
from claystack.server.errors import BadRequest, NotFound
from claystack.server.services import app_accounts
from claystack.server.storage.models import AppAccount

from .conftest import UserFactory

SECRET = "sk-live-7f3a9c2e1b5d4e8fa0c6b2d9"
ROTATED = "sk-live-rotated-0a1b2c3d4e5f6a7b"


async def _lookup(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=inputs.get("domain"))


ACME = Integration(
    key="acme-enrich",
    display_name="Acme Enrich",
    actions=(
        Action(
            key="acme-company",
            display_name="Find company",
            run=_lookup,
            input_schema={"type": "object", "properties": {"domain": {"type": "string"}}},
            output_schema={"type": "object", "properties": {"name": {"type": "string"}}},
            credits=3,
        ),
    ),
    credentials_schema={
        "type": "object",
        "properties": {
            "apiKey": {"type": "string", "secret": True, "minLength": 8},
            "baseUrl": {"type": "string"},
            "region": {"type": "string", "enum": ["eu", "us"]},
            "password": {"type": "string", "format": "password"},
        },
        "required": ["apiKey"],
        "additionalProperties": False,
    },
    max_concurrency=4,
    rate_per_second=10.0,
)
FREE = Integration(key="acme-free", display_name="Acme Free", actions=())


@pytest.fixture(autouse=True)
def acme() -> Iterator[None]:
    registry.register(ACME)
    registry.register(FREE)
    yield
    registry.unregister(ACME.key)
    registry.unregister(FREE.key)


@pytest.fixture
async def seen(client: httpx.AsyncClient) -> AsyncIterator[list[str]]:
    """Every response body the demo client receives."""
    bodies: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        bodies.append(response.text)

    client.event_hooks["response"].append(keep)
    yield bodies


async def _create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    payload = {"appAccountTypeId": ACME.key, "name": "Acme prod", "credentials": {}, **body}
    return await client.post("/v3/workspaces/1/app-accounts", json=payload)


async def test_integrations_are_listed_with_actions_and_secret_keys(
    client: httpx.AsyncClient,
) -> None:
    seed = (await client.get("/v3/integrations")).json()
    # The workspace route is Clay's JSON array of accounts (spec part 2 §1.1).
    assert (await client.get("/v3/workspaces/1/app-accounts")).json() == seed["appAccounts"]
    acme = next(i for i in seed["integrations"] if i["key"] == ACME.key)
    assert acme["displayName"] == "Acme Enrich" and acme["type"] == ACME.key
    assert acme["actions"] == [
        {
            "key": "acme-company",
            "displayName": "Find company",
            "inputSchema": ACME.actions[0].input_schema,
            "outputSchema": ACME.actions[0].output_schema,
            "credits": 3,
        }
    ]
    assert acme["secretCredentialKeys"] == ["apiKey", "password"]
    props = acme["credentialsSchema"]["properties"]
    assert props["apiKey"]["secret"] is True and props["password"]["writeOnly"] is True
    assert "secret" not in props["baseUrl"]
    assert acme["requiresAccount"] is True and acme["maxConcurrency"] == 4
    assert acme["ratePerSecond"] == 10.0
    free = next(i for i in seed["integrations"] if i["key"] == FREE.key)
    assert free["requiresAccount"] is False and free["credentialsSchema"] == {}
    assert seed["appAccounts"] == []

    one = (await client.get(f"/v3/integrations/{ACME.key}")).json()["integration"]
    assert one == (await client.get(f"/v3/app-accounts/type/{ACME.key}")).json()["integration"]
    assert one["appAccounts"] == [] and one["actions"] == acme["actions"]
    for path in ("/v3/integrations/nope", "/v3/app-accounts/type/nope"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json() == {"type": "NotFound", "message": "Integration not found: nope"}


async def test_account_lifecycle_never_shows_secrets(
    client: httpx.AsyncClient, seen: list[str], app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = await _create(
        client, credentials={"apiKey": SECRET, "baseUrl": "https://api.acme.test", "region": "eu"}
    )
    assert r.status_code == 200, r.text
    account = r.json()["appAccount"]
    assert account["id"].startswith("aa_0t") and account["workspaceId"] == 1
    assert account["appAccountTypeId"] == account["type"] == ACME.key
    assert account["name"] == "Acme prod" and account["createdBy"] == 1
    assert account["credentialKeys"] == ["apiKey", "baseUrl", "region"]
    assert account["createdAt"].endswith("Z") and account["deletedAt"] is None
    aid = account["id"]

    # ``type`` is accepted for appAccountTypeId; the name defaults to the integration's.
    r = await client.post(
        "/v3/workspaces/1/app-accounts", json={"type": FREE.key, "credentials": {"x": 1}}
    )
    assert r.status_code == 200 and r.json()["appAccount"]["name"] == "Acme Free"
    free_id = r.json()["appAccount"]["id"]

    listed = (await client.get("/v3/workspaces/1/app-accounts")).json()
    assert [a["id"] for a in listed] == [aid, free_id]
    assert (await client.get("/v3/integrations")).json()["appAccounts"] == listed
    one = (await client.get(f"/v3/integrations/{ACME.key}")).json()["integration"]
    assert [a["id"] for a in one["appAccounts"]] == [aid]
    assert (await client.get(f"/v3/app-accounts/{aid}")).json()["appAccount"] == account

    r = await client.patch(f"/v3/app-accounts/{aid}", json={"name": "Acme (renamed)"})
    assert r.status_code == 200 and r.json()["appAccount"]["name"] == "Acme (renamed)"
    assert r.json()["appAccount"]["credentialKeys"] == ["apiKey", "baseUrl", "region"]

    async with app.state.db.transaction(write=False) as conn:
        creds = await app_accounts.resolve_credentials(conn, 1, aid, ACME.key)
        stored = await conn.scalar(select(AppAccount.credentials).where(AppAccount.id == aid))
    assert creds == {"apiKey": SECRET, "baseUrl": "https://api.acme.test", "region": "eu"}
    assert stored and SECRET not in stored and "api.acme.test" not in stored

    r = await client.patch(f"/v3/app-accounts/{aid}", json={"credentials": {"apiKey": ROTATED}})
    assert r.status_code == 200 and r.json()["appAccount"]["credentialKeys"] == ["apiKey"]
    async with app.state.db.transaction(write=False) as conn:
        assert await app_accounts.resolve_credentials(conn, 1, aid, ACME.key) == {"apiKey": ROTATED}

    # Bad replacements change nothing.
    r = await client.patch(f"/v3/app-accounts/{aid}", json={"credentials": {"baseUrl": "x"}})
    assert r.status_code == 400
    message = 'Invalid request parameter(s): Field "credentials.apiKey" - Required'
    assert r.json()["message"] == message
    r = await client.patch(f"/v3/app-accounts/{aid}", json={"name": ""})
    assert r.status_code == 400

    r = await client.delete(f"/v3/app-accounts/{aid}")
    assert r.status_code == 200 and r.json() == {"success": True}
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, f"/v3/app-accounts/{aid}", json={"name": "x"})
        assert r.status_code == 404 and r.json()["message"] == "Connected account not found"
    listed = (await client.get("/v3/workspaces/1/app-accounts")).json()
    assert [a["id"] for a in listed] == [free_id]
    async with app.state.db.transaction(write=False) as conn:
        with pytest.raises(NotFound):
            await app_accounts.resolve_credentials(conn, 1, aid, ACME.key)
        stored = await conn.scalar(select(AppAccount.credentials).where(AppAccount.id == aid))
    assert stored == ""

    assert len(seen) >= 15
    for body in seen:
        assert SECRET not in body and ROTATED not in body
    assert SECRET not in caplog.text and ROTATED not in caplog.text


async def test_credentials_are_checked_against_the_schema(
    client: httpx.AsyncClient, seen: list[str]
) -> None:
    cases = [
        ({}, "credentials.apiKey", "Required"),
        ({"apiKey": 12345678}, "credentials.apiKey", "expected string"),
        ({"apiKey": "short"}, "credentials.apiKey", "shorter than 8 characters"),
        ({"apiKey": SECRET, "region": "mars"}, "credentials.region", "not one of"),
        ({"apiKey": SECRET, "token": SECRET}, "credentials.token", "not a credential"),
    ]
    for creds, field, text in cases:
        r = await _create(client, credentials=creds)
        assert r.status_code == 400, creds
        body = r.json()
        assert body["type"] == "BadRequest"
        assert body["message"].startswith(f'Invalid request parameter(s): Field "{field}" - {text}')
    r = await _create(client, credentials="not-an-object")
    assert r.status_code == 400 and r.json()["type"] == "BadRequest"
    r = await _create(client, appAccountTypeId="no-such-integration", credentials={"a": "b"})
    assert r.status_code == 400
    assert "no integration 'no-such-integration'" in r.json()["message"]
    r = await client.post("/v3/workspaces/1/app-accounts", json={"credentials": {}})
    assert r.status_code == 400 and '"appAccountTypeId" - Required' in r.json()["message"]
    r = await _create(client, name="   ", credentials={"apiKey": SECRET})
    assert r.status_code == 400
    # Nothing was half-written.
    assert (await client.get("/v3/workspaces/1/app-accounts")).json() == []
    assert all(SECRET not in body for body in seen)


async def test_resolve_credentials_checks_workspace_and_type(
    client: httpx.AsyncClient, app: FastAPI, other_user: UserFactory
) -> None:
    aid = (await _create(client, credentials={"apiKey": SECRET})).json()["appAccount"]["id"]
    _, other_ws = await other_user()
    async with app.state.db.transaction(write=False) as conn:
        with pytest.raises(NotFound):
            await app_accounts.resolve_credentials(conn, other_ws, aid, ACME.key)
        with pytest.raises(NotFound):
            await app_accounts.resolve_credentials(conn, 1, "aa_missing", ACME.key)
        with pytest.raises(BadRequest, match="is for 'acme-enrich', not 'acme-free'"):
            await app_accounts.resolve_credentials(conn, 1, aid, FREE.key)
        with pytest.raises(BadRequest, match="cannot be read"):
            await app_accounts.resolve_credentials(
                conn, 1, aid, ACME.key, secret="a-different-instance-secret"
            )
        explicit = await app_accounts.resolve_credentials(
            conn, 1, aid, ACME.key, secret=app.state.secret
        )
    assert explicit == {"apiKey": SECRET}


async def test_foreign_workspace_is_404_and_viewers_cannot_write(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    aid = (await _create(client, credentials={"apiKey": SECRET})).json()["appAccount"]["id"]
    stranger, stranger_ws = await other_user("stranger@example.com")
    for method, path in (
        ("GET", f"/v3/app-accounts/{aid}"),
        ("PATCH", f"/v3/app-accounts/{aid}"),
        ("DELETE", f"/v3/app-accounts/{aid}"),
        ("GET", "/v3/workspaces/1/app-accounts"),
        ("POST", "/v3/workspaces/1/app-accounts"),
        ("GET", "/v3/integrations?workspaceId=1"),
    ):
        r = await stranger.request(
            method, path, json={"type": ACME.key, "name": "x", "credentials": {"apiKey": SECRET}}
        )
        assert r.status_code == 404, (method, path, r.text)
        assert SECRET not in r.text
    # The stranger sees their own (empty) workspace by default.
    assert (await stranger.get("/v3/integrations")).json()["appAccounts"] == []
    assert (await client.get(f"/v3/app-accounts/{aid}")).status_code == 200

    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    listed = (await viewer.get("/v3/workspaces/1/app-accounts")).json()
    assert [a["id"] for a in listed] == [aid]
    assert (await viewer.get(f"/v3/app-accounts/{aid}")).status_code == 200
    for method, path in (
        ("POST", "/v3/workspaces/1/app-accounts"),
        ("PATCH", f"/v3/app-accounts/{aid}"),
        ("DELETE", f"/v3/app-accounts/{aid}"),
    ):
        r = await viewer.request(
            method, path, json={"type": ACME.key, "name": "x", "credentials": {"apiKey": SECRET}}
        )
        assert r.status_code == 403 and r.json()["type"] == "Forbidden", (method, path)
    assert (await client.get(f"/v3/app-accounts/{aid}")).json()["appAccount"]["name"] == "Acme prod"
    assert stranger_ws != 1


async def test_form_encoded_create_and_openapi(client: httpx.AsyncClient) -> None:
    import json
    from urllib.parse import quote

    body = json.dumps({"type": ACME.key, "credentials": {"apiKey": SECRET}})
    r = await client.post(
        "/v3/workspaces/1/app-accounts",
        content=quote(body) + "=",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert SECRET not in r.text
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/v3/integrations",
        "/v3/integrations/{type}",
        "/v3/app-accounts/type/{type}",
        "/v3/workspaces/{workspaceId}/app-accounts",
        "/v3/app-accounts/{accountId}",
    ):
        assert path in paths
    assert {"get", "patch", "delete"} <= set(paths["/v3/app-accounts/{accountId}"])
    assert "AppAccount" in doc["components"]["schemas"]
    assert "credentialKeys" in doc["components"]["schemas"]["AppAccount"]["properties"]


async def test_sdk_app_accounts_and_integrations(app: FastAPI) -> None:
    from claystack import AsyncClient, BadRequestError, NotFoundError

    from .conftest import DEMO_EMAIL, DEMO_PASSWORD

    async with AsyncClient(
        "http://testserver/v3",
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        transport=httpx.ASGITransport(app=app),
    ) as clay:
        found = {i.key: i for i in await clay.integrations.list()}
        acme = found[ACME.key]
        assert acme.secretCredentialKeys == ["apiKey", "password"]
        action = acme.action("acme-company")
        assert action is not None and action.credits == 3
        account = await clay.app_accounts.create(1, ACME.key, {"apiKey": SECRET}, name="SDK")
        assert account.id.startswith("aa_") and account.credentialKeys == ["apiKey"]
        assert [a.id for a in await clay.app_accounts.list(1)] == [account.id]
        assert (await clay.app_accounts.get(account.id)).name == "SDK"
        one = await clay.integrations.get(ACME.key)
        assert [a.id for a in one.appAccounts] == [account.id]
        renamed = await clay.app_accounts.update(account.id, name="SDK 2")
        assert renamed.name == "SDK 2"
        with pytest.raises(BadRequestError):
            await clay.app_accounts.update(account.id, credentials={})
        await clay.app_accounts.delete(account.id)
        with pytest.raises(NotFoundError):
            await clay.app_accounts.get(account.id)
