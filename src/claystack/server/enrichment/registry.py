"""Finds integrations: every entry point in the ``claystack.integrations`` group, plus any
registered at run time with :func:`register` (embedding applications, test suites)."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ...integrations import Action, Integration

GROUP = "claystack.integrations"
log = logging.getLogger("claystack")
_registered: dict[str, Integration] = {}


@cache
def _discovered() -> dict[str, Integration]:
    found: dict[str, Integration] = {}
    for ep in entry_points(group=GROUP):
        try:
            obj = ep.load()
        except Exception:  # a broken plugin must not take the server down
            log.exception("could not load integration %s", ep.name)
            continue
        if not isinstance(obj, Integration):
            log.error("entry point %s is not a claystack Integration", ep.name)
            continue
        found[obj.key] = obj
    return found


@cache
def integrations() -> dict[str, Integration]:
    """Integration key → integration, built-ins and third-party alike (loaded once)."""
    return {**_discovered(), **_registered}


def get(key: str) -> Integration | None:
    return integrations().get(key)


def register(integration: Integration) -> None:
    """Adds (or replaces) an integration in this process, as an entry point would."""
    if not isinstance(integration, Integration):
        raise TypeError("register() takes a claystack Integration")
    _registered[integration.key] = integration
    integrations.cache_clear()


def unregister(key: str) -> None:
    """Removes an integration added with :func:`register`."""
    _registered.pop(key, None)
    integrations.cache_clear()


# Clay's action package UUIDs (spec part 2 §4.3) and the action keys seen under each.
CLAY_PACKAGES: dict[str, tuple[str, ...]] = {
    "4299091f-3cd3-4d68-b198-0143575f471d": (
        "http-api-v2",
        "lookup-row-in-other-table",
        "lookup-multiple-rows-in-other-table",
        "lookup-multiple-rows",
    ),
    "67ba01e9-1898-4e7d-afe7-7ebe24819a57": ("use-ai", "ai", "claygent"),
    "6c973999-fb78-4a5a-8d99-d2fee5b73878": ("normalize-company-name",),
    "b1ab3d5d-b0db-4b30-9251-3f32d8b103c1": (
        "execute-subroutine",
        "write-to-cell",
        "write-to-table",
    ),
    "e251a70e-46d7-4f3a-b3ef-a211ad3d8bd2": (
        "enrich-person-with-mixrank-v2",
        "enrich-company-with-mixrank-v2",
        "find-lists-of-people-with-mixrank-source",
        "find-lists-of-companies-with-mixrank-source",
    ),
    "d0c0a70d-7c1e-40de-b214-9d8d82672770": (
        "salesforce-lookup-via-soql-v2",
        "salesforce-lookup-record-v2",
    ),
    "edb58209-a62d-42be-992a-e41b87eeacc2": ("leadmagic-find-work-email",),
    "48a31bbb-63e6-4461-8a62-d88bb2cd6b0f": ("prospeo-find-work-email-v2", "prospeo-validate-auth"),
    "9515bb04-4267-4074-94eb-653545c3c38f": ("findymail-find-work-email",),
    "778df10d-f68b-461a-8eb7-56047737f5eb": ("apollo-oauth-enrich-person",),
    "70cda03a-a576-4a6c-b3b3-55e241f828b5": (
        "instantly-v2-add-lead-to-campaign",
        "instantly-v2-find-leads",
        "instantly-v2-update-lead",
    ),
    "b210a16b-cdaf-4cbd-ad9b-42d762cd165f": ("social-posts-get-post-activity-posts-and-shares",),
}
# Clay's other names for built-in actions.
ACTION_ALIASES: dict[str, str] = {
    "ai": "use-ai",
    "claygent": "use-ai",
    "lookup-multiple-rows": "lookup-multiple-rows-in-other-table",
    "write-to-table": "write-to-cell",
}
_CLAY_PACKAGE_OF = {key: pkg for pkg, keys in CLAY_PACKAGES.items() for key in keys}


def resolve(package_id: str, action_key: str) -> tuple[Integration, Action] | None:
    """The integration and action a field names, by ``actionKey`` first: ``actionPackageId``
    may be a claystack integration key, one of Clay's package UUIDs or anything else."""
    key = ACTION_ALIASES.get(action_key, action_key)
    known = integrations()
    preferred = known.get(package_id)
    if preferred is not None and preferred.action(key) is not None:
        return preferred, preferred.action(key)  # type: ignore[return-value]
    for integration in known.values():
        action = integration.action(key)
        if action is not None:
            return integration, action
    return None


def clay_package_id(integration: Integration, action: Action) -> str:
    """Clay's ``actionPackageId`` for an action: the one the plugin declares
    (``Action.clay_package_id``, ``Integration.clay_package_id``), its package UUID when
    Clay has one, else the claystack integration key."""
    return (
        action.clay_package_id
        or integration.clay_package_id
        or _CLAY_PACKAGE_OF.get(action.clay_action_key or action.key)
        or _CLAY_PACKAGE_OF.get(action.key, integration.key)
    )


def _parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required") or ())
    out = []
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
        out.append(
            {
                "name": name,
                "type": kind if isinstance(kind, str) else "|".join(kind),
                "optional": name not in required,
                "displayName": (spec.get("title") if isinstance(spec, dict) else None) or name,
                "description": spec.get("description") if isinstance(spec, dict) else None,
            }
        )
    return out


def definition(integration: Integration, action: Action) -> dict[str, Any]:
    """The catalog shape of an action (spec part 2 §7, §13 ``actionDefinition``)."""
    outputs = [
        {"name": name, "type": spec.get("type", "any"), "outputPath": name, "semanticType": None}
        for name, spec in (action.output_schema.get("properties") or {}).items()
        if isinstance(spec, dict)
    ]
    if not outputs:
        outputs = [{"name": "value", "type": "any", "outputPath": "", "semanticType": None}]
    return {
        "key": action.key,
        "actionKey": action.clay_action_key or action.key,
        "actionPackageId": clay_package_id(integration, action),
        "integration": integration.key,
        "displayName": action.display_name,
        "inputParameterSchema": _parameters(action.input_schema),
        "inputJsonSchema": action.input_schema,
        "outputParameterSchema": outputs,
        "pricing": {"credits": action.credits},
        "auth": {"required": bool(integration.credentials_schema.get("required"))},
    }
