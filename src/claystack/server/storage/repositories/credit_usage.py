"""The credit ledger's sums, as the credit reports read them.

Every sum covers the ledger entries of one workspace whose ``created_at`` falls in
``[start, end)`` and that match the filters: whole UTC days from ``credit_rollup`` (kept by
the ledger's trigger, ``storage/counters.py``), the partial days at either end of the range
from ``credit_ledger`` itself. ``sums`` answers many grouping sets in one statement
(GROUPING SETS on PostgreSQL, a UNION ALL of GROUP BYs on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import CreditEntry, CreditRollup, Field, Membership, Table, User

DAY_MS = 86_400_000
RUN_MS = 60_000  # a table's "run" in its run report: what it was charged within one minute


@dataclass(frozen=True)
class ReportQuery:
    """Which entries a report sums (time range and filters), how it groups them and which
    page of its rows it answers."""

    start: int | None = None
    end: int | None = None
    user_ids: tuple[int, ...] = ()
    integrations: tuple[str, ...] = ()
    table_ids: tuple[str, ...] = ()
    field_ids: tuple[str, ...] = ()
    group_by: tuple[str, ...] | None = None
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Source:
    """The matching ledger entries (``source``): a statement built once per ``shape`` (which
    bounds and filters there are) and the ``params`` of this report."""

    shape: tuple[Any, ...]
    params: dict[str, Any]

    @property
    def rows(self) -> Any:
        return _source(self.shape)


_FILTERS = (
    ("users", "user_id", "user_ids"),
    ("integrations", "integration", "integrations"),
    ("tables", "table_id", "table_ids"),
    ("fields", "field_id", "field_ids"),
)


def source(workspace_id: int, q: ReportQuery, *, empty: bool = False) -> Source:
    """The matching ledger entries as summed rows: whole UTC days from the rollup the
    ledger's trigger keeps (storage/counters.py), the partial days at either end of the
    time range from the ledger itself (through its workspace and time index). Columns:
    day, kind, user_id, integration, action_key, table_id, field_id, amount, entries,
    actions."""
    first = None if q.start is None else -(-q.start // DAY_MS)  # the first whole day
    stop = None if q.end is None else q.end // DAY_MS  # the day after the last whole one
    whole = first is None or stop is None or first < stop
    params: dict[str, Any] = {"ws": workspace_id, "first": first, "stop": stop}
    edges: list[tuple[int | None, int | None]] = [(q.start, q.end)]
    if whole:
        edges = []
        if first is not None and q.start is not None and q.start < first * DAY_MS:
            edges.append((q.start, first * DAY_MS))
        if stop is not None and q.end is not None and stop * DAY_MS < q.end:
            edges.append((stop * DAY_MS, q.end))
    for i, (low, high) in enumerate(edges):
        params[f"low{i}"], params[f"high{i}"] = low, high
    for name, _, attr in _FILTERS:
        params[name] = list(getattr(q, attr))
    shape = (
        whole,
        first is not None,
        stop is not None,
        tuple((low is not None, high is not None) for low, high in edges),
        tuple(bool(params[name]) for name, _, _ in _FILTERS),
        empty,
    )
    return Source(shape, {k: v for k, v in params.items() if v is not None and v != []})


@lru_cache(maxsize=128)
def _source(shape: tuple[Any, ...]) -> Any:
    """``source``'s statement for a shape, its values bound by name (``Source.params``)."""
    whole, has_first, has_stop, edges, filtered, empty = shape
    r, c = CreditRollup, CreditEntry

    def where(model: Any) -> list[ColumnElement[bool]]:
        conds = [
            getattr(model, col).in_(bindparam(name, expanding=True))
            for (name, col, _), on in zip(_FILTERS, filtered, strict=True)
            if on
        ]
        return [*conds, *([false()] if empty else [])]

    parts: list[Any] = []
    if whole:
        conds: list[ColumnElement[bool]] = [r.workspace_id == bindparam("ws")]
        if has_first:
            conds.append(r.day >= bindparam("first"))
        if has_stop:
            conds.append(r.day < bindparam("stop"))
        parts.append(
            select(
                r.day,
                r.kind,
                func.nullif(r.user_id, 0).label("user_id"),
                func.nullif(r.integration, "").label("integration"),
                func.nullif(r.action_key, "").label("action_key"),
                func.nullif(r.table_id, "").label("table_id"),
                func.nullif(r.field_id, "").label("field_id"),
                r.amount,
                r.entries,
                r.actions,
            ).where(*conds, *where(r))
        )
    for i, (has_low, has_high) in enumerate(edges):
        conds = [c.workspace_id == bindparam("ws")]
        if has_low:
            conds.append(c.created_at >= bindparam(f"low{i}"))
        if has_high:
            conds.append(c.created_at < bindparam(f"high{i}"))
        parts.append(
            select(
                (c.created_at // literal_column(str(DAY_MS), BigInteger)).label("day"),
                c.kind,
                c.user_id,
                c.integration,
                c.action_key,
                c.table_id,
                c.field_id,
                c.amount,
                literal(1, BigInteger).label("entries"),
                c.actions,
            ).where(*conds, *where(c))
        )
    if len(parts) == 1:
        return parts[0].subquery("entries")
    return union_all(*parts).subquery("entries")


def filters(model: Any, q: ReportQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.user_ids:
        conds.append(model.user_id.in_(q.user_ids))
    if q.integrations:
        conds.append(model.integration.in_(q.integrations))
    if q.table_ids:
        conds.append(model.table_id.in_(q.table_ids))
    if q.field_ids:
        conds.append(model.field_id.in_(q.field_ids))
    return conds


def as_int(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums bigints as numeric


def _grouped(s: Any, dims: Iterable[str]) -> tuple[Any, Select[Any]]:
    """Charges summed per group of ``dims``, with the names of users, tables and fields
    (looked up once per group, not once per entry): (the groups, the named select)."""
    dims = set(dims)
    keys: list[Any] = []
    if "date" in dims:
        keys.append(s.c.day.label("day"))
    if "user" in dims:
        keys.append(s.c.user_id.label("userId"))
    if "integration" in dims:
        keys.append(s.c.integration.label("integration"))
    if "action" in dims:
        keys.append(s.c.action_key.label("actionKey"))
    if "table" in dims or "field" in dims:
        keys.append(s.c.table_id.label("tableId"))
    if "field" in dims:
        keys.append(s.c.field_id.label("fieldId"))
    inner = select(
        *keys,
        func.sum(s.c.amount).label("amount"),
        func.sum(s.c.entries).label("runs"),
        func.sum(s.c.actions).label("actions"),
    ).where(s.c.kind == "charge")
    if keys:
        inner = inner.group_by(*keys)
    u = inner.subquery("usage")
    cols: list[Any] = [u.c[k.name] for k in keys]
    stmt = select(*cols, (-u.c.amount).label("credits"), u.c.runs, u.c.actions)
    if "user" in dims:
        stmt = stmt.add_columns(User.name.label("userName"), User.email.label("userEmail"))
        stmt = stmt.outerjoin(User, User.id == u.c.userId)
    if "table" in dims or "field" in dims:
        stmt = stmt.add_columns(Table.name.label("tableName"))
        stmt = stmt.outerjoin(Table, Table.id == u.c.tableId)
    if "field" in dims:
        stmt = stmt.add_columns(Field.name.label("fieldName"))
        stmt = stmt.outerjoin(Field, and_(Field.id == u.c.fieldId, Field.table_id == u.c.tableId))
    return u, stmt


def _items(result: Any) -> list[dict[str, Any]]:
    out = []
    for row in result:
        item = {str(k): v for k, v in row._mapping.items()}
        if not item["runs"]:
            continue
        if "day" in item:
            item["date"] = (date(1970, 1, 1) + timedelta(days=int(item.pop("day")))).isoformat()
        item["credits"], item["runs"] = as_int(item["credits"]), as_int(item["runs"])
        item["actions"] = as_int(item["actions"])
        out.append(item)
    return out


async def usage(conn: AsyncConnection, s: Source, dims: Iterable[str]) -> list[dict[str, Any]]:
    out = _items(await conn.execute(_grouped(s.rows, dims)[1], s.params))
    order = ("date", "userId", "integration", "actionKey", "tableId", "fieldId")
    out.sort(key=lambda r: tuple(_sort_key(r.get(k)) for k in order))
    return out


def _sort_key(value: Any) -> tuple[bool, int, str]:
    if isinstance(value, int):
        return (False, value, "")
    return (value is None, 0, "" if value is None else str(value))


# The columns a report groups by, per dimension (a field's rows carry its table).
_DIM_COLUMNS = {
    "date": ("day",),
    "user": ("user_id",),
    "integration": ("integration",),
    "action": ("action_key",),
    "table": ("table_id",),
    "field": ("table_id", "field_id"),
}
_COLUMNS = ("day", "user_id", "integration", "action_key", "table_id", "field_id")
_KEYS = ("date", "userId", "integration", "actionKey", "tableId", "fieldId")


def set_of(dims: Iterable[str]) -> tuple[str, ...]:
    cols = {c for d in dims for c in _DIM_COLUMNS[d]}
    return tuple(c for c in _COLUMNS if c in cols)


def _all_sets(
    s: Any, sets: list[tuple[str, ...]], postgres: bool
) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Sums of ``s`` per kind and per each grouping set in one statement: GROUPING SETS on
    PostgreSQL (one pass over the rollup), a UNION ALL of GROUP BYs on SQLite. Columns: gid
    (the set), kind, the six key columns (NULL where the set does not group by them), amount,
    runs, actions. Also the gid of each set."""
    used = [c for c in _COLUMNS if any(c in st for st in sets)]
    gids = {
        st: sum(1 << (len(used) - 1 - i) for i, c in enumerate(used) if c not in st) for st in sets
    }
    sums = [
        func.coalesce(func.sum(s.c.amount), 0).cast(BigInteger).label("amount"),
        func.coalesce(func.sum(s.c.entries), 0).cast(BigInteger).label("runs"),
        func.coalesce(func.sum(s.c.actions), 0).cast(BigInteger).label("actions"),
    ]

    def key(col: str, grouped: bool) -> Any:
        if grouped:
            return s.c[col].label(col)
        kind = BigInteger() if col in ("day", "user_id") else String()
        return null().cast(kind).label(col)

    if postgres:
        gid = func.grouping(*(s.c[c] for c in used)) if used else literal(0)
        stmt = select(
            gid.label("gid"), s.c.kind, *(key(c, c in used) for c in _COLUMNS), *sums
        ).group_by(s.c.kind, func.grouping_sets(*(tuple_(*(s.c[c] for c in st)) for st in sets)))
        return stmt.subquery("sets"), gids
    parts = [
        select(
            literal(gids[st]).label("gid"), s.c.kind, *(key(c, c in st) for c in _COLUMNS), *sums
        ).group_by(s.c.kind, *(s.c[c] for c in st))
        for st in sets
    ]
    return union_all(*parts).subquery("sets"), gids


def _shaper(cols: tuple[str, ...]) -> Any:
    """Turns rows of ``_all_sets`` (with credits and the names joined) into report rows of
    the set ``cols``, with the keys in the order reports have always had (date last)."""
    picks = [(k, 2 + i) for i, (k, c) in enumerate(zip(_KEYS, _COLUMNS, strict=True)) if c in cols]
    picks = [(k, p) for k, p in picks if k != "date"]
    picks += [("credits", 11), ("runs", 9), ("actions", 10)]
    if "user_id" in cols:
        picks += [("userName", 12), ("userEmail", 13)]
    if "table_id" in cols:
        picks.append(("tableName", 14))
    if "field_id" in cols:
        picks.append(("fieldName", 15))
    keys = tuple(k for k, _ in picks)
    get = itemgetter(*(p for _, p in picks))
    days: dict[int, str] = {}

    def shape(rows: list[Any]) -> list[dict[str, Any]]:
        out = [dict(zip(keys, get(r), strict=True)) for r in rows]
        if "day" in cols:
            for item, r in zip(out, rows, strict=True):
                text = days.get(r[2])
                if text is None:
                    text = days[r[2]] = (date(1970, 1, 1) + timedelta(days=int(r[2]))).isoformat()
                item["date"] = text
        return out

    return shape


async def _count(conn: AsyncConnection, s: Source, cols: tuple[str, ...], postgres: bool) -> int:
    """How many rows a set has, for a page past its end (the page itself brought none)."""
    g, _ = _all_sets(s.rows, [cols], postgres)
    kept = select(g).where(g.c.kind == "charge", g.c.runs != 0).subquery()
    return int(await conn.scalar(select(func.count()).select_from(kept), s.params) or 0)


def _order(k: Any, postgres: bool) -> list[Any]:
    order: list[Any] = [k.c.gid]
    for col in _COLUMNS:
        expr: Any = k.c[col]
        if postgres and col not in ("day", "user_id"):
            expr = expr.collate("C")  # Python's order: code points, not locale
        order.append(expr.asc().nulls_last())
    return order


def _named_sets(
    s: Any, sets: list[tuple[str, ...]], postgres: bool, page: ReportQuery | None = None
) -> tuple[Select[Any], list[Any], dict[tuple[str, ...], int]]:
    """``_all_sets`` with usage rows only (charges that ran) except in the totals set, the
    credits and the names of users, tables and fields: (the select, its order, the gids).
    With ``page``, only that page of the rows (one set), and ``n``: how many there are; the
    names are looked up for the page's rows alone."""
    g, gids = _all_sets(s, sets, postgres)
    total = or_(g.c.gid == gids[()]) if () in gids else false()
    k = select(g).where(or_(and_(g.c.kind == "charge", g.c.runs != 0), total)).subquery("kept")
    if page is not None:
        cut = (
            select(*k.c, func.count().over().label("n"))
            .order_by(*_order(k, postgres))
            .offset(page.offset)
        )
        if page.limit is not None:
            cut = cut.limit(page.limit)
        k = cut.subquery("page")
    order = _order(k, postgres)
    stmt = (
        select(
            *(c for c in k.c if c.name != "n"),
            (-k.c.amount).label("credits"),
            User.name.label("userName"),
            User.email.label("userEmail"),
            Table.name.label("tableName"),
            Field.name.label("fieldName"),
            *([k.c.n] if page is not None else []),
        )
        .outerjoin(User, User.id == k.c.user_id)
        .outerjoin(Table, Table.id == k.c.table_id)
        .outerjoin(Field, and_(Field.id == k.c.field_id, Field.table_id == k.c.table_id))
    )
    return stmt, order, gids


class Sums:
    """The rows of one ``sums`` statement, by grouping set."""

    def __init__(self, rows: list[Any], gids: dict[tuple[str, ...], int]) -> None:
        self._gids = gids
        self._by_gid: dict[int, list[Any]] = {}
        for row in rows:
            self._by_gid.setdefault(row[0], []).append(row)

    def totals(self) -> dict[str, int]:
        """used, runs, actions (charges), granted (grants) and net (every kind)."""
        totals = {"used": 0, "runs": 0, "actions": 0, "granted": 0, "net": 0}
        for row in self._by_gid.get(self._gids[()], []):
            if row[1] == "charge":
                totals["used"], totals["runs"], totals["actions"] = -row[8], row[9], row[10]
            elif row[1] == "grant":
                totals["granted"] = row[8]
            totals["net"] += row[8]
        return totals

    def rows(self, cols: tuple[str, ...]) -> list[dict[str, Any]]:
        """The usage rows of the set ``cols`` (``set_of``), in order, with names."""
        found = self._by_gid.get(self._gids.get(cols, -1), [])
        if not cols:  # the totals set keeps every kind
            found = [r for r in found if r[1] == "charge" and r[9]]
        return _shaper(cols)(found)


@lru_cache(maxsize=256)
def _sums(
    shape: tuple[Any, ...], sets: tuple[tuple[str, ...], ...], postgres: bool
) -> tuple[Any, dict[tuple[str, ...], int]]:
    """``sums``' statement (built once per source shape and sets: building it cost more
    than a small ledger's report) and the gid of each set."""
    stmt, order, gids = _named_sets(_source(shape), list(sets), postgres)
    return stmt.order_by(*order), gids


async def sums(conn: AsyncConnection, s: Source, sets: list[tuple[str, ...]]) -> Sums:
    """The sums of ``s`` (``source``) per grouping set of ``sets`` (each a ``set_of``; the
    empty set, the totals, must be one of them), in one statement."""
    stmt, gids = _sums(s.shape, tuple(sets), conn.dialect.name == "postgresql")
    return Sums(list((await conn.execute(stmt, s.params)).all()), gids)


async def page(
    conn: AsyncConnection, s: Source, cols: tuple[str, ...], q: ReportQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page (``q.offset``, ``q.limit``) of the set ``cols``, sorted and cut by the
    database, and how many rows the whole set has."""
    postgres = conn.dialect.name == "postgresql"
    stmt, order, _ = _named_sets(s.rows, [cols], postgres, q)
    found = (await conn.execute(stmt.order_by(*order), s.params)).all()
    total = int(found[0].n) if found else await _count(conn, s, cols, postgres)
    return _shaper(cols)(found), total


async def _in_ledger(conn: AsyncConnection, workspace_id: int, cond: ColumnElement[bool]) -> bool:
    found = await conn.scalar(
        select(CreditRollup.day).where(CreditRollup.workspace_id == workspace_id, cond).limit(1)
    )
    return found is not None


async def user_known(conn: AsyncConnection, workspace_id: int, user_id: int) -> bool:
    """Whether the user is a member of the workspace or named by its ledger."""
    member = await conn.scalar(
        select(Membership.user_id).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )
    return member is not None or await _in_ledger(
        conn, workspace_id, CreditRollup.user_id == user_id
    )


async def integration_in_ledger(conn: AsyncConnection, workspace_id: int, key: str) -> bool:
    return await _in_ledger(conn, workspace_id, CreditRollup.integration == key)


async def charges_by_minute(conn: AsyncConnection, workspace_id: int, q: ReportQuery) -> Any:
    """Charges per UTC minute and field: rows of (minute, field_id, amount, runs, actions)."""
    c = CreditEntry
    conds = [c.workspace_id == workspace_id, *filters(c, q)]
    if q.start is not None:
        conds.append(c.created_at >= q.start)
    if q.end is not None:
        conds.append(c.created_at < q.end)
    minute = (c.created_at // literal_column(str(RUN_MS), BigInteger)).label("minute")
    return await conn.execute(
        select(
            minute,
            c.field_id,
            func.sum(c.amount).label("amount"),
            func.count().label("runs"),
            func.sum(c.actions).label("actions"),
        )
        .where(*conds, c.kind == "charge")
        .group_by(minute, c.field_id)
    )
