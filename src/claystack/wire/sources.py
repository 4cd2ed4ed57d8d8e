"""Sources: what feeds rows into a table (a webhook is one kind)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field as _Field

from ._base import WireModel
from .tables import Table


class Source(WireModel):
    """A source; a webhook's ``url`` is where to POST rows."""

    wire_omittable = ("authToken",)

    id: str
    tableId: str | None = _Field(
        default=None, description="null until a source field subscribes it"
    )
    workspaceId: int | None = None
    name: str | None = None
    type: str | None = _Field(default=None, examples=["webhook"])
    typeSettings: dict[str, Any] = {}
    url: str | None = None
    state: dict[str, Any] = _Field(default={}, description="{url, numSourceRecords}")
    hasAuthToken: bool | None = None
    fieldId: str | None = None
    dataFieldId: str | None = _Field(
        default=None, description="The source field it feeds (null: buffering)"
    )
    numSourceRecords: int | None = None
    numSubmissions: int | None = None
    sourceSubscriptions: list[dict[str, Any]] = []
    createdAt: str | None = None
    deletedAt: str | None = None
    authToken: str | None = _Field(
        default=None, description="Only in the answer that created the token"
    )
    """Only on the answer that created the token."""


class TableSourceEnvelope(Table):
    """``PATCH /v3/tables/{t}``: the table under ``table`` and, for clients that read it bare,
    its keys at top level too (spec part 2 §1, §12); ``source`` when one was added."""

    wire_omittable = ("source",)

    table: Table
    source: Source | None = None


class SourceDeleteIn(WireModel):
    deleteRecords: bool = False


class WebhookAccepted(WireModel):
    success: bool = True
    recordId: str


class SourceIn(WireModel):
    workspaceId: int | str | None = None
    tableId: str | None = None
    name: str | None = None
    type: str = "webhook"
    typeSettings: dict[str, Any] | None = None


class SourceEnvelope(Source):
    """The source, also under ``source``."""

    source: Source


class SourcePatch(WireModel):
    name: str | None = None


class SourceRun(WireModel):
    id: str
    status: str
    numRecords: int
    createdAt: str | None


class SourceRuns(WireModel):
    runs: list[SourceRun]


class ResponseTypeIn(WireModel):
    sourceId: str | None = None
    responseType: Literal["JSON", "PLAIN_TEXT"]


class ResponseTypeOut(WireModel):
    success: bool
    responseType: str


class SourceTokenOut(WireModel):
    token: str
    headerName: str
