"""The action catalog as Clay's clients read it: every built-in and plugin action with Clay's
``actionKey``/``actionPackageId``, parameter lists, prices and auth; enrichment search;
dynamic field options; app-account types; presets and disabled actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...integrations import Action, Integration
from ...wire import AccountType, ActionCatalog, DisabledActions, SearchResults, ValidateAuthOut
from ..enrichment import registry
from ..errors import BadRequest, InvalidParameter, NotFound
from ..storage.repositories import Connection
from . import app_accounts, credits
from .common import Scope


def clay_ids(integration: Integration, action: Action) -> tuple[str, str]:
    """(actionKey, actionPackageId) as Clay names the action."""
    key = getattr(action, "clay_action_key", None) or action.key
    return key, registry.clay_package_id(integration, action)


def _type_name(prop: Any) -> str:
    kind = prop.get("type") if isinstance(prop, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return str(kind or "any")


def _title(name: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


def input_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSON Schema object's properties as Clay's ``inputParameterSchema`` list."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return []
    required = set(schema.get("required") or ())
    out = []
    for name, prop in props.items():
        item: dict[str, Any] = {
            "name": name,
            "type": _type_name(prop),
            "optional": name not in required,
            "displayName": (prop.get("title") if isinstance(prop, dict) else None) or _title(name),
        }
        if isinstance(prop, dict):
            if prop.get("description"):
                item["description"] = prop["description"]
            if "enum" in prop:
                item["options"] = list(prop["enum"])
        out.append(item)
    return out


def output_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Clay's ``outputParameterSchema``: the result's properties (paths into fullValue), or
    one ``value`` entry for a scalar result."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict) and props:
        return [
            {"name": name, "type": _type_name(prop), "outputPath": name, "semanticType": None}
            for name, prop in props.items()
        ]
    return [
        {"name": "value", "type": _type_name(schema), "outputPath": "value", "semanticType": None}
    ]


def authentication_type(integration: Integration) -> str:
    schema = integration.credentials_schema or {}
    return "api_key" if (schema.get("properties") or schema.get("required")) else "none"


def action_out(integration: Integration, action: Action, settings: Any) -> dict[str, Any]:
    key, package = clay_ids(integration, action)
    own = action.credits
    price = credits.execution_price(settings, integration, action, own)
    overridden = credits.price_override(settings, integration, action) is not None
    schema = integration.credentials_schema or {}
    return {
        "key": action.key,
        "actionKey": key,
        "actionPackageId": package,
        "integration": integration.key,
        "packageName": integration.display_name,
        "displayName": action.display_name,
        "description": getattr(action, "description", "") or action.display_name,
        "inputParameterSchema": input_parameters(action.input_schema),
        "outputParameterSchema": output_parameters(action.output_schema),
        "inputSchema": action.input_schema,
        "outputSchema": action.output_schema,
        "pricing": {
            "credits": price,
            "actions": 1,
            "variable": action.quote is not None and not overridden,
            "configured": overridden,
        },
        "auth": {
            "appAccountTypeId": integration.key,
            "authenticationType": authentication_type(integration),
            "required": bool(schema.get("required")),
        },
    }


def _actions() -> Iterator[tuple[Integration, Action]]:
    found = registry.integrations()
    for ikey in sorted(found):
        for action in found[ikey].actions:
            yield found[ikey], action


def list_actions(settings: Any) -> ActionCatalog:
    return ActionCatalog.build(actions=[action_out(i, a, settings) for i, a in _actions()])


def find_action(package: str | None, key: str | None) -> tuple[Integration, Action] | None:
    """An action by Clay's or claystack's names; the package may be left out."""
    for integration, action in _actions():
        akey, apkg = clay_ids(integration, action)
        if key not in (akey, action.key):
            continue
        if package in (None, "", apkg, integration.key):
            return integration, action
    return None


# -- enrichment search ---------------------------------------------------------------------

_SEARCH_TYPES = {"action", "actions", "enrichment", "enrichments", "integration"}


def search(body: dict[str, Any], settings: Any) -> SearchResults:
    query = body.get("userQuery", body.get("query", ""))
    if not isinstance(query, str):
        raise InvalidParameter("userQuery", "expected a string")
    types = body.get("types")
    if types is not None and (
        not isinstance(types, list) or not all(isinstance(t, str) for t in types)
    ):
        raise InvalidParameter("types", "expected strings")
    limit = body.get("limit", 20)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidParameter("limit", "expected 1 to 1000")
    if types and not _SEARCH_TYPES & {t.lower() for t in types}:
        return SearchResults.build(results=[])
    words = [w for w in re.split(r"\W+", query.lower()) if w]
    scored: list[tuple[int, dict[str, Any]]] = []
    for integration, action in _actions():
        out = action_out(integration, action, settings)
        name = f"{out['displayName']} {out['actionKey']}".lower()
        text = f"{name} {integration.display_name} {out['description']}".lower()
        if not all(w in text for w in words):
            continue
        score = sum(2 if w in name else 1 for w in words)
        scored.append(
            (
                -score,
                {
                    "entity_id": f"{out['actionPackageId']}/{out['actionKey']}",
                    "name": out["displayName"],
                    "type": "action",
                    "description": out["description"],
                    "actionKey": out["actionKey"],
                    "actionPackageId": out["actionPackageId"],
                    "pricing": out["pricing"],
                },
            )
        )
    scored.sort(key=lambda s: (s[0], s[1]["name"]))
    return SearchResults.build(results=[r for _, r in scored[:limit]])


# -- dynamic fields ------------------------------------------------------------------------


def dynamic_fields(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Options of an input, from its schema's ``enum``; ``[]`` for free inputs."""
    requests = body.get("dynamicRequests")
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise InvalidParameter("dynamicRequests", "expected a list of objects")
    out = []
    for req in requests:
        path = req.get("parameterPath")
        item: dict[str, Any] = {"parameterPath": path, "dynamicData": [], "errors": []}
        item["logUrl"] = None
        found = find_action(req.get("actionPackageId"), req.get("actionKey"))
        if found is None:
            item["errors"] = [f"Unknown action {req.get('actionPackageId')}/{req.get('actionKey')}"]
        else:
            props = (found[1].input_schema or {}).get("properties") or {}
            prop = props.get(str(path).split("|")[0].split(".")[0]) if path else None
            if isinstance(prop, dict) and isinstance(prop.get("enum"), list):
                item["dynamicData"] = [{"value": v, "label": str(v)} for v in prop["enum"]]
        out.append(item)
    return out


# -- app-account types ---------------------------------------------------------------------


def _integration(key: str) -> Integration:
    found = registry.get(key)
    if found is None:
        raise NotFound(f"Integration not found: {key}")
    return found


def _display(integration: Integration) -> dict[str, Any]:
    return {"name": integration.display_name, "displayName": integration.display_name}


def account_types() -> list[dict[str, Any]]:
    found = registry.integrations()
    return [
        {
            "id": key,
            "authenticationType": authentication_type(found[key]),
            "displayMetadata": _display(found[key]),
        }
        for key in sorted(found)
    ]


async def account_type(conn: Connection, scope: Scope, key: str, settings: Any) -> AccountType:
    """The bare type object, with the older ``{integration}`` envelope mirrored inside."""
    integration = _integration(key)
    kind = authentication_type(integration)
    validate = [a for a in integration.actions if "validate-auth" in a.key]
    first = validate[0] if validate else (integration.actions[0] if integration.actions else None)
    info = None
    if first is not None:
        akey, apkg = clay_ids(integration, first)
        info = {"actionKey": akey, "actionPackageId": apkg}
    inner = await app_accounts.integration_with_accounts(conn, scope, key)
    return AccountType.build(
        id=integration.key,
        authenticationType=kind,
        authMethods=[{"type": kind}] if kind != "none" else [],
        displayMetadata=_display(integration),
        typeSpecific={"validateAuthActionInfo": info},
        actions=[action_out(integration, a, settings) for a in integration.actions],
        credentialsSchema=inner.credentialsSchema,
        appAccounts=inner.appAccounts,
        integration=inner,
    )


async def validate_auth(
    conn: Connection, scope: Scope, key: str, body: dict[str, Any]
) -> ValidateAuthOut:
    """Checks that an account (or inline credentials) can be used for this type."""
    integration = _integration(key)
    method = body.get("authMethod") or {}
    if not isinstance(method, dict):
        raise InvalidParameter("authMethod", "expected object")
    account_id = method.get("appAccountId") or body.get("appAccountId")
    meta = {"appAccountTypeId": integration.key}
    try:
        if account_id:
            await app_accounts.resolve_credentials(
                conn, scope.workspace_id, str(account_id), integration.key
            )
        else:
            creds = method.get("credentials", body.get("credentials", {}))
            app_accounts.validate_credentials(integration.credentials_schema or {}, creds)
    except (NotFound, BadRequest) as exc:
        message = "App Account not found" if isinstance(exc, NotFound) else exc.message
        return ValidateAuthOut.build(status="error", message=message, actionMetadata=meta)
    return ValidateAuthOut.build(status="ok", message="Credentials are valid", actionMetadata=meta)


# -- disabled actions ----------------------------------------------------------


def disabled_actions() -> DisabledActions:
    return DisabledActions.build(disabledActionIds=[])
