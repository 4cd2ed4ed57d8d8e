"""The action catalog (Clay's actionKey / actionPackageId), app-account types and presets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field as _Field

from ._base import WireModel
from .integrations import AppAccount, IntegrationWithAccounts


class InputParameter(WireModel):
    wire_omittable = ("description", "options")

    name: str
    type: str
    optional: bool
    displayName: str
    description: str | None = None
    options: list[Any] | None = None


class OutputParameter(WireModel):
    name: str
    type: str
    outputPath: str
    semanticType: str | None


class ActionPricing(WireModel):
    credits: int = _Field(
        default=0, description="Credits one execution costs (CLAYSTACK_ACTION_PRICES wins)"
    )
    actions: int = _Field(default=1, description="Actions one execution counts (always 1)")
    variable: bool = _Field(
        default=False, description="The price depends on the inputs (e.g. the AI model)"
    )
    configured: bool = _Field(
        default=False, description="The price comes from CLAYSTACK_ACTION_PRICES"
    )


class ActionAuth(WireModel):
    appAccountTypeId: str = ""
    authenticationType: str = ""
    required: bool = False


class CatalogAction(WireModel):
    """One action of ``GET /v3/actions``: claystack's ``key`` and Clay's ``actionKey`` /
    ``actionPackageId``, parameter lists, ``pricing`` ({credits, actions, …}) and ``auth``."""

    key: str = _Field(description="claystack's action key")
    actionKey: str = _Field(description="Clay's actionKey")
    actionPackageId: str = _Field(description="Clay's package id (a UUID) or the integration key")
    integration: str = ""
    packageName: str = ""
    displayName: str = ""
    description: str = ""
    inputParameterSchema: list[InputParameter] = []
    outputParameterSchema: list[OutputParameter] = []
    inputSchema: dict[str, Any] = {}
    outputSchema: dict[str, Any] = {}
    pricing: ActionPricing = _Field(default_factory=lambda: ActionPricing())
    auth: ActionAuth = _Field(default_factory=lambda: ActionAuth())


class ActionCatalog(WireModel):
    actions: list[CatalogAction]


class SearchIn(WireModel):
    userQuery: str = ""
    types: list[str] | None = None
    limit: int = 20


class SearchResult(WireModel):
    entity_id: str = _Field(description="<actionPackageId>/<actionKey>")
    name: str
    type: str
    description: str
    actionKey: str
    actionPackageId: str
    pricing: ActionPricing


class SearchResults(WireModel):
    results: list[SearchResult]


class DynamicRequest(WireModel):
    actionKey: str | None = None
    actionPackageId: str | None = None
    authAccountId: str | None = None
    parameterPath: str | None = None
    type: str | None = None
    inputs: dict[str, Any] | None = None


class DynamicFieldsIn(WireModel):
    dynamicRequests: list[DynamicRequest]


class DynamicFieldOut(WireModel):
    parameterPath: str | None
    dynamicData: list[dict[str, Any]]
    errors: list[str]
    logUrl: str | None


class AccountTypeSummary(WireModel):
    id: str
    authenticationType: str
    displayMetadata: dict[str, Any]


class AccountType(AccountTypeSummary):
    """An app-account type (an integration), bare; ``integration`` mirrors the older
    ``{integration}`` envelope of ``GET /v3/integrations/{type}``."""

    authMethods: list[dict[str, Any]]
    typeSpecific: dict[str, Any]
    actions: list[CatalogAction]
    credentialsSchema: dict[str, Any]
    appAccounts: list[AppAccount]
    integration: IntegrationWithAccounts


class ValidateAuthIn(WireModel):
    authMethod: dict[str, Any] | None = None


class ValidateAuthOut(WireModel):
    status: Literal["ok", "error"]
    message: str
    actionMetadata: dict[str, Any]


class PresetIn(WireModel):
    workspaceId: int | str | None = None
    name: str
    type: str = "action"
    category: str | None = None
    actionKey: str | None = None
    actionPackageId: str | None = None
    preset: dict[str, Any] | None = None


class PresetOut(WireModel):
    wire_omittable = ("actionKey", "actionPackageId", "workspaceId", "createdAt")

    id: str
    name: str
    type: str
    category: str | None
    preset: dict[str, Any]
    actionKey: str | None = None
    actionPackageId: str | None = None
    workspaceId: int | None = None
    createdAt: str | None = None


class DisabledActions(WireModel):
    disabledActionIds: list[str]


class EnrichmentRunIn(WireModel):
    workspaceId: int | str | None = None
    enrichmentType: str
    actionPackageId: str | None = None
    inputs: dict[str, Any] | None = None


class EnrichmentRunOut(WireModel):
    wire_omittable = ("fullValue",)

    result: Any
    metadata: dict[str, Any] = _Field(description="{status} (SUCCESS, SUCCESS_NO_DATA, ERROR_…)")
    taskId: str
    fullValue: Any = None
