"""Integrations (provider types) and connected accounts (``aa_…``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Query, Request

from ...wire import (
    AccountType,
    AccountTypeSummary,
    ActionCatalog,
    AppAccount,
    AppAccountEnvelope,
    AppAccountIn,
    AppAccountPatch,
    DisabledActions,
    DynamicFieldOut,
    DynamicFieldsIn,
    IntegrationEnvelope,
    IntegrationList,
    PresetIn,
    PresetOut,
    SearchIn,
    SearchResults,
    Success,
    ValidateAuthIn,
    ValidateAuthOut,
)
from ..deps import (
    AppAccountDep,
    Conn,
    CurrentActor,
    DefaultReadScope,
    DefaultScope,
    Secret,
    WorkspaceReadScope,
    WorkspaceScope,
    get_settings,
    read_only,
)
from ..errors import NotFound
from ..services import app_accounts, catalog, presets
from . import JSONOut, ok, router

api = router("integrations")
TypeKey = Annotated[str, Path(alias="type", description="The integration key")]
AccountId = Annotated[str, Path(alias="accountId")]


def _body(model: Any) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True) if model is not None else {}


# -- the catalog (spec part 2 §7) -----------------------------------------------------------


@api.get("/v3/actions", responses=ok(ActionCatalog))
async def list_actions(request: Request, scope: DefaultReadScope) -> JSONOut:
    """Every action this server can run, built-in and plugin, with Clay's ``actionKey`` and
    ``actionPackageId``, its input and output parameters, price and auth
    (``?workspaceId=``, else the caller's default workspace)."""
    return JSONOut(catalog.list_actions(get_settings(request)))


_SEARCH = "Actions whose name, key or description contain every word of ``userQuery``."


@api.post(
    "/v3/enrichment-search/{workspaceId}/query", responses=ok(SearchResults), description=_SEARCH
)
@read_only
async def enrichment_search(
    request: Request, scope: WorkspaceReadScope, body: Annotated[SearchIn | None, Body()] = None
) -> JSONOut:
    return JSONOut(catalog.search(_body(body), get_settings(request)))


@api.post(
    "/v3/workspaces/{workspaceId}/enrichment-search/query-v2",
    responses=ok(SearchResults),
    description=_SEARCH,
)
@read_only
async def enrichment_search_v2(
    request: Request, scope: WorkspaceReadScope, body: Annotated[SearchIn | None, Body()] = None
) -> JSONOut:
    return JSONOut(catalog.search(_body(body), get_settings(request)))


@api.post("/v3/workspaces/{workspaceId}/actions/dynamicFields", responses=ok(list[DynamicFieldOut]))
@read_only
async def dynamic_fields(scope: WorkspaceReadScope, body: DynamicFieldsIn) -> JSONOut:
    """Options of action inputs: an input's allowed values (its schema's ``enum``), else
    ``[]``."""
    return JSONOut(catalog.dynamic_fields(body.model_dump()))


@api.get("/v3/workspaces/{workspaceId}/all-disabled-actions", responses=ok(DisabledActions))
async def disabled_actions(scope: WorkspaceReadScope) -> JSONOut:
    """Actions an admin turned off: none on claystack."""
    return JSONOut(catalog.disabled_actions())


@api.get("/v3/presets/workspace/{workspaceId}/categories", responses=ok(list[str]))
async def preset_categories(conn: Conn, scope: WorkspaceReadScope) -> JSONOut:
    """Categories of the workspace's presets."""
    return JSONOut(await presets.categories(conn, scope))


@api.get("/v3/presets/workspace/{workspaceId}/filtered", responses=ok(list[PresetOut]))
async def filtered_presets(
    conn: Conn,
    scope: WorkspaceReadScope,
    types: Annotated[list[str] | None, Query(alias="types[]")] = None,
) -> JSONOut:
    """The workspace's presets of some types."""
    return JSONOut(await presets.listed(conn, scope, types=types))


@api.get("/v3/presets/workspace/{workspaceId}", responses=ok(list[PresetOut]))
async def workspace_presets(
    conn: Conn, scope: WorkspaceReadScope, category: Annotated[str | None, Query()] = None
) -> JSONOut:
    """The workspace's presets (of one ``category``)."""
    return JSONOut(await presets.listed(conn, scope, category=category))


@api.post("/v3/presets", responses=ok(PresetOut))
async def create_preset(conn: Conn, actor: CurrentActor, body: PresetIn) -> JSONOut:
    """Saves a preset (``pre__…``): ``{workspaceId, name, type, category?, actionKey?,
    actionPackageId?, preset}``."""
    return JSONOut(await presets.create(conn, actor, body.model_dump()))


# -- integrations and app accounts ---------------------------------------------------------


@api.get("/v3/integrations", responses=ok(IntegrationList))
async def list_integrations(conn: Conn, scope: DefaultScope) -> JSONOut:
    """Every integration this server offers, and the connected accounts of the workspace
    (``?workspaceId=``, else the caller's default)."""
    return JSONOut(await app_accounts.integrations_with_accounts(conn, scope))


@api.get("/v3/workspaces/{workspaceId}/app-accounts", responses=ok(list[AppAccount]))
async def list_app_accounts(conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """Connected accounts of the workspace, as a JSON array (no secrets)."""
    return JSONOut(await app_accounts.list_accounts(conn, scope.workspace_id))


@api.get(
    "/v3/workspaces/{workspaceId}/app-accounts/accounts/type/{type}",
    responses=ok(list[AppAccount]),
)
async def list_app_accounts_of_type(conn: Conn, scope: WorkspaceScope, key: TypeKey) -> JSONOut:
    """The workspace's connected accounts of one type, as a JSON array."""
    return JSONOut(await app_accounts.list_accounts(conn, scope.workspace_id, integration=key))


@api.get(
    "/v3/workspaces/{workspaceId}/app-accounts/accounts/{accountId}",
    responses=ok(AppAccount),
)
async def get_workspace_app_account(
    conn: Conn, scope: WorkspaceScope, account_id: AccountId
) -> JSONOut:
    """One connected account of the workspace, bare."""
    try:
        return JSONOut(await app_accounts.get_account(conn, scope, account_id))
    except NotFound:
        raise NotFound("App Account not found") from None


@api.get("/v3/integrations/{type}", responses=ok(IntegrationEnvelope))
async def get_integration(conn: Conn, scope: DefaultScope, key: TypeKey) -> JSONOut:
    """One integration: its actions with inputs, outputs and credit prices, the credentials
    it needs, and the workspace's accounts for it."""
    return JSONOut(
        IntegrationEnvelope.build(
            integration=await app_accounts.integration_with_accounts(conn, scope, key)
        )
    )


@api.get("/v3/app-accounts/types", responses=ok(list[AccountTypeSummary]))
async def list_app_account_types(scope: DefaultReadScope) -> JSONOut:
    """Every app-account type (integration) with how it authenticates."""
    return JSONOut(catalog.account_types())


@api.get("/v3/app-accounts/type/{type}", responses=ok(AccountType))
async def get_app_account_type(
    request: Request, conn: Conn, scope: DefaultScope, key: TypeKey
) -> JSONOut:
    """One app-account type, bare (``typeSpecific.validateAuthActionInfo``, its actions);
    ``integration`` carries the shape of ``GET /v3/integrations/{type}``."""
    return JSONOut(await catalog.account_type(conn, scope, key, get_settings(request)))


@api.post("/v3/app-accounts/{type}/validate-auth", responses=ok(ValidateAuthOut))
async def validate_auth(
    conn: Conn,
    scope: DefaultScope,
    key: TypeKey,
    body: Annotated[ValidateAuthIn | None, Body()] = None,
) -> JSONOut:
    """Checks a connected account (``authMethod.appAccountId``) or inline
    ``authMethod.credentials`` for this type: ``status`` ``ok`` or ``error``."""
    return JSONOut(await catalog.validate_auth(conn, scope, key, _body(body)))


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
    return JSONOut(AppAccountEnvelope.build(appAccount=account))


@api.get("/v3/app-accounts/{accountId}", responses=ok(AppAccountEnvelope))
async def get_app_account(conn: Conn, account: AppAccountDep) -> JSONOut:
    """One connected account (without its secrets)."""
    scope, account_id = account
    return JSONOut(
        AppAccountEnvelope.build(appAccount=await app_accounts.get_account(conn, scope, account_id))
    )


@api.patch("/v3/app-accounts/{accountId}", responses=ok(AppAccountEnvelope))
async def update_app_account(
    body: AppAccountPatch, conn: Conn, account: AppAccountDep, secret: Secret
) -> JSONOut:
    """Renames a connected account and/or replaces its whole set of credentials."""
    scope, account_id = account
    updated = await app_accounts.update_account(
        conn, scope, secret, account_id, name=body.name, credentials=body.credentials
    )
    return JSONOut(AppAccountEnvelope.build(appAccount=updated))


@api.delete("/v3/app-accounts/{accountId}", responses=ok(Success))
async def delete_app_account(conn: Conn, account: AppAccountDep) -> JSONOut:
    """Deletes a connected account and its stored credentials."""
    scope, account_id = account
    await app_accounts.delete_account(conn, scope, account_id)
    return JSONOut(Success.build(success=True))
