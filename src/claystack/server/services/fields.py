"""Rules for the typeSettings of computed columns: action (enrichment) and formula fields."""

from __future__ import annotations

from typing import Any

from ..enrichment import registry
from ..errors import BadRequest

WATERFALL = "waterfall"
RUNNABLE_TYPES = ("action", "formula")


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(f'Invalid request parameter(s): Field "typeSettings.{field}" - {message}')


def _text(settings: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = settings.get(key)
    if value is None:
        if required:
            raise _bad(where + key, "Required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(where + key, "expected a non-empty string")
    return value


def _check_bindings(value: Any, where: str) -> None:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _bad(where + "inputsBinding", "expected a list of {name, formulaText}")
    for i, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not item["name"]
            or not isinstance(item.get("formulaText"), str)
        ):
            raise _bad(f"{where}inputsBinding.{i}", "expected {name, formulaText} strings")


def _check_action(settings: dict[str, Any], where: str) -> None:
    package = _text(settings, "actionPackageId", where, required=True)
    action = _text(settings, "actionKey", where, required=True)
    integration = registry.get(package or "")
    if integration is None:
        raise _bad(where + "actionPackageId", f'unknown integration "{package}"')
    if integration.action(action or "") is None:
        keys = ", ".join(a.key for a in integration.actions)
        raise _bad(where + "actionKey", f'"{action}" is not an action of {package} ({keys})')
    _check_bindings(settings.get("inputsBinding"), where)
    _text(settings, "authAccountId", where, required=False)


def check_type_settings(field_type: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Validates the settings of an action or formula field; other types pass unchanged."""
    if field_type == "formula":
        _text(settings, "formulaText", "", required=True)
    elif field_type == "action":
        if settings.get("actionPackageId") == WATERFALL:
            if settings.get("actionKey", WATERFALL) != WATERFALL:
                raise _bad("actionKey", 'a waterfall\'s actionKey is "waterfall"')
            steps = settings.get("steps")
            if not isinstance(steps, list) or not steps:
                raise _bad("steps", "a waterfall needs a non-empty list of steps")
            for i, step in enumerate(steps):
                if not isinstance(step, dict):
                    raise _bad(f"steps.{i}", "expected an object")
                _check_action(step, f"steps.{i}.")
            settings = {**settings, "actionKey": WATERFALL}
        else:
            _check_action(settings, "")
        _text(settings, "conditionalRunFormulaText", "", required=False)
        dts = settings.get("dataTypeSettings")
        if dts is not None and not isinstance(dts, dict):
            raise _bad("dataTypeSettings", "expected an object")
    return settings
