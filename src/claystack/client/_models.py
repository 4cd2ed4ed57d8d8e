"""Typed answers. Every model keeps fields it does not declare (``extra="allow"``), so a
newer server never breaks an older client; read them as attributes or via ``model_extra``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as _Field

__all__ = [
    "Action",
    "AppAccount",
    "CatalogAction",
    "Cell",
    "CreditBreakdowns",
    "CreditReport",
    "CreditTotals",
    "Field",
    "Folder",
    "Integration",
    "Me",
    "Member",
    "Record",
    "Resource",
    "RunEstimate",
    "RunStarted",
    "RunStatus",
    "Source",
    "Table",
    "User",
    "View",
    "Workbook",
    "UsageRow",
    "Workspace",
]

PENDING_STATUSES = frozenset({"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"})


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(Model):
    """A user as the login answer shows it."""

    id: int
    email: str
    name: str | None = None


class Me(User):
    """The logged-in user, with the API token usable as ``Authorization: Bearer``."""

    apiToken: str | None = None
    defaultWorkspaceId: int | None = None


class Member(Model):
    """A user of a workspace and their role there."""

    id: int | None = None
    email: str | None = None
    role: str | None = None


class Workspace(Model):
    """A workspace; ``credits`` is the remaining balance where the server reports it."""

    id: int
    name: str
    role: str | None = None
    credits: int | None = None
    featureFlags: dict[str, Any] = {}


class Folder(Model):
    id: str
    name: str
    workspaceId: int
    parentFolderId: str | None = None
    createdAt: str | None = None


class Resource(Model):
    """An entry of the resource tree: a FOLDER, WORKBOOK or TABLE."""

    resourceType: str
    id: str
    name: str
    parentFolderId: str | None = None
    workbookId: str | None = None
    ownerId: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Workbook(Model):
    id: str
    workspaceId: int
    name: str
    description: str | None = None
    parentFolderId: str | None = None
    settings: dict[str, Any] = {}
    ownerId: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Field(Model):
    """A column. ``typeSettings`` holds the formula or action of computed columns."""

    id: str
    tableId: str | None = None
    name: str
    type: str
    typeSettings: dict[str, Any] = {}
    inputFieldIds: list[str] = []
    groupId: str | None = None
    settingsError: str | None = None
    """``UNKNOWN_ACTION`` or ``MISSING_AUTH`` when the column cannot run as configured."""
    actionDefinition: dict[str, Any] | None = None
    """Action columns: their action's catalog entry (key, actionPackageId, schemas, pricing)."""


class View(Model):
    """A view. ``fields`` maps every field id to ``{order, isVisible, width, isPinned}``;
    columns show in the order of their ``order`` strings."""

    id: str
    name: str
    description: str | None = None
    typeSettings: dict[str, Any] = {}
    order: int | None = None
    fields: dict[str, Any] = {}
    sort: Any = None
    filter: Any = None
    limit: int | None = None
    offset: int | None = None


class Table(Model):
    """A table with its fields and views (``firstViewId`` is the default view)."""

    id: str
    workspaceId: int
    workbookId: str | None = None
    name: str
    description: str | None = None
    type: str | None = None
    parentFolderId: str | None = None
    tableSettings: dict[str, Any] = {}
    fieldGroupMap: dict[str, Any] = {}
    firstViewId: str | None = None
    fields: list[Field] = []
    views: list[View] = []
    ownerId: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None

    def field_ids(self) -> dict[str, str]:
        """Field name → field id."""
        return {f.name: f.id for f in self.fields}

    def field(self, name_or_id: str) -> Field:
        """The field with this id or name; ``KeyError`` when there is none."""
        for f in self.fields:
            if name_or_id in (f.id, f.name):
                return f
        raise KeyError(name_or_id)


class Cell(Model):
    """A cell as read: ``value`` plus optional ``metadata.status`` and ``externalContent``."""

    value: Any = None
    metadata: dict[str, Any] | None = None
    externalContent: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        return (self.metadata or {}).get("status")


class Record(Model):
    """A row: ``cells`` maps field ids to :class:`Cell`; ``values`` gives plain values."""

    id: str
    tableId: str | None = None
    cells: dict[str, Cell] = {}
    createdAt: str | None = None
    updatedAt: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        """Field id → cell value."""
        return {k: c.value for k, c in self.cells.items()}


class RunStarted(Model):
    """The answer to starting a run: how many rows were queued."""

    recordCount: int = 0
    runMode: str | None = None


class RunStatus(Model):
    """Cell status counts per field, e.g. ``{"f_x": {"SUCCESS": 10, "QUEUED": 2}}``."""

    statusCountsByField: dict[str, list[dict[str, Any]]] = {}

    def counts(self, field_id: str | None = None) -> dict[str, int]:
        """Status → count, for one field or summed over all."""
        out: dict[str, int] = {}
        for fid, rows in self.statusCountsByField.items():
            if field_id is not None and fid != field_id:
                continue
            for row in rows:
                status = str(row.get("status"))
                out[status] = out.get(status, 0) + int(row.get("count") or 0)
        return out

    @property
    def pending(self) -> int:
        """Cells still queued, running, retrying or awaiting a callback."""
        return sum(n for s, n in self.counts().items() if s in PENDING_STATUSES)

    @property
    def done(self) -> bool:
        return self.pending == 0


class Source(Model):
    """A webhook source; ``url`` is where to POST rows."""

    id: str
    tableId: str | None = None
    workspaceId: int | None = None
    name: str | None = None
    type: str | None = None
    typeSettings: dict[str, Any] = {}
    url: str | None = None
    hasAuthToken: bool | None = None
    authToken: str | None = None
    """Only on the answer that created the token."""
    fieldId: str | None = None
    numSourceRecords: int | None = None
    createdAt: str | None = None


class Action(Model):
    """One action of an integration; ``credits`` is charged per successful execution."""

    key: str
    displayName: str | None = None
    inputSchema: dict[str, Any] = {}
    outputSchema: dict[str, Any] = {}
    credits: int = 0


class AppAccount(Model):
    """A connected account (``aa_…``). The server never returns credential values;
    ``credentialKeys`` names the ones that are set."""

    id: str
    workspaceId: int | None = None
    appAccountTypeId: str | None = None
    type: str | None = None
    name: str | None = None
    credentialKeys: list[str] = []
    createdBy: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Integration(Model):
    """An integration (provider type): its actions, the credentials a connected account
    needs (secret ones listed in ``secretCredentialKeys``) and its rate limits.
    ``appAccounts`` is filled when one integration is fetched."""

    key: str
    type: str | None = None
    displayName: str | None = None
    actions: list[Action] = []
    credentialsSchema: dict[str, Any] = {}
    secretCredentialKeys: list[str] = []
    requiresAccount: bool = False
    maxConcurrency: int | None = None
    ratePerSecond: float | None = None
    appAccounts: list[AppAccount] = []

    def action(self, key: str) -> Action | None:
        return next((a for a in self.actions if a.key == key), None)


class UsageRow(Model):
    """Charges grouped by the report's ``groupBy`` dimensions; the others are ``None``."""

    date: str | None = None
    userId: int | None = None
    userName: str | None = None
    userEmail: str | None = None
    integration: str | None = None
    actionKey: str | None = None
    tableId: str | None = None
    tableName: str | None = None
    fieldId: str | None = None
    fieldName: str | None = None
    credits: int = 0
    runs: int = 0
    actions: int = 0


class CreditTotals(Model):
    """``used`` credits over ``runs`` charged executions, ``granted`` credits, and ``net``
    (the sum of every matching ledger entry)."""

    used: int = 0
    runs: int = 0
    actions: int = 0
    granted: int = 0
    net: int = 0


class CreditBreakdowns(Model):
    """Usage totals along one dimension each."""

    date: list[UsageRow] = []
    user: list[UsageRow] = []
    integration: list[UsageRow] = []
    table: list[UsageRow] = []
    field: list[UsageRow] = []


class CreditReport(Model):
    """A credit report over the ledger: ``totals`` for the time range and filters,
    ``rows`` grouped by ``groupBy`` (``{date, userId, integration, tableId, fieldId,
    credits, runs}`` by default), one-dimension ``breakdowns``, and the workspace's
    current ``balance``."""

    workspaceId: int | None = None
    reportType: str | None = None
    timeRange: dict[str, Any] = {}
    filters: dict[str, Any] = {}
    groupBy: list[str] = []
    balance: int | None = None
    totals: CreditTotals = _Field(default_factory=CreditTotals)
    rows: list[UsageRow] = []
    breakdowns: CreditBreakdowns = _Field(default_factory=CreditBreakdowns)
    page: dict[str, Any] | None = None  # with ``limit``/``offset``: total, nextOffset


class CatalogAction(Model):
    """One action of ``GET /v3/actions``: claystack's ``key`` and Clay's ``actionKey`` /
    ``actionPackageId``, parameter lists, ``pricing`` ({credits, actions, …}) and ``auth``."""

    key: str
    actionKey: str
    actionPackageId: str
    integration: str | None = None
    displayName: str = ""
    description: str = ""
    inputParameterSchema: list[dict[str, Any]] = []
    outputParameterSchema: list[dict[str, Any]] = []
    pricing: dict[str, Any] = {}
    auth: dict[str, Any] = {}


class RunEstimate(Model):
    """What a run would spend without running: rows, actions (executions) and credits,
    with one entry per action column in ``fields``."""

    recordCount: int = 0
    actions: int = 0
    credits: int = 0
    maxCredits: int = 0
    balance: int | None = None
    sufficientCredits: bool | None = None
    fields: list[dict[str, Any]] = []
