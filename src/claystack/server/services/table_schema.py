"""What a table's columns are and how they depend on each other: ``table-schema-v2``
(spec part 2 §3.3) and the dependency ``graph`` (§3.4)."""

from __future__ import annotations

import re
from typing import Any

from ...wire import TableGraph, TableSchemaV2
from ..storage.repositories import Connection, view_rows
from . import tables as tables_svc
from .common import iso
from .tables import SYSTEM_FIELD_IDS, TableRef

EXAMPLE_LIMIT = 50
_COMPUTED = {"formula": "formula", "action": "action", "source": "source"}
_EXTRACT = re.compile(r"^\s*\{\{\s*(f_[A-Za-z0-9_]+)\s*\}\}\s*\??\.[A-Za-z0-9_.?\[\]\"']+\s*$")


def _kind(field: Any) -> str:
    settings = field.type_settings or {}
    if field.type == "action":
        return "action"
    if field.type == "formula" or settings.get("formulaText") or settings.get("formulaWaterfall"):
        return "formula"
    return _COMPUTED.get(field.type, "basic")


def _data_type(field: Any) -> str:
    settings = field.type_settings or {}
    declared = (settings.get("dataTypeSettings") or {}).get("type")
    if isinstance(declared, str):
        return declared
    if field.type in ("action", "source"):
        return "json"
    if field.type == "formula":
        return "text"
    return str(field.type)


def _semantic(name: str, data_type: str) -> str | None:
    """A guess from the column's name (INFERRED): the types clients were seen to read."""
    low = name.lower()
    if data_type == "email" or "email" in low:
        return "email"
    if "linkedin" in low and "company" in low:
        return "company-linkedin-url"
    if low in ("name", "full name", "full_name", "fullname", "person name"):
        return "full-name"
    if low in ("company", "company name", "company_name", "organization", "account name"):
        return "company-name"
    return None


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict | list):
        return "json"
    return "text"


async def table_schema(conn: Connection, table: TableRef, view_id: str) -> TableSchemaV2:
    """Each column's kind, data type and (guessed) semantic type; for action and source
    columns, the keys seen in their values as ``children``; and up to ``EXAMPLE_LIMIT``
    of the view's rows as flat ``{f_…: value}`` objects of their non-empty cells."""
    config = await tables_svc.view_config(conn, table.id, view_id)
    fields = await tables_svc.list_fields(conn, table.id)
    rows = await view_rows.shown_rows(
        conn, table.id, config, ("cells", "created_at", "updated_at"), EXAMPLE_LIMIT
    )
    examples = []
    for r in rows:
        flat = {k: v for k, v in (r.cells or {}).items() if v not in (None, "", [], {})}
        flat["f_created_at"], flat["f_updated_at"] = iso(r.created_at), iso(r.updated_at)
        examples.append(flat)
    schema: dict[str, Any] = {}
    for f in fields:
        data_type = _data_type(f)
        entry: dict[str, Any] = {"type": _kind(f), "name": f.name, "dataType": data_type}
        semantic = _semantic(f.name, data_type) if f.id not in SYSTEM_FIELD_IDS else None
        if semantic:
            entry["semanticType"] = semantic
        if f.type in ("action", "source"):
            children: dict[str, Any] = {}
            for r in rows:
                value = (r.cells or {}).get(f.id)
                if isinstance(value, dict):
                    for key, child in value.items():
                        if key not in children:
                            child_type = _value_type(child)
                            children[key] = {"dataType": child_type}
                            if guess := _semantic(key, child_type):
                                children[key]["semanticType"] = guess
            entry["children"] = children
        schema[f.id] = entry
    return TableSchemaV2.build(tableSchema=schema, exampleRecords=examples)


def _refs(settings: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(input references, run-condition references) of a column's settings."""
    condition = settings.get("conditionalRunFormulaText")
    rest = {k: v for k, v in settings.items() if k != "conditionalRunFormulaText"}
    return tables_svc.input_field_ids(rest), tables_svc.input_field_ids(condition or "")


async def graph(conn: Connection, table: TableRef) -> TableGraph:
    """Nodes per column plus ``root`` (incoming rows); an edge A→B when B reads A
    (``Input``) or its run condition does (``ConditionalRun``). A formula that only
    extracts a key from one action column is folded into that column's
    ``extractedFieldIds``."""
    fields = await tables_svc.list_fields(conn, table.id)
    by_id = {f.id: f for f in fields}
    folded: dict[str, str] = {}
    for f in fields:
        text = (f.type_settings or {}).get("formulaText")
        match = _EXTRACT.match(text) if isinstance(text, str) and f.type != "action" else None
        if (
            match
            and by_id.get(match.group(1)) is not None
            and by_id[match.group(1)].type == "action"
        ):
            folded[f.id] = match.group(1)
    nodes: list[dict[str, Any]] = [
        {
            "nodeId": "root",
            "name": "Incoming rows",
            "type": "root",
            "field": None,
            "extractedFieldIds": [],
        }
    ]
    edges: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()

    def edge(source: str, target: str, kind: str) -> None:
        source = folded.get(source, source)
        if source != target and (source, target, kind) not in seen:
            seen.add((source, target, kind))
            edges.append({"sourceNodeId": source, "targetNodeId": target, "type": kind})

    for f in fields:
        if f.id in folded or f.id in SYSTEM_FIELD_IDS:
            continue
        extracted = [k for k, v in folded.items() if v == f.id]
        nodes.append(
            {
                "nodeId": f.id,
                "name": f.name,
                "type": _kind(f),
                "field": tables_svc.field_out(f),
                "extractedFieldIds": extracted,
            }
        )
        inputs, conditions = _refs(f.type_settings or {})
        if _kind(f) in ("basic", "source"):
            edge("root", f.id, "Input")
        for ref in inputs:
            if ref in by_id:
                edge(ref, f.id, "Input")
        for ref in conditions:
            if ref in by_id:
                edge(ref, f.id, "ConditionalRun")
    return TableGraph.build(nodes=nodes, edges=edges)
