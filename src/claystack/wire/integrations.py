"""Integrations, their actions, and app accounts (an integration's stored credentials)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field as _Field

from ._base import WireModel


class Action(WireModel):
    """One action of an integration; ``credits`` is charged per successful execution."""

    key: str
    displayName: str | None = None
    inputSchema: dict[str, Any] = {}
    outputSchema: dict[str, Any] = {}
    credits: int = _Field(default=0, description="Integer credits charged per successful execution")


class AppAccount(WireModel):
    """A connected account (``aa_…``). The server never returns credential values;
    ``credentialKeys`` names the ones that are set."""

    id: str = _Field(examples=["aa_0t81wcjDX7iDNWq2RHC"])
    workspaceId: int | None = None
    appAccountTypeId: str | None = _Field(default=None, description="The integration key")
    type: str | None = _Field(default=None, description="Same as appAccountTypeId")
    name: str | None = None
    credentialKeys: list[str] = _Field(
        default=[], description="Names of the credentials that are set"
    )
    createdBy: int | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    deletedAt: str | None = None


class Integration(WireModel):
    """An integration: its actions, the credentials an app account needs (secret ones listed
    in ``secretCredentialKeys``) and its rate limits. ``appAccounts`` is filled when one
    integration is fetched."""

    wire_omittable: ClassVar[tuple[str, ...]] = ("appAccounts",)

    key: str = _Field(examples=["http-api-v2"])
    type: str | None = None
    appAccountTypeId: str | None = None
    displayName: str | None = None
    actions: list[Action] = []
    credentialsSchema: dict[str, Any] = _Field(
        default={},
        description="JSON Schema of a connected account's credentials; secret properties "
        'carry "secret": true and "writeOnly": true',
    )
    secretCredentialKeys: list[str] = []
    requiresAccount: bool = _Field(
        default=False, description="True when the schema requires credentials"
    )
    maxConcurrency: int | None = None
    ratePerSecond: float | None = None
    appAccounts: list[AppAccount] = []

    def action(self, key: str) -> Action | None:
        return next((a for a in self.actions if a.key == key), None)


class IntegrationWithAccounts(Integration):
    """An integration with the workspace's app accounts for it."""

    wire_omittable = ()


class IntegrationEnvelope(WireModel):
    integration: IntegrationWithAccounts


class IntegrationList(WireModel):
    integrations: list[Integration]
    appAccounts: list[AppAccount] = _Field(description="The workspace's connected accounts")


class AppAccountIn(WireModel):
    appAccountTypeId: str | None = _Field(default=None, description="The integration key")
    type: str | None = _Field(default=None, description="Alias of appAccountTypeId")
    name: str | None = _Field(default=None, description="Defaults to the integration's name")
    credentials: dict[str, Any] = {}


class AppAccountPatch(WireModel):
    name: str | None = None
    credentials: dict[str, Any] | None = _Field(
        default=None, description="Replaces the whole set of credentials"
    )


class AppAccountEnvelope(WireModel):
    appAccount: AppAccount
