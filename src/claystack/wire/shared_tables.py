"""Shared-table settings (spec part 2 §3.7)."""

from __future__ import annotations

from pydantic import Field as _Field

from ._base import WireModel


class SharedTableIn(WireModel):
    tableId: str
    viewId: str | None = None
    sharingType: str | None = None


class SharedTablePatch(WireModel):
    sharingType: str | None = None
    viewId: str | None = None
    sharedUserEmails: list[str] | None = None
    shouldResetPublicId: bool | None = None


class SharedTableOut(WireModel):
    id: str = _Field(examples=["share_0t…"])
    tableId: str
    viewId: str
    sharingType: str
    publicId: str
    sharedUserEmails: list[str]
    createdAt: str | None
    updatedAt: str | None
