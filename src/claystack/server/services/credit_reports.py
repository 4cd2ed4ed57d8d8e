"""Credit reports: sums over the append-only ledger, computed by the database
(``storage/repositories/credit_usage.py``).

Every figure of a report covers the ledger entries of one workspace whose ``created_at``
falls in ``[start, end)`` and that match the filters. Usage (``rows``, ``breakdowns``,
``totals.used``/``runs``) counts ``charge`` entries; ``totals.granted`` counts ``grant``
entries. Days are UTC. The query string is read by ``report_query.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..enrichment import registry
from ..errors import NotFound
from ..storage.repositories import Connection, credit_usage
from . import credits
from .common import Scope, iso
from .report_query import EMPTY_REPORT_TYPES, FULL, REPORT_TYPES, ReportQuery, page

BREAKDOWNS = ("date", "user", "integration", "table", "field")


async def report(
    conn: Connection, scope: Scope, report_type: str, q: ReportQuery
) -> dict[str, Any]:
    group_by = q.group_by if q.group_by is not None else REPORT_TYPES.get(report_type, FULL)
    s = credit_usage.source(scope.workspace_id, q, empty=report_type in EMPTY_REPORT_TYPES)
    row_set = credit_usage.set_of(group_by)
    paged = q.limit is not None or q.offset > 0
    whole = [*(credit_usage.set_of((d,)) for d in BREAKDOWNS), ()]
    # Paged rows that are a set of their own come from a second statement that sorts and
    # cuts them in the database (the breakdowns and the totals are always whole).
    own = paged and row_set not in whole
    sets = list(dict.fromkeys(whole if own else [*whole, row_set]))
    sums = await credit_usage.sums(conn, s, sets)
    breakdowns = {dim: sums.rows(credit_usage.set_of((dim,))) for dim in BREAKDOWNS}
    # A field's rows carry its table, so grouping by both is the field breakdown.
    single = set(group_by) - ({"table"} if "field" in group_by else set())
    same = next(iter(single)) if len(single) == 1 else None
    if own:
        rows, total = await credit_usage.page(conn, s, row_set, q)
    else:
        rows = breakdowns[same] if same in breakdowns else sums.rows(row_set)
        total = len(rows)
        if paged:
            rows = page(rows, q)
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
        "totals": sums.totals(),
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


async def user_report(
    conn: Connection, scope: Scope, user_id: int, q: ReportQuery
) -> dict[str, Any]:
    """One user's usage; the user must be a member of the workspace or named by its ledger."""
    if not await credit_usage.user_known(conn, scope.workspace_id, user_id):
        raise NotFound("User not found")
    return await report(conn, scope, "user", replace(q, user_ids=(user_id,)))


async def integration_report(
    conn: Connection, scope: Scope, key: str, report_type: str, q: ReportQuery
) -> dict[str, Any]:
    """One integration's usage: installed ones, and uninstalled ones the ledger names."""
    if registry.get(key) is None and not await credit_usage.integration_in_ledger(
        conn, scope.workspace_id, key
    ):
        raise NotFound(f"Integration not found: {key}")
    return await report(conn, scope, report_type, replace(q, integrations=(key,)))


async def table_usage(
    conn: Connection, scope: Scope, table_id: str, by: str, q: ReportQuery
) -> list[dict[str, Any]]:
    """One table's usage by day (``time``) or by column (``column``)."""
    s = credit_usage.source(scope.workspace_id, replace(q, table_ids=(table_id,)))
    if by == "time":
        rows = [
            {"date": r["date"], "creditsSpent": r["credits"], "actions": r["actions"]}
            for r in await credit_usage.usage(conn, s, ("date",))
        ]
        return page(rows, q)
    rows = [
        {
            "fieldId": r["fieldId"],
            "fieldName": r.get("fieldName"),
            "creditsSpent": r["credits"],
            "runs": r["runs"],
            "actions": r["actions"],
        }
        for r in await credit_usage.usage(conn, s, ("field",))
    ]
    return page(rows, q)


async def table_runs(
    conn: Connection, scope: Scope, table_id: str, q: ReportQuery
) -> list[dict[str, Any]]:
    """A table's usage by run, newest first. The ledger keeps no run id, so a run is what the
    table was charged within one UTC minute: ``runId`` is ``run_<table>_<minute>``."""
    runs: dict[int, dict[str, Any]] = {}
    rows = await credit_usage.charges_by_minute(
        conn, scope.workspace_id, replace(q, table_ids=(table_id,))
    )
    for row in rows:
        at = int(row.minute)
        run = runs.setdefault(
            at,
            {
                "runId": f"run_{table_id}_{at}",
                "timestamp": iso(at * credit_usage.RUN_MS),
                "creditsSpent": 0,
                "actions": 0,
                "columns": [],
            },
        )
        spent, actions = -credit_usage.as_int(row.amount), credit_usage.as_int(row.actions)
        run["creditsSpent"] += spent
        run["actions"] += actions
        run["columns"].append(
            {"fieldId": row.field_id, "creditsSpent": spent, "cells": credit_usage.as_int(row.runs)}
        )
    for run in runs.values():
        run["columns"].sort(key=lambda col: str(col["fieldId"]))
    return [runs[k] for k in sorted(runs, reverse=True)]
