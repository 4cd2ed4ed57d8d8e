"""The rows a view shows: its filter, sort, limit and offset, as SQL over ``records``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ....wire.cells import CellStatus
from .. import search_index
from ..models import Record
from ..uow import UnitOfWork
from . import tables as tables_repo
from .workspaces import like_escape

# The system views that filter rows (spec part 2 §5.1).
ERRORED, FULLY_ENRICHED = "errored-rows", "fully-enriched-rows"
_SYSTEM_COLUMNS: dict[str, ColumnElement[Any]] = {
    "f_created_at": Record.__table__.c.created_at,
    "f_updated_at": Record.__table__.c.updated_at,
}


def preconfigured_type(config: dict[str, Any]) -> str | None:
    kind = (config.get("typeSettings") or {}).get("preconfiguredType")
    return kind if isinstance(kind, str) else None


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
    """Makes the filter indexes the view of a table of at least ``uow.index_min_rows`` will
    use (``EQUAL`` on a cell); smaller tables are scanned."""
    items = (config.get("filter") or {}).get("items") or []
    fields = {
        i["fieldId"]
        for i in items
        if i["operator"] in INDEXED_OPERATORS and i["fieldId"] not in _SYSTEM_COLUMNS
    }
    if not fields:
        return
    if await tables_repo.row_count(uow.conn, table_id) < uow.index_min_rows:
        return
    await uow.filter_indexes(table_id, sorted(fields), drop=False)


def ids_select(table_id: str, config: dict[str, Any]) -> Select[Any]:
    return apply_view(select(Record.id), table_id, config)


async def count_shown(conn: AsyncConnection, table_id: str, config: dict[str, Any]) -> int:
    """How many rows the view shows (counted)."""
    shown = ids_select(table_id, config).subquery()
    return int(await conn.scalar(select(func.count()).select_from(shown)) or 0)


async def shown_rows(
    conn: AsyncConnection,
    table_id: str,
    config: dict[str, Any],
    columns: tuple[str, ...],
    limit: int,
) -> list[Any]:
    """The ``columns`` of ``records`` of the first ``limit`` rows the view shows."""
    stmt = apply_view(select(*(getattr(Record, c) for c in columns)), table_id, config)
    return list(await conn.execute(stmt.limit(limit)))


async def index_in_insertion_order(
    conn: AsyncConnection, table_id: str, record_id: str
) -> int | None:
    """How many rows of the table came before the row (None: no such row)."""
    seq = await conn.scalar(
        select(Record.seq).where(Record.table_id == table_id, Record.id == record_id)
    )
    if seq is None:
        return None
    before = select(func.count()).where(Record.table_id == table_id, Record.seq < seq)
    return int(await conn.scalar(before) or 0)


async def index_in_view_order(
    conn: AsyncConnection, table_id: str, config: dict[str, Any], record_id: str
) -> int | None:
    """Where the row stands among the rows the view's filter keeps, in its order, before
    its offset and limit (None: it does not pass the filter)."""
    number = func.row_number().over(order_by=order_clauses(config)) - 1
    ranked = where_view(select(Record.id, number.label("n")), table_id, config).subquery()
    return await conn.scalar(select(ranked.c.n).where(ranked.c.id == record_id))


# -- search: the rows of a view whose JSON text may contain a term -----------------------------


def can_narrow(conn: AsyncConnection, needle: str) -> bool:
    """Whether the database can narrow a search for ``needle`` (lower case) by the rows'
    JSON text: orjson escapes only quotes, backslashes and control characters, and SQLite
    lowers ASCII only."""
    ok = not any(c in needle for c in '"\\') and all(" " <= c for c in needle)
    if conn.dialect.name == "sqlite":
        ok = ok and needle.isascii()
    return ok


def search_select(
    conn: AsyncConnection,
    table_id: str,
    config: dict[str, Any],
    needle: str | None,
    *,
    indexed: bool,
) -> Select[Any]:
    """id and cells of the rows the view shows, in its order; with ``needle``, only rows
    whose JSON text contains it (``indexed``: read from the table's search index first)."""
    stmt = apply_view(select(Record.id, Record.cells), table_id, config, window=False)
    if config.get("limit") is not None or config.get("offset"):
        shown = apply_view(select(Record.seq), table_id, config).scalar_subquery()
        stmt = stmt.where(Record.seq.in_(shown))
    if needle is not None:
        if indexed:
            candidates = search_index.candidates(conn.dialect.name, table_id, needle)
            if candidates is not None:
                stmt = stmt.where(Record.seq.in_(candidates))
        pattern = "%" + like_escape(needle) + "%"
        text = cast(Record.cells, Text)
        # SQLite's LIKE already ignores ASCII case (the needle is ASCII there): lower() would
        # only copy every row's text once more.
        wide = text if conn.dialect.name == "sqlite" else func.lower(text)
        stmt = stmt.where(wide.like(pattern, escape="\\"))
    return stmt


async def page(conn: AsyncConnection, stmt: Select[Any], limit: int, offset: int) -> list[Any]:
    """A page of ``stmt``'s rows (one of this module's selects)."""
    return list(await conn.execute(stmt.limit(limit).offset(offset)))
