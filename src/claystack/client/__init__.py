"""The claystack SDK: a typed client for Clay's v3 HTTP API, hosted or self-hosted.

from claystack import Client

with Client("http://127.0.0.1:8080/v3", email="demo@claystack.dev",
            password="claystack") as clay:
    table = clay.tables.create(1, "Leads")
    name = clay.fields.create(table.id, "Name")
    clay.records.add(table.id, [{name.id: "Acme"}])
    print(clay.tables.count(table.id))
"""

from __future__ import annotations

from ._base import DEFAULT_BASE_URL
from ._client import AsyncClient, Client
from ._exceptions import (
    BadRequestError,
    ClayConnectionError,
    ClayError,
    ClayTimeoutError,
    ConflictError,
    ForbiddenError,
    NoMatchingURLError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
)
from ._jobs import Export, ImportJob
from ._models import (
    Action,
    AppAccount,
    Cell,
    CreditBreakdowns,
    CreditReport,
    CreditTotals,
    Field,
    Folder,
    Integration,
    Me,
    Member,
    Record,
    Resource,
    RunStarted,
    RunStatus,
    Source,
    Table,
    UsageRow,
    User,
    View,
    Workbook,
    Workspace,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "Action",
    "AppAccount",
    "AsyncClient",
    "BadRequestError",
    "Cell",
    "ClayConnectionError",
    "ClayError",
    "ClayTimeoutError",
    "Client",
    "ConflictError",
    "CreditBreakdowns",
    "CreditReport",
    "CreditTotals",
    "Export",
    "Field",
    "Folder",
    "ForbiddenError",
    "ImportJob",
    "Integration",
    "Me",
    "Member",
    "NoMatchingURLError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitError",
    "Record",
    "Resource",
    "RunStarted",
    "RunStatus",
    "ServerError",
    "Source",
    "Table",
    "UnauthorizedError",
    "UsageRow",
    "User",
    "View",
    "Workbook",
    "Workspace",
]
