"""Integrations (provider types) and connected accounts (``aa_…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from ..deps import AppAccountDep, Conn, DefaultScope, Secret, WorkspaceScope
from ..schemas import (
    AppAccountEnvelope,
    AppAccountIn,
    AppAccountPatch,
    IntegrationEnvelope,
    IntegrationList,
    Success,
)
from ..services import app_accounts
from . import JSONOut, ok, router

api = router("integrations")
TypeKey = Annotated[str, Path(alias="type", description="The integration key")]


@api.get("/v3/integrations", responses=ok(IntegrationList))
async def list_integrations(conn: Conn, scope: DefaultScope) -> JSONOut:
    """Every integration this server offers, and the connected accounts of the workspace
    (``?workspaceId=``, else the caller's default)."""
    return JSONOut(await app_accounts.integrations_with_accounts(conn, scope))


@api.get("/v3/workspaces/{workspaceId}/app-accounts", responses=ok(IntegrationList))
async def list_app_accounts(conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """Connected accounts of the workspace and every integration (provider type)."""
    return JSONOut(await app_accounts.integrations_with_accounts(conn, scope))


@api.get("/v3/integrations/{type}", responses=ok(IntegrationEnvelope))
async def get_integration(conn: Conn, scope: DefaultScope, key: TypeKey) -> JSONOut:
    """One integration: its actions with inputs, outputs and credit prices, the credentials
    it needs, and the workspace's accounts for it."""
    return JSONOut(await app_accounts.integration_with_accounts(conn, scope, key))


@api.get("/v3/app-accounts/type/{type}", responses=ok(IntegrationEnvelope))
async def get_app_account_type(conn: Conn, scope: DefaultScope, key: TypeKey) -> JSONOut:
    """Same as ``GET /v3/integrations/{type}``."""
    return JSONOut(await app_accounts.integration_with_accounts(conn, scope, key))


@api.post("/v3/workspaces/{workspaceId}/app-accounts", responses=ok(AppAccountEnvelope))
async def create_app_account(
    body: AppAccountIn, conn: Conn, scope: WorkspaceScope, secret: Secret
) -> JSONOut:
    """Connects an account: credentials for one integration (``appAccountTypeId`` or
    ``type``), checked against its ``credentialsSchema`` and stored encrypted. The answer
    names the credential keys that are set, never their values."""
    account = await app_accounts.create_account(
        conn,
        scope,
        secret,
        type_key=body.appAccountTypeId or body.type,
        name=body.name,
        credentials=body.credentials,
    )
    return JSONOut({"appAccount": account})


@api.get("/v3/app-accounts/{accountId}", responses=ok(AppAccountEnvelope))
async def get_app_account(conn: Conn, account: AppAccountDep) -> JSONOut:
    """One connected account (without its secrets)."""
    scope, account_id = account
    return JSONOut({"appAccount": await app_accounts.get_account(conn, scope, account_id)})


@api.patch("/v3/app-accounts/{accountId}", responses=ok(AppAccountEnvelope))
async def update_app_account(
    body: AppAccountPatch, conn: Conn, account: AppAccountDep, secret: Secret
) -> JSONOut:
    """Renames a connected account and/or replaces its whole set of credentials."""
    scope, account_id = account
    updated = await app_accounts.update_account(
        conn, scope, secret, account_id, name=body.name, credentials=body.credentials
    )
    return JSONOut({"appAccount": updated})


@api.delete("/v3/app-accounts/{accountId}", responses=ok(Success))
async def delete_app_account(conn: Conn, account: AppAccountDep) -> JSONOut:
    """Deletes a connected account and its stored credentials."""
    scope, account_id = account
    await app_accounts.delete_account(conn, scope, account_id)
    return JSONOut({"success": True})
