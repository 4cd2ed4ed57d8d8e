"""Credit reports: sums over the append-only ledger, computed by the database.

Every figure of a report covers the ledger entries of one workspace whose ``created_at``
falls in ``[start, end)`` and that match the filters. Usage (``rows``, ``breakdowns``,
``totals.used``/``runs``) counts ``charge`` entries; ``totals.granted`` counts ``grant``
entries. Days are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
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

from ..enrichment import registry
from ..errors import BadRequest, InvalidParameter, NotFound
from ..storage.models import CreditEntry, CreditRollup, Field, Membership, Table, User
from . import credits
from .common import Scope, iso

DAY_MS = 86_400_000
DIMENSIONS = ("date", "user", "integration", "action", "table", "field")
FULL = ("date", "user", "integration", "table", "field")
REPORT_TYPES: dict[str, tuple[str, ...]] = {
    "workspace": FULL,
    "integration": FULL,
    "user": FULL,
    "table": ("table",),
    "field": ("table", "field"),
}
_ALIASES = {
    "day": "date",
    "userid": "user",
    "users": "user",
    "integrations": "integration",
    "actionkey": "action",
    "tableid": "table",
    "tables": "table",
    "fieldid": "field",
    "fields": "field",
}
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


@dataclass(frozen=True)
class ReportQuery:
    start: int | None = None
    end: int | None = None
    user_ids: tuple[int, ...] = ()
    integrations: tuple[str, ...] = ()
    table_ids: tuple[str, ...] = ()
    field_ids: tuple[str, ...] = ()
    group_by: tuple[str, ...] | None = None
    limit: int | None = None
    offset: int = 0


# -- query parsing -------------------------------------------------------------------------


def _bad(field: str, text: str) -> BadRequest:
    return InvalidParameter(f"{field}", f"{text}")


def parse_time(value: str | None, field: str, *, end: bool = False) -> int | None:
    """ISO 8601 (date or date-time; no offset means UTC) or epoch milliseconds → epoch ms.
    A bare date as ``end`` means the end of that day, so ``start=end=2026-11-01`` is that day."""
    text = (value or "").strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d+", text):
        ms = int(text)
    else:
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
                parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
            else:
                # An unencoded "+02:00" in a query string arrives as " 02:00".
                text = re.sub(r"(T[\d:.]+) (\d{2}:?\d{2})$", r"\1+\2", text)
                parsed = datetime.fromisoformat(text.replace("z", "Z"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
            ms = int(parsed.timestamp() * 1000)
        except (ValueError, OverflowError):
            raise _bad(field, "expected an ISO 8601 date/time or epoch milliseconds") from None
    if not 0 <= ms <= _MAX_MS:
        raise _bad(field, "out of range")
    return ms


def _values(items: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Values of ``name``, ``name[]`` and ``name[0]``…, in index order; commas split."""
    pattern = re.compile(re.escape(name) + r"(?:\[(\d*)\])?")
    found: list[tuple[int, int, str]] = []
    for pos, (key, value) in enumerate(items):
        m = pattern.fullmatch(key)
        if m:
            found.append((int(m.group(1)) if m.group(1) else -1, pos, value))
    found.sort()
    return [part.strip() for _, _, v in found for part in v.split(",") if part.strip()]


def _first(items: Sequence[tuple[str, str]], *names: str) -> tuple[str, str | None]:
    for name in names:
        for key, value in items:
            if key == name:
                return name, value
    return names[0], None


MAX_PAGE = 10_000


def _page_number(text: str | None, field: str, low: int, high: int | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        raise _bad(field, "expected an integer") from None
    if value < low or (high is not None and value > high):
        raise _bad(field, f"expected {low} to {high}" if high else f"expected at least {low}")
    return value


def _page(rows: list[dict[str, Any]], q: ReportQuery) -> list[dict[str, Any]]:
    end = None if q.limit is None else q.offset + q.limit
    return rows[q.offset : end]


def parse_query(items: Sequence[tuple[str, str]]) -> ReportQuery:
    """Reads a report's query string: ``timeRange[startTime]``/``timeRange[endTime]`` (or
    ``startTime``/``endTime``), ``userIds[0]=``, ``integrations[0]=``, ``tableIds[0]=``,
    ``fieldIds[0]=`` (also repeated or comma-separated) and ``groupBy``."""
    start_name, start_text = _first(items, "timeRange[startTime]", "startTime")
    end_name, end_text = _first(items, "timeRange[endTime]", "endTime")
    start = parse_time(start_text, start_name)
    end = parse_time(end_text, end_name, end=True)
    if start is not None and end is not None and end < start:
        raise _bad(end_name, "must not be before the start time")
    user_ids: list[int] = []
    for text in _values(items, "userIds") + _values(items, "ownerIds"):
        try:
            user_ids.append(int(text))
        except ValueError:
            raise _bad("userIds", "expected integer user ids") from None
    group_by: tuple[str, ...] | None = None
    if any(re.fullmatch(r"groupBy(\[\d*\])?", k) for k, _ in items):
        chosen = set()
        for text in _values(items, "groupBy"):
            dim = _ALIASES.get(text.lower(), text.lower())
            if dim not in DIMENSIONS:
                raise _bad("groupBy", f"expected some of {', '.join(DIMENSIONS)}")
            chosen.add(dim)
        group_by = tuple(d for d in DIMENSIONS if d in chosen)
    _, limit_text = _first(items, "limit")
    _, offset_text = _first(items, "offset")
    return ReportQuery(
        limit=_page_number(limit_text, "limit", 1, MAX_PAGE),
        offset=_page_number(offset_text, "offset", 0, None) or 0,
        start=start,
        end=end,
        user_ids=tuple(dict.fromkeys(user_ids)),
        integrations=tuple(dict.fromkeys(_values(items, "integrations"))),
        table_ids=tuple(dict.fromkeys(_values(items, "tableIds"))),
        field_ids=tuple(dict.fromkeys(_values(items, "fieldIds"))),
        group_by=group_by,
    )


# Clay's other report types: ``api`` is every run (all come through the API here); signals,
# trigger definitions and MCP callers are not recorded offline, so their reports are empty.
EMPTY_REPORT_TYPES = ("signal", "triggerDefinition", "mcp")
EXTRA_REPORT_TYPES = ("api", *EMPTY_REPORT_TYPES)


def check_report_type(report_type: str) -> str:
    if report_type in EXTRA_REPORT_TYPES:
        return report_type
    if report_type not in REPORT_TYPES:
        raise BadRequest(
            f"Unknown credit report type {report_type!r}; expected one of "
            + ", ".join(REPORT_TYPES)
        )
    return report_type


# -- the reports ---------------------------------------------------------------------------


def _source(workspace_id: int, q: ReportQuery, *, empty: bool = False) -> Any:
    """The matching ledger entries as summed rows: whole UTC days from the rollup the
    ledger's trigger keeps (storage/counters.py), the partial days at either end of the
    time range from the ledger itself (through its workspace and time index). Columns:
    day, kind, user_id, integration, action_key, table_id, field_id, amount, entries,
    actions."""
    r, c = CreditRollup, CreditEntry
    first = None if q.start is None else -(-q.start // DAY_MS)  # the first whole day
    stop = None if q.end is None else q.end // DAY_MS  # the day after the last whole one
    whole = first is None or stop is None or first < stop
    parts: list[Any] = []
    if whole:
        conds: list[ColumnElement[bool]] = [r.workspace_id == workspace_id]
        if first is not None:
            conds.append(r.day >= first)
        if stop is not None:
            conds.append(r.day < stop)
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
            ).where(*conds, *_filters(r, q), *([false()] if empty else []))
        )
    edges: list[tuple[int | None, int | None]] = [(q.start, q.end)]
    if whole:
        edges = []
        if first is not None and q.start is not None and q.start < first * DAY_MS:
            edges.append((q.start, first * DAY_MS))
        if stop is not None and q.end is not None and stop * DAY_MS < q.end:
            edges.append((stop * DAY_MS, q.end))
    for low, high in edges:
        conds = [c.workspace_id == workspace_id]
        if low is not None:
            conds.append(c.created_at >= low)
        if high is not None:
            conds.append(c.created_at < high)
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
            ).where(*conds, *_filters(c, q), *([false()] if empty else []))
        )
    if len(parts) == 1:
        return parts[0].subquery("entries")
    return union_all(*parts).subquery("entries")


def _filters(model: Any, q: ReportQuery) -> list[ColumnElement[bool]]:
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


def _int(value: Any) -> int:
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
        item["credits"], item["runs"] = _int(item["credits"]), _int(item["runs"])
        item["actions"] = _int(item["actions"])
        out.append(item)
    return out


async def _usage(conn: AsyncConnection, s: Any, dims: Iterable[str]) -> list[dict[str, Any]]:
    out = _items(await conn.execute(_grouped(s, dims)[1]))
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
BREAKDOWNS = ("date", "user", "integration", "table", "field")


def _set_of(dims: Iterable[str]) -> tuple[str, ...]:
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


async def report(
    conn: AsyncConnection, scope: Scope, report_type: str, q: ReportQuery
) -> dict[str, Any]:
    group_by = q.group_by if q.group_by is not None else REPORT_TYPES.get(report_type, FULL)
    s = _source(scope.workspace_id, q, empty=report_type in EMPTY_REPORT_TYPES)
    postgres = conn.dialect.name == "postgresql"
    row_set = _set_of(group_by)
    paged = q.limit is not None or q.offset > 0
    whole = [*(_set_of((d,)) for d in BREAKDOWNS), ()]
    # Paged rows that are a set of their own come from a second statement that sorts and
    # cuts them in the database (the breakdowns and the totals are always whole).
    own = paged and row_set not in whole
    sets = list(dict.fromkeys(whole if own else [*whole, row_set]))
    stmt, order, gids = _named_sets(s, sets, postgres)
    by_gid: dict[int, list[Any]] = {}
    for row in (await conn.execute(stmt.order_by(*order))).all():
        by_gid.setdefault(row[0], []).append(row)
    totals_gid = gids[()]
    totals = {"used": 0, "runs": 0, "actions": 0, "granted": 0, "net": 0}
    for row in by_gid.get(totals_gid, []):
        if row[1] == "charge":
            totals["used"], totals["runs"], totals["actions"] = -row[8], row[9], row[10]
        elif row[1] == "grant":
            totals["granted"] = row[8]
        totals["net"] += row[8]

    def usage(dims: tuple[str, ...]) -> list[dict[str, Any]]:
        cols = _set_of(dims)
        found = by_gid.get(gids.get(cols, -1), [])
        if not cols:  # the totals set keeps every kind
            found = [r for r in found if r[1] == "charge" and r[9]]
        return _shaper(cols)(found)

    breakdowns = {dim: usage((dim,)) for dim in BREAKDOWNS}
    # A field's rows carry its table, so grouping by both is the field breakdown.
    single = set(group_by) - ({"table"} if "field" in group_by else set())
    same = next(iter(single)) if len(single) == 1 else None
    if own:
        page, order, _ = _named_sets(s, [row_set], postgres, q)
        found = (await conn.execute(page.order_by(*order))).all()
        total = int(found[0].n) if found else await _count(conn, s, row_set, postgres)
        rows = _shaper(row_set)(found)
    else:
        rows = breakdowns[same] if same in breakdowns else usage(group_by)
        total = len(rows)
        if paged:
            rows = _page(rows, q)
    out: dict[str, Any] = {
        "workspaceId": scope.workspace_id,
        "reportType": report_type,
        "timeRange": {"startTime": iso(q.start), "endTime": iso(q.end)},
        "filters": {
            "userIds": list(q.user_ids),
            "integrations": list(q.integrations),
            "tableIds": list(q.table_ids),
            "fieldIds": list(q.field_ids),
        },
        "groupBy": list(group_by),
        "balance": await credits.balance(conn, scope.workspace_id),
        "totals": totals,
        "rows": rows,
        "breakdowns": breakdowns,
    }
    if paged:
        more = q.limit is not None and q.offset + q.limit < total
        out["page"] = {
            "offset": q.offset,
            "limit": q.limit,
            "total": total,
            "nextOffset": q.offset + (q.limit or 0) if more else None,
        }
    return out


async def _count(conn: AsyncConnection, s: Any, cols: tuple[str, ...], postgres: bool) -> int:
    """How many rows a set has, for a page past its end (the page itself brought none)."""
    g, _ = _all_sets(s, [cols], postgres)
    kept = select(g).where(g.c.kind == "charge", g.c.runs != 0).subquery()
    return int(await conn.scalar(select(func.count()).select_from(kept)) or 0)


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


async def _in_ledger(conn: AsyncConnection, scope: Scope, cond: ColumnElement[bool]) -> bool:
    found = await conn.scalar(
        select(CreditRollup.day)
        .where(CreditRollup.workspace_id == scope.workspace_id, cond)
        .limit(1)
    )
    return found is not None


async def user_report(
    conn: AsyncConnection, scope: Scope, user_id: int, q: ReportQuery
) -> dict[str, Any]:
    """One user's usage; the user must be a member of the workspace or named by its ledger."""
    member = await conn.scalar(
        select(Membership.user_id).where(
            Membership.workspace_id == scope.workspace_id, Membership.user_id == user_id
        )
    )
    if member is None and not await _in_ledger(conn, scope, CreditRollup.user_id == user_id):
        raise NotFound("User not found")
    return await report(conn, scope, "user", replace(q, user_ids=(user_id,)))


async def integration_report(
    conn: AsyncConnection, scope: Scope, key: str, report_type: str, q: ReportQuery
) -> dict[str, Any]:
    """One integration's usage: installed ones, and uninstalled ones the ledger names."""
    if registry.get(key) is None and not await _in_ledger(
        conn, scope, CreditRollup.integration == key
    ):
        raise NotFound(f"Integration not found: {key}")
    return await report(conn, scope, report_type, replace(q, integrations=(key,)))


async def table_usage(
    conn: AsyncConnection, scope: Scope, table_id: str, by: str, q: ReportQuery
) -> list[dict[str, Any]]:
    """One table's usage by day (``time``) or by column (``column``)."""
    s = _source(scope.workspace_id, replace(q, table_ids=(table_id,)))
    if by == "time":
        rows = [
            {"date": r["date"], "creditsSpent": r["credits"], "actions": r["actions"]}
            for r in await _usage(conn, s, ("date",))
        ]
        return _page(rows, q)
    rows = [
        {
            "fieldId": r["fieldId"],
            "fieldName": r.get("fieldName"),
            "creditsSpent": r["credits"],
            "runs": r["runs"],
            "actions": r["actions"],
        }
        for r in await _usage(conn, s, ("field",))
    ]
    return _page(rows, q)


RUN_MS = 60_000


async def table_runs(
    conn: AsyncConnection, scope: Scope, table_id: str, q: ReportQuery
) -> list[dict[str, Any]]:
    """A table's usage by run, newest first. The ledger keeps no run id, so a run is what the
    table was charged within one UTC minute: ``runId`` is ``run_<table>_<minute>``."""
    c = CreditEntry
    conds = [c.workspace_id == scope.workspace_id, *_filters(c, replace(q, table_ids=(table_id,)))]
    if q.start is not None:
        conds.append(c.created_at >= q.start)
    if q.end is not None:
        conds.append(c.created_at < q.end)
    minute = (c.created_at // literal_column(str(RUN_MS), BigInteger)).label("minute")
    stmt = (
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
    runs: dict[int, dict[str, Any]] = {}
    for row in await conn.execute(stmt):
        at = int(row.minute)
        run = runs.setdefault(
            at,
            {
                "runId": f"run_{table_id}_{at}",
                "timestamp": iso(at * RUN_MS),
                "creditsSpent": 0,
                "actions": 0,
                "columns": [],
            },
        )
        spent, actions = -_int(row.amount), _int(row.actions)
        run["creditsSpent"] += spent
        run["actions"] += actions
        run["columns"].append(
            {"fieldId": row.field_id, "creditsSpent": spent, "cells": _int(row.runs)}
        )
    for run in runs.values():
        run["columns"].sort(key=lambda col: str(col["fieldId"]))
    return [runs[k] for k in sorted(runs, reverse=True)]
