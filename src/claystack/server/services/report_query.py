"""The query of a credit report: time range, filters, grouping and page, read from the
query string as Clay's clients write it, and the report types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import BadRequest, InvalidParameter
from ..storage.repositories.credit_usage import ReportQuery

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
            expected = "expected an ISO 8601 date/time or epoch milliseconds"
            raise InvalidParameter(field, expected) from None
    if not 0 <= ms <= _MAX_MS:
        raise InvalidParameter(field, "out of range")
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
        raise InvalidParameter(field, "expected an integer") from None
    if value < low or (high is not None and value > high):
        expected = f"expected {low} to {high}" if high else f"expected at least {low}"
        raise InvalidParameter(field, expected)
    return value


def page(rows: list[dict[str, Any]], q: ReportQuery) -> list[dict[str, Any]]:
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
        raise InvalidParameter(end_name, "must not be before the start time")
    user_ids: list[int] = []
    for text in _values(items, "userIds") + _values(items, "ownerIds"):
        try:
            user_ids.append(int(text))
        except ValueError:
            raise InvalidParameter("userIds", "expected integer user ids") from None
    group_by: tuple[str, ...] | None = None
    if any(re.fullmatch(r"groupBy(\[\d*\])?", k) for k, _ in items):
        chosen = set()
        for text in _values(items, "groupBy"):
            dim = _ALIASES.get(text.lower(), text.lower())
            if dim not in DIMENSIONS:
                raise InvalidParameter("groupBy", f"expected some of {', '.join(DIMENSIONS)}")
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
