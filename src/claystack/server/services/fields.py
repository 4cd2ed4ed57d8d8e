"""Rules for the typeSettings of computed columns: formula and action (enrichment) fields.

Clients create them in several shapes (spec part 2 §4.2, §4.3); they are normalised here,
when the field is created or changed, so that the engine sees one form and a bad setting is
a 400 naming the input rather than a failed cell at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..enrichment import bindings as bindings_mod
from ..enrichment import formulas, registry
from ..enrichment.actions import waterfall
from ..errors import BadRequest, InvalidParameter
from ..storage.repositories import Connection
from ..storage.repositories import app_accounts as app_accounts_repo
from ..storage.repositories import fields as fields_repo

WATERFALL = waterfall.KEY
RUNNABLE_TYPES = ("action", "formula")
FORMULA_KEYS = ("formulaText", "formula", "formulaWaterfall")
UNKNOWN_ACTION = "UNKNOWN_ACTION"
MISSING_AUTH = "MISSING_AUTH"

_ANY_REF = re.compile(r"\{\{(.*?)\}\}", re.S)
# Code, not a text template: a reference used as a JavaScript value (``{{f}}?.x``, ``{{f}}[0]``,
# ``{{f}}.trim()``) or an arrow function.
_CODE = re.compile(r"\}\}\s*(\?\.|\[|\.\s*[A-Za-z_$][\w$]*\s*\()|=>")
# Inputs named differently by Clay: alias → the action's own input.
INPUT_ALIASES: dict[str, dict[str, str]] = {
    "http-api-v2": {"retryOptions|maxRetries": "maxRetries"},
    "use-ai": {"answerSchemaType": "answerSchema"},
}


def _bad(field: str, message: str) -> BadRequest:
    return InvalidParameter(f"typeSettings.{field}", f"{message}")


@dataclass(frozen=True)
class Columns:
    """The table's fields, to resolve ``{{Name}}`` references to ids."""

    names: Mapping[str, str]  # id → name
    self_id: str | None = None

    def resolve(self, ref: str) -> str | None:
        if ref in self.names:
            return ref
        by_name = [fid for fid, name in self.names.items() if name == ref]
        if not by_name:
            by_name = [fid for fid, name in self.names.items() if name.lower() == ref.lower()]
        return by_name[0] if by_name else None


def resolve_refs(text: str, columns: Columns, where: str) -> str:
    """``text`` with every ``{{id or name}}`` made ``{{f_…}}``; a 400 naming ``where`` for an
    empty reference, an unknown field or the field itself."""

    def sub(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if not inner:
            raise _bad(where, "empty reference {{}}: name a field, e.g. {{Company}}")
        fid = columns.resolve(inner)
        if fid is None:
            raise _bad(where, f'refers to an unknown field "{inner}"')
        if fid == columns.self_id:
            raise _bad(where, "refers to the field itself")
        return "{{" + fid + "}}"

    out = _ANY_REF.sub(sub, text)
    if "{{" in _ANY_REF.sub("", out):
        raise _bad(where, 'a "{{" is not closed with "}}"')
    return out


def is_formula(field_type: str, settings: Mapping[str, Any]) -> bool:
    """A field is a formula whenever a formula is set, however it was created (§4.2)."""
    if field_type == "formula":
        return True
    return any(settings.get(k) not in (None, "", []) for k in FORMULA_KEYS)


def _waterfall_formula(steps: Any, columns: Columns) -> str:
    if not isinstance(steps, list) or not steps:
        raise _bad("formulaWaterfall", "expected a non-empty list of {formula}")
    parts = []
    for i, step in enumerate(steps):
        text = step.get("formula") if isinstance(step, dict) else step
        if not isinstance(text, str) or not text.strip():
            raise _bad(f"formulaWaterfall.{i}.formula", "expected a formula")
        text = resolve_refs(text, columns, f"formulaWaterfall.{i}.formula")
        error = formulas.compile_error(text)
        if error:
            raise _bad(f"formulaWaterfall.{i}.formula", error)
        parts.append(f"() => ({text}\n)")
    # First non-empty result wins; a step that throws counts as empty.
    return (
        f"[{', '.join(parts)}].reduce((found, step) => {{ if (found !== undefined) "
        "return found; let v; try { v = step(); } catch (e) { return undefined; } "
        'return v === null || v === undefined || v === "" ? undefined : v; }, undefined)'
    )


def _formula(original_type: str, settings: dict[str, Any], columns: Columns) -> dict[str, Any]:
    out = dict(settings)
    text = out.get("formulaText")
    if text in (None, "") and isinstance(out.get("formula"), str):
        text = out["formula"]
    if text in (None, "") and out.get("formulaWaterfall") not in (None, []):
        text = _waterfall_formula(out["formulaWaterfall"], columns)
    if text is not None and not isinstance(text, str):
        raise _bad("formulaText", "expected a string")
    if text and text.strip():
        text = resolve_refs(text, columns, "formulaText")
        error = formulas.compile_error(text)
        if error:
            raise _bad("formulaText", error)
        out["formulaText"] = text
    else:
        out.pop("formulaText", None)  # an empty formula column (lenient, §4.2)
    for key in ("actionKey", "actionPackageId", "inputsBinding", "authAccountId"):
        out.pop(key, None)
    if not isinstance(out.get("dataTypeSettings"), dict):
        kind = original_type if original_type not in RUNNABLE_TYPES else "text"
        out["dataTypeSettings"] = {"type": kind}
    return out


def _check_binding_text(text: str, columns: Columns, where: str) -> str:
    text = resolve_refs(text, columns, where)
    if _CODE.search(text):
        error = formulas.compile_error(text)
        if error:
            raise _bad(where, error)
    return text


def _bindings(value: Any, columns: Columns, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):  # {name: formula}, as some clients send it
        value = [{"name": k, "formulaText": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise _bad(where + "inputsBinding", "expected a list of {name, formulaText}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _bad(f"{where}inputsBinding.{i}", "expected {name, formulaText}")
        name = item["name"]
        if not name.strip():
            raise _bad(f"{where}inputsBinding.{i}.name", "must not be empty")
        entry = {k: v for k, v in item.items() if k != "value"}
        text = entry.get("formulaText")
        if text is not None:
            if not isinstance(text, str):
                raise _bad(f"{where}inputsBinding.{name}", "formulaText must be a string")
            entry["formulaText"] = _check_binding_text(
                text, columns, f"{where}inputsBinding.{name}"
            )
        mapping = entry.get("formulaMap")
        if mapping is not None:
            if not isinstance(mapping, dict) or not all(
                isinstance(v, str) for v in mapping.values()
            ):
                raise _bad(f"{where}inputsBinding.{name}", "formulaMap must map keys to formulas")
            entry["formulaMap"] = {
                k: _check_binding_text(v, columns, f"{where}inputsBinding.{name}.{k}")
                for k, v in mapping.items()
            }
        out.append(entry)
    return out


async def _check_account(
    conn: Connection, workspace_id: int, account_id: Any, integration: str, where: str
) -> None:
    if not isinstance(account_id, str) or not account_id:
        raise _bad(where + "authAccountId", "expected a connected account id")
    row = await app_accounts_repo.integration_of(conn, workspace_id, account_id)
    if row is None:
        raise _bad(where + "authAccountId", f'connected account "{account_id}" not found')
    if row.integration != integration:
        raise _bad(
            where + "authAccountId",
            f'connected account "{account_id}" is for {row.integration}, not {integration}',
        )


async def _action(
    conn: Connection,
    workspace_id: int,
    settings: dict[str, Any],
    columns: Columns,
    where: str,
) -> dict[str, Any]:
    out = dict(settings)
    key = out.get("actionKey")
    if not isinstance(key, str) or not key.strip():
        raise _bad(where + "actionKey", "Required")
    package = out.get("actionPackageId")
    if package is not None and not isinstance(package, str):
        raise _bad(where + "actionPackageId", "expected a string")
    out["inputsBinding"] = _bindings(out.get("inputsBinding"), columns, where)
    condition = out.get("conditionalRunFormulaText")
    if condition is not None:
        if not isinstance(condition, str):
            raise _bad(where + "conditionalRunFormulaText", "expected a string")
        if condition.strip():
            condition = resolve_refs(condition, columns, where + "conditionalRunFormulaText")
            error = formulas.compile_error(condition)
            if error:
                raise _bad(where + "conditionalRunFormulaText", error)
        out["conditionalRunFormulaText"] = condition
    found = registry.resolve(package or key, key)
    if found is None:
        out.setdefault("actionPackageId", key)
        return out  # kept: settingsError UNKNOWN_ACTION, cells ERROR when run (§4.3)
    integration, action = found
    out["actionKey"], out["actionPackageId"] = action.key, integration.key
    if package and package != integration.key:
        out["clayActionPackageId"] = package
    aliases = INPUT_ALIASES.get(action.key, {})
    given = {
        aliases.get(b["name"], b["name"]) for b in out["inputsBinding"] if bindings_mod.is_set(b)
    }
    for name in action.input_schema.get("required") or ():
        if name not in given:
            raise _bad(f"{where}inputsBinding.{name}", f"Required by {action.key}")
    if out.get("authAccountId") is not None:
        await _check_account(conn, workspace_id, out["authAccountId"], integration.key, where)
    return out


async def prepare(
    conn: Connection,
    *,
    workspace_id: int,
    table_id: str,
    field_type: str,
    settings: Mapping[str, Any],
    field_id: str | None = None,
    previous: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The type and normalised typeSettings of a field being created or changed; a 400
    (``BadRequest``) naming the setting or input that is wrong."""
    settings = {k: v for k, v in settings.items() if v is not None}
    if field_type not in RUNNABLE_TYPES and not is_formula(field_type, settings):
        return field_type, settings
    columns = Columns(await fields_repo.names(conn, table_id), field_id)
    if is_formula(field_type, settings):
        return "formula", _formula(field_type, settings, columns)
    if previous and previous.get("actionKey") and settings.get("actionKey"):
        before = registry.ACTION_ALIASES.get(previous["actionKey"], previous["actionKey"])
        after = registry.ACTION_ALIASES.get(settings["actionKey"], settings["actionKey"])
        if before != after:
            raise _bad("actionKey", "cannot be changed; create a new field instead")
    if settings.get("actionPackageId") == WATERFALL:
        if settings.get("actionKey", WATERFALL) != WATERFALL:
            raise _bad("actionKey", 'a waterfall\'s actionKey is "waterfall"')
        steps = settings.get("steps")
        if not isinstance(steps, list) or not steps:
            raise _bad("steps", "a waterfall needs a non-empty list of steps")
        checked = []
        for i, step in enumerate(steps):
            if not isinstance(step, dict):
                raise _bad(f"steps.{i}", "expected an object")
            checked.append(await _action(conn, workspace_id, step, columns, f"steps.{i}."))
        out = {**settings, "actionKey": WATERFALL, "steps": checked}
    else:
        out = await _action(conn, workspace_id, settings, columns, "")
    dts = out.get("dataTypeSettings")
    if dts is not None and not isinstance(dts, dict):
        raise _bad("dataTypeSettings", "expected an object")
    return "action", out


def extras(field_type: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """What a read of an action field adds: ``settingsError`` and ``actionDefinition``."""
    if field_type != "action" or settings.get("actionPackageId") == WATERFALL:
        return {}
    found = registry.resolve(
        str(settings.get("actionPackageId") or ""), str(settings.get("actionKey") or "")
    )
    if found is None:
        return {"settingsError": UNKNOWN_ACTION, "actionDefinition": None}
    integration, action = found
    out: dict[str, Any] = {"actionDefinition": registry.definition(integration, action)}
    if integration.credentials_schema.get("required") and not settings.get("authAccountId"):
        out["settingsError"] = MISSING_AUTH
    return out


def formula_changed(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Whether a change of settings changes what a formula column computes."""
    if before is None:
        return True
    return orjson.dumps(before.get("formulaText")) != orjson.dumps(after.get("formulaText"))
