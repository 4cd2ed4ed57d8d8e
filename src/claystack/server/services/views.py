"""What a view shows: its filter, sort, limit and offset, as SQL over ``records``."""

from __future__ import annotations

from typing import Any

from fractional_indexing import generate_key_between
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ...wire.cells import CellStatus
from ..errors import BadRequest, InvalidParameter
from ..storage import search_index
from ..storage.models import Record
from ..storage.uow import UnitOfWork
from .workspaces import like_escape

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
ERRORED, FULLY_ENRICHED = "errored-rows", "fully-enriched-rows"
FIELD_KEYS: dict[str, tuple[type, ...]] = {
    "isVisible": (bool,),
    "width": (int, float),
    "isPinned": (bool,),
}
_SYSTEM_COLUMNS: dict[str, ColumnElement[Any]] = {
    "f_created_at": Record.__table__.c.created_at,
    "f_updated_at": Record.__table__.c.updated_at,
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


class _CellText(FunctionElement[Any]):
    """A cell's text with the field id written into the SQL, as the filter indexes spell it
    (storage/search_index.py), so that the database can use them."""

    inherit_cache = True
    name = "cell_text"
    type = String()


@compiles(_CellText)
def _cell_text_sql(element: _CellText, compiler: SQLCompiler, **kw: Any) -> str:
    cells_col, field = element.clauses.clauses
    cells = compiler.process(cells_col, **kw)
    # The field id rides as a literal column (part of the statement's cache key).
    lowered = search_index.cell_expression(compiler.dialect.name, str(field), cells)
    return lowered.removeprefix("lower(")[:-1]


def _cell_text(field_id: str) -> ColumnElement[Any]:
    if field_id in _SYSTEM_COLUMNS:
        return _SYSTEM_COLUMNS[field_id]
    if search_index.safe_id(field_id):
        return _CellText(Record.__table__.c.cells, literal_column(field_id))
    return Record.cells[field_id].as_string()


class _CellValue(FunctionElement[Any]):
    """A cell as the database's own JSON value, for sorting: numbers order as numbers on
    both backends (and before text), where the text form would put "10" before "9"."""

    inherit_cache = True
    name = "cell_value"


@compiles(_CellValue, "sqlite")
def _cell_value_sqlite(element: _CellValue, compiler: SQLCompiler, **kw: Any) -> str:
    cells, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_extract({cells}, '$.\"' || {key} || '\"')"


@compiles(_CellValue, "postgresql")
def _cell_value_postgresql(element: _CellValue, compiler: SQLCompiler, **kw: Any) -> str:
    cells, key = (compiler.process(c, **kw) for c in element.clauses)
    # A JSON null is a blank cell, like a missing key.
    return f"NULLIF({cells} -> {key}, 'null'::jsonb)"


def _sort_key(field_id: str) -> ColumnElement[Any]:
    if field_id in _SYSTEM_COLUMNS:
        return _SYSTEM_COLUMNS[field_id]
    return _CellValue(Record.__table__.c.cells, literal(field_id, String))


class _RowTextHas(FunctionElement[bool]):
    """A cheap first test for ``equals``/``contains`` on SQLite: the row's JSON text holds
    the value (``LIKE``, ASCII case-insensitive like the test after it). A byte scan of the
    text skips most rows before ``json_extract`` parses any; on PostgreSQL it is a no-op."""

    inherit_cache = True
    name = "row_text_has"


@compiles(_RowTextHas, "sqlite")
def _row_text_has_sqlite(element: _RowTextHas, compiler: SQLCompiler, **kw: Any) -> str:
    cells, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"({cells} LIKE {pattern} ESCAPE '\\')"


@compiles(_RowTextHas, "postgresql")
def _row_text_has_postgresql(element: _RowTextHas, compiler: SQLCompiler, **kw: Any) -> str:
    return "true"


def _prefilter(value: Any) -> ColumnElement[bool] | None:
    # Only text that JSON stores as written (orjson escapes quotes, backslashes and control
    # characters) and that no number or boolean spells differently.
    if not isinstance(value, str) or not value or not value.isascii():
        return None
    if any(c in value for c in '"\\') or not value.isprintable():
        return None
    if value.strip().lower() in ("true", "false", "null"):
        return None
    try:
        float(value)
        return None
    except ValueError:
        pass
    pattern = "%" + like_escape(value) + "%"
    return _RowTextHas(Record.__table__.c.cells, literal(pattern, String))


def _condition(
    item: dict[str, Any], table_id: str = "", trigrams: str | None = None
) -> ColumnElement[bool]:
    """One filter item. ``trigrams`` names the dialect when the table's search index is
    ready: ``CONTAINS`` then reads only the rows it names."""
    cell = _cell_text(item["fieldId"])
    op, value = item["operator"], item.get("value")
    empty = or_(cell.is_(None), cell == "")
    if op == "is_empty":
        return empty
    if op == "is_not_empty":
        return not_(empty)
    text = (
        ""
        if value is None
        else str(value).lower()
        if not isinstance(value, bool)
        else ("true" if value else "false")
    )
    first = None if item["fieldId"] in _SYSTEM_COLUMNS else _prefilter(value)
    if op in ("equals", "not_equals"):
        cond = func.lower(cell) == text
        if op == "equals":
            return cond if first is None else and_(first, cond)
        return or_(cell.is_(None), not_(cond))
    like = func.lower(cell).like("%" + like_escape(text) + "%", escape="\\")
    if op == "contains":
        if first is None:
            return like
        rows = None if trigrams is None else search_index.candidates(trigrams, table_id, text)
        if rows is not None:
            return and_(Record.seq.in_(rows), first, like)
        return and_(first, like)
    return or_(cell.is_(None), not_(like))


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


def preconfigured_type(config: dict[str, Any]) -> str | None:
    kind = (config.get("typeSettings") or {}).get("preconfiguredType")
    return kind if isinstance(kind, str) else None


class _Errored(FunctionElement[Any]):
    """True for a row with a cell in an ``ERROR…`` status other than an unmet run condition."""

    inherit_cache = True
    name = "errored"


@compiles(_Errored, "sqlite")
def _errored_sqlite(element: _Errored, compiler: SQLCompiler, **kw: Any) -> str:
    (meta,) = (compiler.process(c, **kw) for c in element.clauses)
    status = "json_extract(e.value, '$.status')"
    return (
        f"EXISTS (SELECT 1 FROM json_each({meta}) AS e WHERE {status} LIKE 'ERROR%' "
        f"AND {status} != 'ERROR_RUN_CONDITION_NOT_MET')"
    )


@compiles(_Errored, "postgresql")
def _errored_postgresql(element: _Errored, compiler: SQLCompiler, **kw: Any) -> str:
    (meta,) = (compiler.process(c, **kw) for c in element.clauses)
    # jsonb_each refuses a JSON null (rows never run may hold one): read it as no cells.
    cells = f"CASE WHEN jsonb_typeof({meta}) = 'object' THEN {meta} ELSE '{{}}'::jsonb END"
    return (
        f"EXISTS (SELECT 1 FROM jsonb_each({cells}) AS e WHERE e.value ->> 'status' LIKE "
        "'ERROR%' AND e.value ->> 'status' != 'ERROR_RUN_CONDITION_NOT_MET')"
    )


def _system_filter(config: dict[str, Any]) -> ColumnElement[bool] | None:
    kind = preconfigured_type(config)
    if kind == ERRORED:
        return and_(Record.meta.is_not(None), _Errored(Record.__table__.c.meta))
    if kind == FULLY_ENRICHED:
        action_ids = config.get("actionFieldIds") or []
        if not action_ids:
            return true()
        conds = [
            Record.meta[fid]["status"]
            .as_string()
            .in_((CellStatus.SUCCESS, CellStatus.SUCCESS_NO_DATA))
            for fid in action_ids
        ]
        return and_(Record.meta.is_not(None), *conds)
    return None


def is_plain(config: dict[str, Any]) -> bool:
    """True when the view shows every row in insertion order."""
    flt = config.get("filter") or {}
    return not (
        preconfigured_type(config) in (ERRORED, FULLY_ENRICHED)
        or flt.get("items")
        or config.get("sort")
        or config.get("limit") is not None
        or config.get("offset")
    )


def order_clauses(config: dict[str, Any]) -> list[ColumnElement[Any]]:
    """The view's row order: its sort, then insertion order."""
    out: list[ColumnElement[Any]] = []
    for item in config.get("sort") or []:
        col = _sort_key(item["fieldId"])
        # Blank cells last in either direction, as spreadsheets do, on both backends.
        out += [col.is_(None), col.desc() if item["direction"] == "DESC" else col.asc()]
    return [*out, Record.__table__.c.seq]


def where_view(stmt: Select[Any], table_id: str, config: dict[str, Any]) -> Select[Any]:
    """Restricts ``stmt`` (a select over ``records``) to the rows a view shows, unordered."""
    stmt = stmt.where(Record.table_id == table_id)
    if (config.get("filter") or {}).get("items") and search_index.safe_id(table_id):
        # Written out, so that the filter indexes (partial, per table) apply.
        stmt = stmt.where(Record.table_id == literal_column(f"'{table_id}'"))
    system = _system_filter(config)
    if system is not None:
        stmt = stmt.where(system)
    flt = config.get("filter") or {}
    trigrams = config.get("searchIndex")
    conds = [_condition(i, table_id, trigrams) for i in flt.get("items") or []]
    if conds:
        stmt = stmt.where(
            and_(*conds) if flt.get("combinationMode", "AND") == "AND" else or_(*conds)
        )
    return stmt


def apply_view(
    stmt: Select[Any], table_id: str, config: dict[str, Any], *, window: bool = True
) -> Select[Any]:
    """Restricts ``stmt`` (a select over ``records``) to the rows a view shows, in its order."""
    stmt = where_view(stmt, table_id, config).order_by(*order_clauses(config))
    if window:
        if config.get("limit") is not None:
            stmt = stmt.limit(config["limit"])
        if config.get("offset"):
            stmt = stmt.offset(config["offset"])
    return stmt


INDEXED_OPERATORS = ("equals",)


async def prepare_indexes(uow: UnitOfWork, table_id: str, config: dict[str, Any]) -> None:
    """Makes the filter indexes a big table's view will use (``EQUAL`` on a cell)."""
    items = (config.get("filter") or {}).get("items") or []
    fields = {
        i["fieldId"]
        for i in items
        if i["operator"] in INDEXED_OPERATORS and i["fieldId"] not in _SYSTEM_COLUMNS
    }
    if not fields:
        return
    from ..storage.models import Table

    rows = await uow.conn.scalar(select(Table.row_count).where(Table.id == table_id))
    if (rows or 0) < search_index.FILTER_MIN_ROWS:
        return
    await uow.filter_indexes(table_id, sorted(fields), drop=False)


def ids_select(table_id: str, config: dict[str, Any]) -> Select[Any]:
    return apply_view(select(Record.id), table_id, config)
