"""The keys the spec names for each object, and the checks of an answer's shape (keys,
array or object, the wrapper and its top-level copy, id prefixes)."""

from __future__ import annotations

import re
from typing import Any

# -- the keys the spec names for each object ----------------------------------------------

TABLE = (
    "id workspaceId workbookId name description type parentFolderId tableSettings "
    "fieldGroupMap firstViewId fields views ownerId createdAt updatedAt"
).split()
WORKBOOK = (
    "id workspaceId name description parentFolderId settings ownerId createdAt updatedAt deletedAt"
).split()
FIELD = "id tableId name type typeSettings inputFieldIds createdAt updatedAt".split()
VIEW = "id name order fields sort filter limit offset description typeSettings".split()
RECORD = "id tableId cells createdAt updatedAt".split()
SOURCE = (
    "id tableId workspaceId name type typeSettings url hasAuthToken numSourceRecords "
    "sourceSubscriptions createdAt deletedAt"
).split()
FOLDER = "id name workspaceId parentFolderId createdAt".split()
RESOURCE = "resourceType id name parentFolderId ownerId createdAt updatedAt".split()
ACCOUNT = "id name appAccountTypeId workspaceId createdBy createdAt".split()
EXPORT = (
    "id status tableId viewId fileName totalRecordsInViewCount recordsExportedCount "
    "downloadUrl exportType createdAt"
).split()
ACTION = (
    "key actionKey actionPackageId displayName description inputParameterSchema "
    "outputParameterSchema pricing auth"
).split()
REPORT_ROW = "date userId integration tableId fieldId credits runs".split()
SYSTEM_FIELDS = ("f_created_at", "f_updated_at")
CELL_STATUSES = {
    "SUCCESS",
    "SUCCESS_NO_DATA",
    "QUEUED",
    "RUNNING",
    "RETRY",
    "AWAITING_CALLBACK",
    "PENDING",
    "RATE_LIMITED",
    "ERROR_TIMEOUT",
    "ERROR_INVALID_INPUT",
    "ERROR_BLANK_TOKEN",
    "ERROR_RUN_CONDITION_NOT_MET",
    "ERROR_TOO_MANY_RUNS",
    "ERROR_OUT_OF_CREDITS",
    "ERROR_BAD_REQUEST",
    "ERROR",
    "CANCELLED",
}


def has(obj: Any, keys: list[str] | str, where: str = "answer") -> dict[str, Any]:
    """``obj`` is a JSON object carrying every key of ``keys``."""
    names = keys.split() if isinstance(keys, str) else keys
    assert isinstance(obj, dict), f"{where} is not an object: {str(obj)[:300]}"
    missing = [k for k in names if k not in obj]
    assert not missing, f"{where} lacks {missing}; has {sorted(obj)}"
    return obj


def array(obj: Any, keys: list[str] | str = (), where: str = "answer") -> list[Any]:  # type: ignore[assignment]
    """``obj`` is a JSON array whose items carry ``keys``."""
    assert isinstance(obj, list), f"{where} is not an array: {str(obj)[:300]}"
    for i, item in enumerate(obj):
        if keys:
            has(item, keys, f"{where}[{i}]")
    return obj


MINTED = re.compile(r"0t[A-Za-z0-9]{17}")


def prefixed(value: Any, prefix: str, where: str = "id") -> None:
    """``value`` is ``prefix`` + a minted id body (part 1 §3: ``0t`` + 17 base62 chars)."""
    assert isinstance(value, str) and value.startswith(prefix), f"{where} {value!r} ≠ {prefix}…"
    if value not in SYSTEM_FIELDS:
        assert MINTED.fullmatch(value[len(prefix) :]), f"{where} {value!r}: not 0t + 17 base62"


def mirrored(body: Any, name: str) -> dict[str, Any]:
    """Part 2 §1: the object under ``name`` and each of its keys at top level too."""
    inner = has(body, [name])[name]
    assert isinstance(inner, dict), f"{name} is not an object"
    differ = [k for k, v in inner.items() if body.get(k, object()) != v]
    assert not differ, f"top level lacks or differs on {differ} of {name}"
    return inner


def table_obj(t: Any, *, full: bool = True, where: str = "table") -> dict[str, Any]:
    has(t, TABLE if full else "id workspaceId workbookId name type firstViewId", where)
    prefixed(t["id"], "t_", f"{where}.id")
    assert t["type"] == "spreadsheet", t["type"]
    if full:
        has(t["tableSettings"], "AUTO_RUN_ON", f"{where}.tableSettings")
        array(t["fields"], FIELD, f"{where}.fields")
        for v in array(t["views"], VIEW, f"{where}.views"):
            view_obj(v)
        assert t["firstViewId"] == t["views"][0]["id"], "firstViewId is not the first view"
    else:
        assert "fields" not in t and "views" not in t, f"{where} lists fields or views"
    return t


def view_obj(v: Any, where: str = "view") -> dict[str, Any]:
    has(v, VIEW, where)
    prefixed(v["id"], "gv_", f"{where}.id")
    for fid, settings in v["fields"].items():
        has(settings, "order isVisible width isPinned", f"{where}.fields.{fid}")
        assert isinstance(settings["order"], str), f"{where}.fields.{fid}.order is not a string"
    return v


def field_obj(f: Any, where: str = "field") -> dict[str, Any]:
    has(f, FIELD, where)
    prefixed(f["id"], "f_", f"{where}.id")
    return f


def record_obj(r: Any, where: str = "record") -> dict[str, Any]:
    has(r, RECORD, where)
    for fid, cell in r["cells"].items():
        has(cell, "value metadata", f"{where}.cells.{fid}")
        assert isinstance(cell["metadata"], dict), f"{where}.cells.{fid}.metadata"
        status = cell["metadata"].get("status")
        assert status is None or status in CELL_STATUSES, status
    return r


def workbook_obj(w: Any, where: str = "workbook") -> dict[str, Any]:
    has(w, WORKBOOK, where)
    prefixed(w["id"], "wb_", f"{where}.id")
    has(w["settings"], "isAutoRun", f"{where}.settings")
    return w


def source_obj(s: Any, where: str = "source") -> dict[str, Any]:
    has(s, SOURCE, where)
    prefixed(s["id"], "s_", f"{where}.id")
    return s


def report(body: Any) -> None:
    """[ours] credit report: totals, time range, rows of {date, userId, integration, …}."""
    has(body, "totals timeRange rows")
    array(body["rows"], REPORT_ROW, "rows")


def error(body: Any, kind: str, message: str = "") -> None:
    has(body, "type message", "error")
    assert body["type"] == kind, body
    assert message in body["message"], body
