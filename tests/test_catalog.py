"""The action catalog and app-account shapes of spec part 2 §7 and §1.1, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext
from claystack.wire import (
    AccountType,
    AccountTypeSummary,
    ActionCatalog,
    AppAccount,
    DynamicFieldOut,
    SearchResults,
    Source,
    ValidateAuthOut,
)

from .conftest import UserFactory, login, make_client, new_table

HTTP_PKG = "4299091f-3cd3-4d68-b198-0143575f471d"
PLUGIN_PKG = "9515bb04-4267-4074-94eb-653545c3c38f"


async def _find(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=f"x@{inputs['domain']}")


MAILER = Integration(
    key="mailer",
    display_name="Mailer",
    clay_package_id=PLUGIN_PKG,
    actions=(
        Action(
            key="find-email",
            display_name="Find work email",
            description="Finds a work email from a domain",
            run=_find,
            input_schema={
                "type": "object",
                "required": ["domain"],
                "properties": {
                    "domain": {"type": "string"},
                    "mode": {"type": "string", "enum": ["fast", "thorough"]},
                },
            },
            output_schema={"type": "object", "properties": {"email": {"type": "string"}}},
            credits=2,
            clay_action_key="findymail-find-work-email",
        ),
        Action(key="mailer-validate-auth", display_name="Check key", run=_find),
    ),
    credentials_schema={
        "type": "object",
        "properties": {"apiKey": {"type": "string", "secret": True, "minLength": 4}},
        "required": ["apiKey"],
    },
)


@pytest.fixture(autouse=True)
def mailer() -> Iterator[None]:
    registry.register(MAILER)
    yield
    registry.unregister(MAILER.key)


async def test_actions_list_every_action_with_clay_names(client: httpx.AsyncClient) -> None:
    r = await client.get("/v3/actions", params={"workspaceId": 1})
    assert r.status_code == 200, r.text
    body = ActionCatalog.model_validate(r.json())
    by_key = {(a.integration, a.key): a for a in body.actions}
    http = by_key[("http-api-v2", "http-api-v2")]
    assert http.actionKey == "http-api-v2" and http.actionPackageId == HTTP_PKG
    assert http.pricing.credits == 0 and http.pricing.actions == 1
    assert by_key[("use-ai", "use-ai")].pricing.variable is True
    assert by_key[("normalize", "parse-name")].actionPackageId == "normalize"
    mail = by_key[("mailer", "find-email")]
    assert (mail.actionKey, mail.actionPackageId) == ("findymail-find-work-email", PLUGIN_PKG)
    assert [p.model_dump(exclude_none=True) for p in mail.inputParameterSchema] == [
        {"name": "domain", "type": "string", "optional": False, "displayName": "Domain"},
        {
            "name": "mode",
            "type": "string",
            "optional": True,
            "displayName": "Mode",
            "options": ["fast", "thorough"],
        },
    ]
    assert mail.outputParameterSchema[0].outputPath == "email"
    assert mail.pricing.credits == 2 and mail.auth.required is True
    assert mail.auth.appAccountTypeId == "mailer"
    # Without workspaceId: the caller's default workspace; a foreign one is a 404.
    assert (await client.get("/v3/actions")).json() == r.json()
    assert (await client.get("/v3/actions", params={"workspaceId": 999})).status_code == 404


@pytest.fixture
async def priced_app(settings: Settings) -> AsyncIterator[FastAPI]:
    prices = {"findymail-find-work-email": 7, "normalize/parse-name": 1}
    application = create_app(settings.model_copy(update={"action_prices": prices}))
    async with application.router.lifespan_context(application):
        await lifecycle.reset(application)
        yield application


async def test_configured_prices_show_in_the_catalog(priced_app: FastAPI) -> None:
    async with make_client(priced_app) as c:
        await login(c, "demo@claystack.dev", "claystack")
        actions = ActionCatalog.model_validate((await c.get("/v3/actions")).json()).actions
    by_key = {a.key: a for a in actions}
    # Keyed by Clay's actionKey or by package/key; the other actions keep their own prices.
    assert by_key["find-email"].pricing.credits == 7 and by_key["find-email"].pricing.configured
    assert by_key["normalize-phone"].pricing.credits == 0
    assert not by_key["normalize-phone"].pricing.configured
    assert by_key["parse-name"].pricing.credits == 1 and by_key["parse-name"].pricing.configured


async def test_enrichment_search_matches_words(client: httpx.AsyncClient) -> None:
    for path in (
        "/v3/enrichment-search/1/query",
        "/v3/workspaces/1/enrichment-search/query-v2",
    ):
        r = await client.post(path, json={"userQuery": "work email"})
        assert r.status_code == 200, r.text
        results = SearchResults.model_validate(r.json()).results
        assert [x.entity_id for x in results] == [f"{PLUGIN_PKG}/findymail-find-work-email"]
        assert results[0].name == "Find work email"
    r = await client.post(path, json={"userQuery": "normalize", "limit": 2})
    assert len(r.json()["results"]) == 2
    r = await client.post(path, json={"userQuery": "email", "types": ["preset"]})
    assert r.json() == {"results": []}
    r = await client.post(path, json={"userQuery": "email", "limit": 0})
    assert r.status_code == 400 and r.json()["type"] == "BadRequest"
    assert (await client.post(path)).status_code == 200  # body-less: everything
    assert (await client.post("/v3/enrichment-search/999/query", json={})).status_code == 404


async def test_dynamic_fields_give_enums(client: httpx.AsyncClient) -> None:
    body = {
        "dynamicRequests": [
            {"actionKey": "findymail-find-work-email", "parameterPath": "mode", "inputs": {}},
            {"actionKey": "find-email", "actionPackageId": "mailer", "parameterPath": "domain"},
            {"actionKey": "nope", "actionPackageId": "x", "parameterPath": "a"},
        ]
    }
    r = await client.post("/v3/workspaces/1/actions/dynamicFields", json=body)
    assert r.status_code == 200, r.text
    out = [DynamicFieldOut.model_validate(x) for x in r.json()]
    assert [x["value"] for x in out[0].dynamicData] == ["fast", "thorough"]
    assert out[1].dynamicData == [] and out[1].errors == []
    assert out[2].errors and out[2].dynamicData == []
    r = await client.post("/v3/workspaces/1/actions/dynamicFields", json={"dynamicRequests": 3})
    assert r.status_code == 400


async def test_app_account_shapes(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    r = await client.post(
        "/v3/workspaces/1/app-accounts",
        json={"appAccountTypeId": "mailer", "name": "Prod", "credentials": {"apiKey": "k-123"}},
    )
    aid = r.json()["appAccount"]["id"]
    listed = (await client.get("/v3/workspaces/1/app-accounts")).json()
    assert isinstance(listed, list) and [a["id"] for a in listed] == [aid]
    account = AppAccount.model_validate(listed[0])
    assert account.name == "Prod" and account.appAccountTypeId == "mailer"
    assert "k-123" not in str(listed)

    r = await client.get(f"/v3/workspaces/1/app-accounts/accounts/{aid}")
    assert r.status_code == 200 and r.json()["id"] == aid
    r = await client.get("/v3/workspaces/1/app-accounts/accounts/aa_missing")
    assert r.status_code == 404 and r.json()["message"] == "App Account not found"
    r = await client.get("/v3/workspaces/1/app-accounts/accounts/type/mailer")
    assert [a["id"] for a in r.json()] == [aid]
    assert (await client.get("/v3/workspaces/1/app-accounts/accounts/type/use-ai")).json() == []

    # "types" is not taken for an account id any more.
    r = await client.get("/v3/app-accounts/types")
    assert r.status_code == 200, r.text
    types = {t.id: t for t in map(AccountTypeSummary.model_validate, r.json())}
    assert types["mailer"].authenticationType == "api_key"
    assert types["normalize"].authenticationType == "none"

    r = await client.get("/v3/app-accounts/type/mailer", params={"workspaceId": 1})
    one = AccountType.model_validate(r.json())
    assert one.id == "mailer" and one.displayMetadata["displayName"] == "Mailer"
    assert one.typeSpecific["validateAuthActionInfo"] == {
        "actionKey": "mailer-validate-auth",
        "actionPackageId": PLUGIN_PKG,
    }
    assert one.integration.key == "mailer" and [a.id for a in one.appAccounts] == [aid]

    r = await client.post(
        "/v3/app-accounts/mailer/validate-auth",
        json={"authMethod": {"type": "app-account-id", "appAccountId": aid}},
    )
    assert ValidateAuthOut.model_validate(r.json()).status == "ok"
    r = await client.post(
        "/v3/app-accounts/mailer/validate-auth",
        json={"authMethod": {"type": "app-account-id", "appAccountId": "aa_nope"}},
    )
    assert r.json()["status"] == "error" and r.json()["message"] == "App Account not found"
    r = await client.post(
        "/v3/app-accounts/mailer/validate-auth",
        json={"authMethod": {"type": "credentials", "credentials": {"apiKey": "x"}}},
    )
    assert r.json()["status"] == "error" and "apiKey" in r.json()["message"]
    assert (await client.post("/v3/app-accounts/nope/validate-auth", json={})).status_code == 404

    # Another workspace sees none of it.
    other, other_ws = await other_user()
    r = await other.get(f"/v3/workspaces/{other_ws}/app-accounts/accounts/{aid}")
    assert r.status_code == 404
    assert (await other.get("/v3/workspaces/1/app-accounts")).status_code == 404
    r = await other.post(
        "/v3/app-accounts/mailer/validate-auth",
        json={"authMethod": {"type": "app-account-id", "appAccountId": aid}},
    )
    assert r.json()["status"] == "error"


async def test_presets_and_disabled_actions_are_valid_when_empty(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v3/presets/workspace/1/categories")).json() == []
    r = await client.get("/v3/presets/workspace/1/filtered", params={"types[]": "action"})
    assert r.status_code == 200 and r.json() == []
    assert (await client.get("/v3/presets/workspace/1", params={"category": "x"})).json() == []
    r = await client.get("/v3/workspaces/1/all-disabled-actions")
    assert r.json() == {"disabledActionIds": []}
    assert (await client.get("/v3/workspaces/999/all-disabled-actions")).status_code == 404


async def test_source_carries_state_and_data_field(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    r = await client.patch(
        f"/v3/tables/{table['id']}",
        json={"sourceSettings": {"addSource": {"source": {"name": "Hook", "type": "webhook"}}}},
    )
    source = r.json()["source"]
    got = Source.model_validate((await client.get(f"/v3/sources/{source['id']}")).json())
    assert got.state == {"url": source["url"], "numSourceRecords": 0}
    assert got.dataFieldId == got.fieldId
