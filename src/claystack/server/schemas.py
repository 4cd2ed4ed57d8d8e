"""Request and response bodies, as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# -- auth ----------------------------------------------------------------------------------


class LoginIn(Model):
    email: str
    password: str
    source: Any = None


class UserOut(Model):
    id: int
    email: str
    name: str


class LoginOut(Model):
    user: UserOut


class MeOut(UserOut):
    username: str
    apiToken: str | None = Field(
        description="Usable as ``Authorization: Bearer``; null once revoked"
    )
    defaultWorkspaceId: int | None
    createdAt: str | None


class ApiTokenOut(Model):
    apiToken: str = Field(description="The new token; the previous one no longer works")


class Success(Model):
    success: bool = True


# -- workspaces and resources --------------------------------------------------------------


class WorkspaceOut(Model):
    id: int
    name: str
    role: str | None = None
    credits: int | None = None
    featureFlags: dict[str, Any] = {}


class WorkspaceList(Model):
    results: list[WorkspaceOut]


class WorkspaceEnvelope(Model):
    workspace: WorkspaceOut


class FolderIn(Model):
    name: str = Field(min_length=1, max_length=500)
    parentFolderId: str | None = None
    description: str | None = None


class FolderOut(Model):
    id: str
    name: str
    workspaceId: int
    parentFolderId: str | None
    createdAt: str | None


class DeleteResourcesIn(Model):
    folderIds: list[str] = []
    workbookIds: list[str] = []
    tableIds: list[str] = []
    isPermanentDelete: bool = False


class DeletedResources(Model):
    success: bool = True
    deleted: dict[str, list[str]]


class ParentResource(Model):
    type: Literal["FOLDER", "WORKBOOK", "folder", "workbook"]
    id: str


class ResourceFilters(Model):
    resourceTypes: list[str] | None = None
    ownerIds: list[int] | None = None
    q: str | None = None


class ResourcesIn(Model):
    parentResource: ParentResource | None = None
    filters: ResourceFilters | None = None
    resourceTypes: list[str] | None = None
    isGlobalSearch: bool = False


class ResourceSearchIn(Model):
    query: str


class ResourceOut(Model):
    resourceType: Literal["FOLDER", "WORKBOOK", "TABLE"]
    id: str
    name: str
    parentFolderId: str | None
    ownerId: int | None
    createdAt: str | None
    updatedAt: str | None


class ResourceList(Model):
    resources: list[ResourceOut]


class WorkbookIn(Model):
    name: str = Field(min_length=1, max_length=500)
    workspaceId: int
    settings: dict[str, Any] | None = None
    parentFolderId: str | None = None
    description: str | None = None


class WorkbookOut(Model):
    id: str
    workspaceId: int
    name: str
    description: str | None
    parentFolderId: str | None
    settings: dict[str, Any]
    ownerId: int | None
    createdAt: str | None
    updatedAt: str | None
    deletedAt: str | None


class WorkbookList(Model):
    results: list[WorkbookOut]


# -- tables, fields, views -----------------------------------------------------------------


class TableIn(Model):
    name: str = Field(min_length=1, max_length=500)
    workspaceId: int
    workbookId: str | None = None
    type: str | None = None
    template: Any = None
    description: str | None = None
    tableSettings: dict[str, Any] | None = None


class FieldOut(Model):
    id: str
    tableId: str
    name: str
    type: str
    typeSettings: dict[str, Any]
    inputFieldIds: list[str]
    settingsError: str | None = Field(
        default=None, description="UNKNOWN_ACTION or MISSING_AUTH: the column cannot run"
    )
    actionDefinition: dict[str, Any] | None = Field(
        default=None, description="Action fields: the catalog entry of their action"
    )


class ViewOut(Model):
    id: str
    name: str
    order: int
    fields: dict[str, Any]
    sort: Any = None
    filter: Any = None
    limit: int | None = None
    offset: int | None = None


class TableOut(Model):
    id: str
    workspaceId: int
    workbookId: str | None
    name: str
    description: str | None
    type: str
    parentFolderId: str | None
    tableSettings: dict[str, Any]
    fieldGroupMap: dict[str, Any]
    firstViewId: str | None
    fields: list[FieldOut]
    views: list[ViewOut]
    ownerId: int | None
    createdAt: str | None
    updatedAt: str | None


class TableEnvelope(Model):
    table: TableOut
    extraData: dict[str, Any] = {}


class TableList(Model):
    results: list[TableOut]


class TablePatch(Model):
    name: str | None = Field(default=None, max_length=500)
    description: str | None = None
    tableSettings: dict[str, Any] | None = None
    fieldGroupMap: dict[str, Any] | None = None
    sourceSettings: dict[str, Any] | None = None


class FieldIn(Model):
    name: str = Field(min_length=1, max_length=500)
    type: str
    typeSettings: dict[str, Any] | None = None


class FieldPatch(Model):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    type: str | None = None
    typeSettings: dict[str, Any] | None = None


class FieldEnvelope(Model):
    field: FieldOut


class ViewIn(Model):
    name: str = Field(min_length=1, max_length=500)
    limit: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    filter: dict[str, Any] | None = None
    sort: list[dict[str, Any]] | dict[str, Any] | None = None


class ViewPatch(Model):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    limit: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    filter: dict[str, Any] | None = None
    sort: list[dict[str, Any]] | dict[str, Any] | None = None
    fields: dict[str, Any] | None = None


class ViewEnvelope(Model):
    view: ViewOut


# -- records -------------------------------------------------------------------------------


class RecordIn(Model):
    id: str | None = Field(default=None, min_length=1, max_length=200)
    cells: dict[str, Any] = {}


class RecordsIn(Model):
    records: list[RecordIn]


class RecordUpdate(Model):
    id: str = Field(min_length=1, max_length=200)
    cells: dict[str, Any]


class RecordsPatch(Model):
    records: list[RecordUpdate]


class RecordOut(Model):
    id: str
    tableId: str
    cells: dict[str, Any]
    createdAt: str | None
    updatedAt: str | None


class RecordsOut(Model):
    records: list[RecordOut]


class RecordsPatchOut(RecordsOut):
    extraData: dict[str, Any]


class RecordList(Model):
    results: list[RecordOut]


class IdList(Model):
    results: list[str]


class DeleteRecordsIn(Model):
    recordIds: list[str] | None = None
    deleteAll: bool | None = None
    viewId: str | None = None
    omitDeletingRecordIds: list[str] = []


class DeletedRecords(Model):
    success: bool = True
    deletedCount: int


class BulkFetchIn(Model):
    recordIds: list[str]
    fieldIds: list[str] | None = None
    includeExternalContentFieldIds: list[str] | None = None


class CountOut(Model):
    tableTotalRecordsCount: int


class Health(Model):
    status: Literal["ok"]
    database: str
    version: str


class Readiness(Model):
    status: Literal["ready"]
    database: str
    migrations: list[str]


# -- integrations and connected accounts ---------------------------------------------------


class ActionOut(Model):
    key: str
    displayName: str
    inputSchema: dict[str, Any]
    outputSchema: dict[str, Any]
    credits: int = Field(description="Integer credits charged per successful execution")


class AppAccountOut(Model):
    """A connected account. Credential values are never returned, only their keys."""

    id: str = Field(examples=["aa_0t81wcjDX7iDNWq2RHC"])
    workspaceId: int
    appAccountTypeId: str = Field(description="The integration key")
    type: str = Field(description="Same as appAccountTypeId")
    name: str
    credentialKeys: list[str] = Field(description="Names of the credentials that are set")
    createdBy: int | None
    createdAt: str | None
    updatedAt: str | None
    deletedAt: str | None


class IntegrationOut(Model):
    key: str = Field(examples=["http-api-v2"])
    type: str
    appAccountTypeId: str
    displayName: str
    actions: list[ActionOut]
    credentialsSchema: dict[str, Any] = Field(
        description="JSON Schema of a connected account's credentials; secret properties "
        'carry "secret": true and "writeOnly": true'
    )
    secretCredentialKeys: list[str]
    requiresAccount: bool = Field(description="True when the schema requires credentials")
    maxConcurrency: int | None
    ratePerSecond: float | None


class IntegrationWithAccounts(IntegrationOut):
    appAccounts: list[AppAccountOut]


class IntegrationEnvelope(Model):
    integration: IntegrationWithAccounts


class IntegrationList(Model):
    integrations: list[IntegrationOut]
    appAccounts: list[AppAccountOut] = Field(description="The workspace's connected accounts")


class AppAccountIn(Model):
    appAccountTypeId: str | None = Field(default=None, description="The integration key")
    type: str | None = Field(default=None, description="Alias of appAccountTypeId")
    name: str | None = Field(default=None, description="Defaults to the integration's name")
    credentials: dict[str, Any] = {}


class AppAccountPatch(Model):
    name: str | None = None
    credentials: dict[str, Any] | None = Field(
        default=None, description="Replaces the whole set of credentials"
    )


class AppAccountEnvelope(Model):
    appAccount: AppAccountOut


# -- credit reports ------------------------------------------------------------------------


class MemberOut(Model):
    id: int
    userId: int
    email: str
    name: str
    role: Literal["owner", "admin", "member", "viewer"]
    workspaceId: int
    joinedAt: str | None


class MemberList(Model):
    results: list[MemberOut]


class TimeRangeOut(Model):
    startTime: str | None = Field(description="Inclusive (ISO 8601 UTC); null = no lower bound")
    endTime: str | None = Field(description="Exclusive (ISO 8601 UTC); null = no upper bound")


class ReportFilters(Model):
    userIds: list[int] = []
    integrations: list[str] = []
    tableIds: list[str] = []
    fieldIds: list[str] = []


class CreditTotals(Model):
    used: int = Field(description="Credits charged (a positive number)")
    runs: int = Field(description="Charged executions, including free ones")
    actions: int = Field(description="Actions (executions) counted, free ones included")
    granted: int = Field(description="Credits granted")
    net: int = Field(description="Sum of every matching ledger entry (granted − used ± other)")


class UsageRow(Model):
    """One group of charges. Only the dimensions of ``groupBy`` are present; names are
    added next to the ids they describe."""

    date: str | None = Field(default=None, description="UTC day, YYYY-MM-DD")
    userId: int | None = None
    userName: str | None = None
    userEmail: str | None = None
    integration: str | None = None
    actionKey: str | None = None
    tableId: str | None = None
    tableName: str | None = None
    fieldId: str | None = None
    fieldName: str | None = None
    credits: int
    runs: int
    actions: int = Field(description="Actions (executions), free ones included")


class CreditBreakdowns(Model):
    date: list[UsageRow]
    user: list[UsageRow]
    integration: list[UsageRow]
    table: list[UsageRow]
    field: list[UsageRow]


class ReportPage(Model):
    offset: int
    limit: int | None
    total: int = Field(description="Rows in the whole report")
    nextOffset: int | None = Field(description="The next page's `offset`; null on the last")


class CreditReportOut(Model):
    """Every figure is a sum over the append-only ledger entries of the workspace that fall
    in ``timeRange`` and match ``filters`` (``balance`` excepted)."""

    workspaceId: int
    reportType: Literal[
        "workspace",
        "integration",
        "user",
        "table",
        "field",
        "api",
        "signal",
        "triggerDefinition",
        "mcp",
    ]
    timeRange: TimeRangeOut
    filters: ReportFilters
    groupBy: list[Literal["date", "user", "integration", "action", "table", "field"]]
    balance: int = Field(description="The workspace's balance now (all time, no filters)")
    totals: CreditTotals
    rows: list[UsageRow]
    breakdowns: CreditBreakdowns
    page: ReportPage | None = Field(
        default=None, description="Present when `limit` or `offset` was given"
    )


# -- sources -------------------------------------------------------------------------------


class SourceOut(Model):
    id: str
    tableId: str | None = Field(description="null until a source field subscribes it")
    workspaceId: int
    name: str
    type: str = Field(examples=["webhook"])
    typeSettings: dict[str, Any]
    url: str
    state: dict[str, Any] = Field(description="{url, numSourceRecords}")
    hasAuthToken: bool
    fieldId: str | None
    dataFieldId: str | None = Field(description="The source field it feeds (null: buffering)")
    numSourceRecords: int
    numSubmissions: int
    sourceSubscriptions: list[dict[str, Any]]
    createdAt: str | None
    deletedAt: str | None
    authToken: str | None = Field(
        default=None, description="Only in the answer that created the token"
    )


class TableSourceEnvelope(Model):
    table: TableOut
    source: SourceOut | None = None


class SourceDeleteIn(Model):
    deleteRecords: bool = False


class WebhookAccepted(Model):
    success: bool = True
    recordId: str


# -- runs ----------------------------------------------------------------------------------


class RunIn(Model):
    fieldIds: list[str] | None = None
    runRecords: dict[str, Any] | None = Field(
        default=None,
        description="One of {viewIdTopRecords:{viewId, numRecords?}}, {recordIds:[…]}, "
        "{viewId}, {recordIds, tableId}",
    )
    callerName: str | None = None
    forceRun: bool = False
    preview: bool = Field(
        default=False, description="Only estimate: answer what the run would spend (RunEstimate)"
    )


class RunStarted(Model):
    recordCount: int
    runMode: str


class StatusCount(Model):
    status: str
    count: int


class RunStatusOut(Model):
    statusCountsByField: dict[str, list[StatusCount]]


# -- web app (/_claystack/ui) --------------------------------------------------------------


class RowsWindow(Model):
    total: int
    offset: int
    results: list[RecordOut]


class RowIndexOut(Model):
    recordId: str
    index: int


class FormulaPreviewIn(Model):
    formulaText: str = Field(max_length=100_000)
    limit: int = Field(default=10, ge=1, le=100)


class FormulaPreviewItem(Model):
    recordId: str
    value: Any
    error: str | None


class FormulaPreviewOut(Model):
    results: list[FormulaPreviewItem]


# -- exports and imports -------------------------------------------------------------------


class ExportIn(Model):
    """No options yet (clients send nothing or ``{}``); unknown keys are ignored."""


class ExportOut(Model):
    id: str = Field(description="ej_…")
    status: Literal["ACTIVE", "FINISHED", "FAILED"]
    tableId: str
    viewId: str
    workspaceId: int
    fileName: str
    exportType: str = "CSV"
    totalRecordsInViewCount: int
    recordsExportedCount: int
    downloadUrl: str | None = Field(
        description="Once FINISHED: an absolute signed link to the CSV, usable without a "
        "login until expiresAt (24 h from this answer)"
    )
    url: str | None = Field(description="The same link as downloadUrl")
    expiresAt: str | None
    error: str | None
    createdAt: str | None
    updatedAt: str | None
    finishedAt: str | None


class SignedPostIn(Model):
    filename: str = Field(min_length=1, max_length=500)
    uploadMode: str = "import"


class SignedPostFields(Model):
    key: str
    policy: str
    signature: str


class SignedPostOut(Model):
    url: str = Field(description="POST multipart/form-data here: every field, then `file`")
    fields: SignedPostFields
    expiresAt: str | None


class ImportSource(Model):
    type: Literal["S3_CSV"] = "S3_CSV"
    key: str
    filename: str | None = None
    hasHeader: bool = True
    fieldDelimiter: str | None = Field(default=None, description="Detected when omitted")


class ImportDestination(Model):
    type: Literal["TABLE"] = "TABLE"
    tableId: str


class ImportConfig(Model):
    source: ImportSource
    destination: ImportDestination
    map: dict[str, str] = Field(description='{f_…: "{{CSV column}}"} templates')
    isImportWithoutRun: bool = False


class ImportIn(Model):
    workspaceId: int | str | None = None
    config: ImportConfig


class ImportRowError(Model):
    line: int
    message: str


class ImportState(Model):
    status: Literal["ACTIVE", "FINISHED", "FAILED"]
    numRowsSoFar: int = Field(description="Rows added to the table so far")
    numRowsRead: int
    errorCount: int = Field(description="CSV rows left out (malformed)")
    errors: list[ImportRowError] = Field(description="The first 100 rows left out")
    error: str | None = Field(description="Why the import FAILED")


class ImportOut(Model):
    id: str = Field(description="ij_…")
    status: Literal["ACTIVE", "FINISHED", "FAILED"]
    workspaceId: int
    tableId: str
    state: ImportState
    config: dict[str, Any]
    createdAt: str | None
    updatedAt: str | None
    finishedAt: str | None
