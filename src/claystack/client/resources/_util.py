"""Helpers shared by the namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .._base import Op, req
from .._models import (
    Table,
)

DEFAULT_BATCH_SIZE = 1000
WEBHOOK_SLUG_TEXT = "Pull in data from a Webhook"


def _q(value: str | int) -> str:
    return quote(str(value), safe="")


def _id(obj: Any) -> str:
    """Accepts an id or an object with an ``id`` (a Table, a Record, …)."""
    return str(getattr(obj, "id", obj))


def _table(table_id: str) -> Op[Table]:
    data = yield req("GET", f"/tables/{_q(table_id)}")
    return Table.model_validate(data["table"])


def _workspace_of(table_id: str, workspace_id: int | None) -> Op[int]:
    if workspace_id is not None:
        return workspace_id
    return (yield from _table(table_id)).workspaceId


def _view_of(table_id: str, view_id: str | None) -> Op[str]:
    if view_id:
        return view_id
    view = (yield from _table(table_id)).firstViewId
    if view is None:  # pragma: no cover - every table has a default view
        raise ValueError(f"table {table_id} has no view")
    return view


def _record_in(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id"?, "cells": {...}}`` is kept; any other mapping is taken as the cells."""
    cells = row.get("cells")
    if isinstance(cells, Mapping):
        out: dict[str, Any] = {"cells": dict(cells)}
        if row.get("id") is not None:
            out["id"] = str(row["id"])
        return out
    return {"cells": dict(row)}


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
