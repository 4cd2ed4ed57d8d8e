"""Records (rows) and their cells."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class Cell(WireModel):
    """A cell as read: ``value`` plus optional ``metadata.status`` and ``externalContent``."""

    wire_omittable = ("metadata", "externalContent")

    value: Any = None
    metadata: dict[str, Any] | None = None
    externalContent: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        return (self.metadata or {}).get("status")


class Record(WireModel):
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


class RecordIn(WireModel):
    id: str | None = _Field(default=None, min_length=1, max_length=200)
    cells: dict[str, Any] = {}


class RecordsIn(WireModel):
    records: list[RecordIn]


class RecordUpdate(WireModel):
    id: str = _Field(min_length=1, max_length=200)
    cells: dict[str, Any]


class RecordsPatch(WireModel):
    records: list[RecordUpdate]


class RecordsOut(WireModel):
    records: list[Record]


class RecordsPatchOut(RecordsOut):
    extraData: dict[str, Any]


class RecordList(WireModel):
    results: list[Record]


class IdList(WireModel):
    results: list[str]


class DeleteRecordsIn(WireModel):
    recordIds: list[str] | None = None
    deleteAll: bool | None = None
    viewId: str | None = None
    omitDeletingRecordIds: list[str] = []


class DeletedRecords(WireModel):
    success: bool = True
    deletedCount: int


class BulkFetchIn(WireModel):
    recordIds: list[str]
    fieldIds: list[str] | None = None
    includeExternalContentFieldIds: list[str] | None = None
