"""Wire models of the catalog, app-account types, sources beyond webhooks, credit extras and
the long-tail routes (spec part 2 §7–§11)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .schemas import AppAccountOut, IntegrationWithAccounts, Model, SourceOut

# -- §7 catalog ----------------------------------------------------------------------------


class InputParameter(Model):
    name: str
    type: str
    optional: bool
    displayName: str
    description: str | None = None
    options: list[Any] | None = None


class OutputParameter(Model):
    name: str
    type: str
    outputPath: str
    semanticType: str | None


class ActionPricing(Model):
    credits: int = Field(description="Credits one execution costs (CLAYSTACK_ACTION_PRICES wins)")
    actions: int = Field(description="Actions one execution counts (always 1)")
    variable: bool = Field(description="The price depends on the inputs (e.g. the AI model)")
    configured: bool = Field(description="The price comes from CLAYSTACK_ACTION_PRICES")


class ActionAuth(Model):
    appAccountTypeId: str
    authenticationType: str
    required: bool


class CatalogAction(Model):
    key: str = Field(description="claystack's action key")
    actionKey: str = Field(description="Clay's actionKey")
    actionPackageId: str = Field(description="Clay's package id (a UUID) or the integration key")
    integration: str
    packageName: str
    displayName: str
    description: str
    inputParameterSchema: list[InputParameter]
    outputParameterSchema: list[OutputParameter]
    inputSchema: dict[str, Any]
    outputSchema: dict[str, Any]
    pricing: ActionPricing
    auth: ActionAuth


class ActionCatalog(Model):
    actions: list[CatalogAction]


class SearchIn(Model):
    userQuery: str = ""
    types: list[str] | None = None
    limit: int = 20


class SearchResult(Model):
    entity_id: str = Field(description="<actionPackageId>/<actionKey>")
    name: str
    type: str
    description: str
    actionKey: str
    actionPackageId: str
    pricing: ActionPricing


class SearchResults(Model):
    results: list[SearchResult]


class DynamicRequest(Model):
    actionKey: str | None = None
    actionPackageId: str | None = None
    authAccountId: str | None = None
    parameterPath: str | None = None
    type: str | None = None
    inputs: dict[str, Any] | None = None


class DynamicFieldsIn(Model):
    dynamicRequests: list[DynamicRequest]


class DynamicFieldOut(Model):
    parameterPath: str | None
    dynamicData: list[dict[str, Any]]
    errors: list[str]
    logUrl: str | None


class AccountTypeSummary(Model):
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
    appAccounts: list[AppAccountOut]
    integration: IntegrationWithAccounts


class ValidateAuthIn(Model):
    authMethod: dict[str, Any] | None = None


class ValidateAuthOut(Model):
    status: Literal["ok", "error"]
    message: str
    actionMetadata: dict[str, Any]


class PresetIn(Model):
    workspaceId: int | str | None = None
    name: str
    type: str = "action"
    category: str | None = None
    actionKey: str | None = None
    actionPackageId: str | None = None
    preset: dict[str, Any] | None = None


class PresetOut(Model):
    id: str
    name: str
    type: str
    category: str | None
    preset: dict[str, Any]
    actionKey: str | None = None
    actionPackageId: str | None = None
    workspaceId: int | None = None
    createdAt: str | None = None


class DisabledActions(Model):
    disabledActionIds: list[str]


# -- §8 sources ----------------------------------------------------------------------------


class SourceIn(Model):
    workspaceId: int | str | None = None
    tableId: str | None = None
    name: str | None = None
    type: str = "webhook"
    typeSettings: dict[str, Any] | None = None


class SourceEnvelope(SourceOut):
    """The source, also under ``source``."""

    source: SourceOut


class SourcePatch(Model):
    name: str | None = None


class SourceRun(Model):
    id: str
    status: str
    numRecords: int
    createdAt: str | None


class SourceRuns(Model):
    runs: list[SourceRun]


class ResponseTypeIn(Model):
    sourceId: str | None = None
    responseType: Literal["JSON", "PLAIN_TEXT"]


class ResponseTypeOut(Model):
    success: bool
    responseType: str


class SourceTokenOut(Model):
    token: str
    headerName: str


# -- §9 run estimates ----------------------------------------------------------------------


class EstimateSkipped(Model):
    alreadySucceeded: int
    blankInput: int
    runCondition: int
    error: int


class FieldEstimate(Model):
    fieldId: str
    name: str
    actionKey: str | None
    actionPackageId: str | None
    cells: int = Field(description="Cells that would execute")
    actions: int = Field(description="Actions (executions) they would count")
    credits: int = Field(description="Credits, if every execution succeeds")
    maxCredits: int = Field(description="Upper bound (every runnable waterfall step)")
    skipped: EstimateSkipped


class RunEstimate(Model):
    """What a run would spend; nothing is queued."""

    preview: bool
    recordCount: int
    runMode: str
    actions: int
    credits: int
    maxCredits: int
    balance: int
    sufficientCredits: bool
    formulaFieldIds: list[str]
    fields: list[FieldEstimate]


# -- §9, §11, §13 long tail -----------------------------------------------------------------


class WorkspaceUser(Model):
    id: int
    email: str
    name: str
    role: str


class ModelCost(Model):
    model: str
    credits: int


class AudienceOut(Model):
    """One of ``{segments, total}``, ``{count}``, ``{contacts, pagination}``, ``{imports}``."""


class StarredOut(Model):
    starredResources: list[dict[str, Any]]


class IsStarred(Model):
    isStarred: bool


class CreditLimit(Model):
    creditLimit: int | None


class WorkbookBalance(Model):
    creditLimit: int | None
    creditsUsed: int
    balance: int
    workbookId: str


class DayUsage(Model):
    date: str
    creditsSpent: int
    actions: int


class ColumnUsage(Model):
    fieldId: str | None
    fieldName: str | None
    creditsSpent: int
    runs: int
    actions: int


# -- §10 AI helpers --------------------------------------------------------------------------


class FormulaGenIn(Model):
    userPromptInput: str
    workspaceId: int | str | None = None
    columnNamesToIds: dict[str, str] | None = None
    mode: str | None = None
    rawExampleTableData: list[dict[str, Any]] | None = None


class FormulaGenOut(Model):
    formula: str = Field(description='The formula; "" when no model is configured')
    dataType: str


class TableDescriptionIn(Model):
    tableId: str
    workspaceId: int | str | None = None


class TableDescriptionOut(Model):
    description: str


class MetaprompterIn(Model):
    prompt: str | None = None
    taskDescription: str | None = None
    tableId: str | None = None
    columnNamesToIds: dict[str, str] | None = None
    latencyBudget: Any = None


# -- §8, §11 functions, tools, create-cpj-table ----------------------------------------------


class SubroutineOut(Model):
    sourceId: str | None = Field(description="The function's manual source, if it has one")
    table: dict[str, Any]
    cost: int = Field(description="Credits of one call: its action columns' prices")
    actionExecutionCost: int = Field(description="Actions one call counts")
    containsVariablePricing: bool
    referenceCount: int = Field(description="execute-subroutine fields calling it")


class SubroutineList(Model):
    subroutines: list[SubroutineOut]


class ToolIn(Model):
    type: str = "function"
    tableId: str | None = None
    name: str | None = None
    description: str | None = None


class ToolOut(Model):
    id: str = Field(examples=["function:t_abc"])
    type: str
    name: str
    description: str
    tableId: str
    inputSchema: dict[str, Any]
    createdAt: int | None


class CpjConfig(Model):
    type: str = "people"
    typeSettings: dict[str, Any] | None = None
    basicFields: list[dict[str, Any]] | None = None
    destinationTableId: str | None = None


class CpjTableIn(Model):
    workspaceId: int | str | None = None
    workbookName: str | None = None
    workbookId: str | None = None
    cpjConfig: CpjConfig


class CpjTableOut(Model):
    tableId: str
    viewId: str | None
    workbookId: str | None
    sourceId: str
    isNewTable: bool


class RunColumnUsage(Model):
    fieldId: str | None
    creditsSpent: int
    cells: int


class RunUsage(Model):
    runId: str = Field(description="run_<table>_<minute>: what the table spent in one minute")
    timestamp: str | None
    creditsSpent: int
    actions: int
    columns: list[RunColumnUsage]


# -- §3.7 shared tables ----------------------------------------------------------------------


class SharedTableIn(Model):
    tableId: str
    viewId: str | None = None
    sharingType: str | None = None


class SharedTablePatch(Model):
    sharingType: str | None = None
    viewId: str | None = None
    sharedUserEmails: list[str] | None = None
    shouldResetPublicId: bool | None = None


class SharedTableOut(Model):
    id: str = Field(examples=["share_0t…"])
    tableId: str
    viewId: str
    sharingType: str
    publicId: str
    sharedUserEmails: list[str]
    createdAt: str | None
    updatedAt: str | None


class EnrichmentRunIn(Model):
    workspaceId: int | str | None = None
    enrichmentType: str
    actionPackageId: str | None = None
    inputs: dict[str, Any] | None = None


class EnrichmentRunOut(Model):
    result: Any
    metadata: dict[str, Any] = Field(description="{status} (SUCCESS, SUCCESS_NO_DATA, ERROR_…)")
    taskId: str
    fullValue: Any = None
