"""Fields (columns), field groups and waterfalls."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class Field(WireModel):
    """A column. ``typeSettings`` holds the formula or action of computed columns."""

    wire_omittable = ("settingsError", "actionDefinition", "groupId")

    id: str
    tableId: str | None = None
    name: str
    type: str
    typeSettings: dict[str, Any] = {}
    inputFieldIds: list[str] = []
    isSystem: bool = False
    groupId: str | None = None
    """The field group it belongs to (answers that show a whole table)."""
    settingsError: str | None = _Field(
        default=None, description="UNKNOWN_ACTION or MISSING_AUTH: the column cannot run"
    )
    """``UNKNOWN_ACTION`` or ``MISSING_AUTH`` when the column cannot run as configured."""
    actionDefinition: dict[str, Any] | None = _Field(
        default=None, description="Action fields: the catalog entry of their action"
    )
    """Action columns: their action's catalog entry (key, actionPackageId, schemas, pricing)."""
    createdAt: str | None = None
    updatedAt: str | None = None


class FieldIn(WireModel):
    name: str = _Field(min_length=1, max_length=500)
    type: str
    typeSettings: dict[str, Any] | None = None


class FieldPatch(WireModel):
    name: str | None = _Field(default=None, min_length=1, max_length=500)
    type: str | None = None
    typeSettings: dict[str, Any] | None = None


class FieldEnvelope(WireModel):
    field: Field


class FieldIdsIn(WireModel):
    fieldIds: list[str]


class FieldGroupIn(WireModel):
    fieldIds: list[str]
    name: str | None = None


class GroupMemberIn(WireModel):
    id: str
    isOutputField: bool | None = None


class FieldGroupPatch(WireModel):
    name: str | None = None
    fields: list[GroupMemberIn]


class FieldGroupDeleteIn(WireModel):
    deleteFields: bool = False


class GroupCreated(WireModel):
    groupId: str


class GroupMember(WireModel):
    id: str
    isOutputField: bool


class GroupDetails(WireModel):
    fields: list[GroupMember]


class FieldGroupOut(WireModel):
    id: str
    name: str
    groupDetails: GroupDetails


class WaterfallStepIn(WireModel):
    actionKey: str
    actionPackageId: str
    inputsBinding: list[dict[str, Any]] = []
    attributePath: str | None = None
    name: str | None = None
    authAccountId: str | None = None


class WaterfallIn(WireModel):
    waterfallFieldName: str | None = None
    waterfallGroupName: str | None = None
    runAsButton: bool = False
    hideFromViews: bool = False
    waterfallConfigs: list[WaterfallStepIn] = _Field(min_length=1)


class WaterfallOut(WireModel):
    fieldGroupMap: dict[str, FieldGroupOut]
