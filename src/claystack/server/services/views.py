"""Views' rules: a view's config checked, its fields' settings; the rows it shows are
``storage/repositories/view_rows.py``'s SQL (re-exported here)."""

from __future__ import annotations

from typing import Any

from fractional_indexing import generate_key_between

from ..errors import BadRequest, InvalidParameter
from ..storage.repositories.view_rows import (
    FULLY_ENRICHED,
    is_plain,
    preconfigured_type,
    prepare_indexes,
)

__all__ = [
    "CLAY_NAMES",
    "CLAY_OPERATORS",
    "FIELD_KEYS",
    "FULLY_ENRICHED",
    "OPERATORS",
    "PRECONFIGURED",
    "field_entries",
    "is_plain",
    "merge_field_settings",
    "preconfigured_type",
    "prepare_indexes",
    "validate_view_config",
]

OPERATORS = ("equals", "not_equals", "contains", "not_contains", "is_empty", "is_not_empty")
# Clay's filter item ``type`` names (and a few spellings clients use) → our operators.
CLAY_OPERATORS = {
    "EQUAL": "equals",
    "EQUALS": "equals",
    "NOT_EQUAL": "not_equals",
    "NOT_EQUALS": "not_equals",
    "CONTAIN": "contains",
    "CONTAINS": "contains",
    "NOT_CONTAIN": "not_contains",
    "NOT_CONTAINS": "not_contains",
    "EMPTY": "is_empty",
    "IS_EMPTY": "is_empty",
    "NOT_EMPTY": "is_not_empty",
    "IS_NOT_EMPTY": "is_not_empty",
}
CLAY_NAMES = {
    "equals": "EQUAL",
    "not_equals": "NOT_EQUAL",
    "contains": "CONTAIN",
    "not_contains": "NOT_CONTAIN",
    "is_empty": "EMPTY",
    "is_not_empty": "NOT_EMPTY",
}
# The system views of a ``basic`` table (spec part 2 §5.1), after "Default view".
PRECONFIGURED = (
    ("all-rows", "All rows", "Every row of the table"),
    ("errored-rows", "Errored rows", "Rows with a cell that failed to enrich"),
    ("fully-enriched-rows", "Fully enriched rows", "Rows whose enrichment cells all succeeded"),
)
FIELD_KEYS: dict[str, tuple[type, ...]] = {
    "isVisible": (bool,),
    "width": (int, float),
    "isPinned": (bool,),
}


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


def _nonneg_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f'Field "{name}" - expected a non-negative integer')
    return value


def validate_view_config(config: dict[str, Any], field_types: dict[str, str]) -> dict[str, Any]:
    """Checks sort, filter, limit and offset against the table's fields; returns the parts given."""
    out: dict[str, Any] = {}
    if "limit" in config:
        out["limit"] = _nonneg_int("limit", config["limit"])
    if "offset" in config:
        out["offset"] = _nonneg_int("offset", config["offset"])
    if "sort" in config:
        sort = config["sort"]
        if isinstance(sort, dict):
            sort = [sort]
        if sort is not None:
            if not isinstance(sort, list):
                raise _bad('Field "sort" - expected a list of {fieldId, direction}')
            clean = []
            for item in sort:
                fid = item.get("fieldId") if isinstance(item, dict) else None
                direction = str(item.get("direction", "ASC")).upper() if fid else ""
                if fid not in field_types or direction not in ("ASC", "DESC"):
                    raise _bad('Field "sort" - each item needs a known fieldId and ASC or DESC')
                clean.append({"fieldId": fid, "direction": direction})
            sort = clean
        out["sort"] = sort
    if "filter" in config:
        flt = config["filter"]
        if flt is not None:
            if not isinstance(flt, dict) or not isinstance(flt.get("items", []), list):
                raise _bad('Field "filter" - expected {combinationMode, items:[…]}')
            mode = str(flt.get("combinationMode", "AND")).upper()
            if mode not in ("AND", "OR"):
                raise _bad('Field "filter.combinationMode" - expected AND or OR')
            items = []
            for item in flt.get("items", []):
                if not isinstance(item, dict) or item.get("fieldId") not in field_types:
                    raise _bad('Field "filter.items" - each item needs a known fieldId')
                clay = item.get("type")
                if isinstance(clay, str) and clay.upper() in CLAY_OPERATORS:
                    op = CLAY_OPERATORS[clay.upper()]
                else:
                    op = str(item.get("operator", "equals")).lower()
                if op not in OPERATORS:
                    raise _bad(
                        f'Field "filter.items.type" - expected one of {", ".join(CLAY_OPERATORS)}'
                    )
                items.append(
                    {
                        "fieldId": item["fieldId"],
                        "type": CLAY_NAMES[op],
                        "operator": op,
                        "value": item.get("value"),
                    }
                )
            flt = {"combinationMode": mode, "items": items}
        out["filter"] = flt
    return out


def field_entries(current: dict[str, Any], field_ids: list[str]) -> dict[str, Any]:
    """Every field of the table as a view shows it, sorted by its string ``order``
    (fractional indexing); fields without one go after the others, in table order."""
    out: dict[str, Any] = {}
    orders = [
        e["order"]
        for e in current.values()
        if isinstance(e, dict) and isinstance(e.get("order"), str)
    ]
    last = max(orders) if orders else None
    for fid in field_ids:
        entry = dict(current.get(fid) or {})
        if not isinstance(entry.get("order"), str):
            last = entry["order"] = generate_key_between(last, None)
        entry.setdefault("isVisible", True)
        entry.setdefault("width", 200)
        entry.setdefault("isPinned", False)
        out[fid] = entry
    return dict(sorted(out.items(), key=lambda kv: str(kv[1]["order"])))


def merge_field_settings(
    current: dict[str, Any], changes: Any, field_types: dict[str, str]
) -> dict[str, Any]:
    """``{f_…: {isVisible?, width?, isPinned?}}`` merged into a view's fields; ``order``
    moves only through the move routes."""
    if not isinstance(changes, dict):
        raise _bad('Field "fields" - expected an object keyed by field id')
    merged = {k: dict(v) for k, v in current.items()}
    for fid, change in changes.items():
        if fid not in field_types:
            raise BadRequest(f"Unknown field {fid} in view fields")
        if not isinstance(change, dict):
            raise _bad(f'Field "fields.{fid}" - expected an object')
        entry = merged.setdefault(fid, {})
        for key, kinds in FIELD_KEYS.items():
            if key in change:
                value = change[key]
                if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                    raise _bad(f'Field "fields.{fid}.{key}" - expected {kinds[0].__name__}')
                entry[key] = value
    return merged
