"""Integrations, the action catalog and app accounts."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    AppAccount,
    CatalogAction,
    Integration,
)
from ._util import (
    _drop_none,
    _q,
)


class Integrations(Namespace[M]):
    """Integrations: provider types with their actions, prices and the credentials they need."""

    @api("GET /integrations")
    def list(self, *, workspace_id: int | None = None) -> Op[builtins.list[Integration]]:
        """Every integration the server offers."""
        data = yield req("GET", "/integrations", params={"workspaceId": workspace_id})
        return [Integration.model_validate(i) for i in data["integrations"]]

    @api("GET /integrations/{type}")
    def get(self, integration: str, *, workspace_id: int | None = None) -> Op[Integration]:
        """One integration: its actions, their inputs, outputs and credit prices, and your
        connected accounts for it (``appAccounts``)."""
        data = yield req(
            "GET", f"/integrations/{_q(integration)}", params={"workspaceId": workspace_id}
        )
        return Integration.model_validate(data["integration"])


class Actions(Namespace[M]):
    """The action catalog: every action the server can run, with Clay's names and prices."""

    @api("GET /actions")
    def list(self, *, workspace_id: int | None = None) -> Op[builtins.list[CatalogAction]]:
        """Every built-in and plugin action, with ``actionKey``, ``actionPackageId``,
        parameters, ``pricing`` and ``auth``."""
        data = yield req("GET", "/actions", params={"workspaceId": workspace_id})
        return [CatalogAction.model_validate(a) for a in data["actions"]]

    @api("POST /workspaces/{workspaceId}/enrichment-search/query-v2")
    def search(
        self, workspace_id: int, query: str, *, limit: int = 20
    ) -> Op[builtins.list[dict[str, Any]]]:
        """Actions whose name, key or description contain every word of ``query``:
        ``[{entity_id, name, type, description, actionKey, actionPackageId, pricing}]``."""
        body = {"userQuery": query, "limit": limit}
        path = f"/workspaces/{_q(workspace_id)}/enrichment-search/query-v2"
        data = yield req("POST", path, body)
        return [dict(r) for r in data["results"]]


class AppAccounts(Namespace[M]):
    """Connected accounts (``aa_…``): an integration's credentials, stored encrypted by the
    server and never shown again; answers name the credential keys that are set."""

    @api("POST /workspaces/{workspaceId}/app-accounts")
    def create(
        self,
        workspace_id: int,
        integration: str,
        credentials: Mapping[str, Any],
        *,
        name: str | None = None,
    ) -> Op[AppAccount]:
        """Connects an account for ``integration`` with ``credentials`` (checked against
        the integration's ``credentialsSchema``)."""
        body = _drop_none(appAccountTypeId=integration, name=name)
        body["credentials"] = dict(credentials)
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/app-accounts", body)
        return AppAccount.model_validate(data["appAccount"])

    @api("GET /workspaces/{workspaceId}/app-accounts")
    def list(self, workspace_id: int) -> Op[builtins.list[AppAccount]]:
        """The workspace's connected accounts."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/app-accounts")
        items = data["appAccounts"] if isinstance(data, dict) else data
        return [AppAccount.model_validate(a) for a in items]

    @api("GET /app-accounts/{accountId}")
    def get(self, account_id: str) -> Op[AppAccount]:
        """One connected account."""
        data = yield req("GET", f"/app-accounts/{_q(account_id)}")
        return AppAccount.model_validate(data["appAccount"])

    @api("PATCH /app-accounts/{accountId}")
    def update(
        self,
        account_id: str,
        *,
        name: str | None = None,
        credentials: Mapping[str, Any] | None = None,
    ) -> Op[AppAccount]:
        """Renames the account and/or replaces its whole set of credentials."""
        body = _drop_none(
            name=name, credentials=dict(credentials) if credentials is not None else None
        )
        data = yield req("PATCH", f"/app-accounts/{_q(account_id)}", body)
        return AppAccount.model_validate(data["appAccount"])

    @api("DELETE /app-accounts/{accountId}")
    def delete(self, account_id: str) -> Op[None]:
        """Deletes the account and its stored credentials."""
        yield req("DELETE", f"/app-accounts/{_q(account_id)}")
