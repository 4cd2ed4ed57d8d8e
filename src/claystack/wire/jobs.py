"""Export and import jobs (CSV), run in the background and polled."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field as _Field

from ._base import WireModel


class ExportIn(WireModel):
    """No options yet (clients send nothing or ``{}``); unknown keys are ignored."""


class Export(WireModel):
    """An export job (``ej_…``). Once ``status`` is ``FINISHED``, ``downloadUrl`` is a
    signed link to the CSV that works without a login for 24 hours."""

    id: str = _Field(description="ej_…")
    status: Literal["ACTIVE", "FINISHED", "FAILED"]
    tableId: str | None = None
    viewId: str | None = None
    workspaceId: int | None = None
    fileName: str | None = None
    exportType: str = "CSV"
    totalRecordsInViewCount: int | None = None
    recordsExportedCount: int = 0
    downloadUrl: str | None = _Field(
        default=None,
        description="Once FINISHED: an absolute signed link to the CSV, usable without a "
        "login until expiresAt (24 h from this answer)",
    )
    url: str | None = _Field(default=None, description="The same link as downloadUrl")
    expiresAt: str | None = None
    error: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    finishedAt: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "ACTIVE"


class SignedPostIn(WireModel):
    filename: str = _Field(min_length=1, max_length=500)
    uploadMode: str = "import"


class SignedPostFields(WireModel):
    key: str
    policy: str
    signature: str


class SignedPostOut(WireModel):
    url: str = _Field(description="POST multipart/form-data here: every field, then `file`")
    fields: SignedPostFields
    expiresAt: str | None


class ImportSource(WireModel):
    type: Literal["S3_CSV"] = "S3_CSV"
    key: str
    filename: str | None = None
    hasHeader: bool = True
    fieldDelimiter: str | None = _Field(default=None, description="Detected when omitted")


class ImportDestination(WireModel):
    type: Literal["TABLE"] = "TABLE"
    tableId: str


class ImportConfig(WireModel):
    source: ImportSource
    destination: ImportDestination
    map: dict[str, str] = _Field(description='{f_…: "{{CSV column}}"} templates')
    isImportWithoutRun: bool = False


class ImportIn(WireModel):
    workspaceId: int | str | None = None
    config: ImportConfig


class ImportRowError(WireModel):
    line: int
    message: str


class ImportState(WireModel):
    status: Literal["ACTIVE", "FINISHED", "FAILED"] = "ACTIVE"
    numRowsSoFar: int = _Field(default=0, description="Rows added to the table so far")
    numRowsRead: int = 0
    errorCount: int = _Field(default=0, description="CSV rows left out (malformed)")
    errors: list[ImportRowError] = _Field(default=[], description="The first 100 rows left out")
    error: str | None = _Field(default=None, description="Why the import FAILED")


class ImportJob(WireModel):
    """An import job (``ij_…``); ``state`` holds ``status``, ``numRowsSoFar`` (rows added so
    far), ``errorCount`` and ``errors`` (malformed CSV rows left out, by line)."""

    id: str = _Field(description="ij_…")
    status: Literal["ACTIVE", "FINISHED", "FAILED"]
    workspaceId: int | None = None
    tableId: str | None = None
    state: ImportState = _Field(default_factory=lambda: ImportState())
    config: dict[str, Any] = {}
    createdAt: str | None = None
    updatedAt: str | None = None
    finishedAt: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "ACTIVE"

    @property
    def rows(self) -> int:
        """Rows added to the table so far."""
        return self.state.numRowsSoFar
