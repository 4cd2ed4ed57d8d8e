"""The ``views`` namespace: views, their filter and sort, their columns, and search."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from ._base import M, Namespace, Op, api, req
from ._models import View


def _q(value: str | int) -> str:
    return quote(str(value), safe="")


def _id(obj: Any) -> str:
    return str(getattr(obj, "id", obj))


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _view(data: Any) -> View:
    return View.model_validate(data["view"] if "view" in data else data)


class Views(Namespace[M]):
    """Views: filtered, sorted windows on a table, with their own column order and
    visibility. The system views of a ``basic`` table ("All rows", "Errored rows", "Fully
    enriched rows") carry ``typeSettings.preconfiguredType`` and cannot be deleted."""

    def _path(self, table_id: str, view_id: str, tail: str = "") -> str:
        return f"/tables/{_q(_id(table_id))}/views/{_q(view_id)}{tail}"

    @api("GET /tables/{tableId}")
    def list(self, table_id: str) -> Op[builtins.list[View]]:
        """The views of a table; the first is the default view."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}")
        return [View.model_validate(v) for v in data["table"]["views"]]

    @api("GET /tables/{tableId}/views/{viewId}")
    def get(self, table_id: str, view_id: str) -> Op[View]:
        """One view."""
        return _view((yield req("GET", self._path(table_id, view_id))))

    @api("POST /tables/{tableId}/views")
    def create(
        self,
        table_id: str,
        name: str,
        *,
        filter: dict[str, Any] | None = None,
        sort: builtins.list[dict[str, Any]] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[View]:
        """Adds a view. ``filter`` is ``{combinationMode, items:[{fieldId, type, value}]}``
        (``type``: EQUAL, NOT_EQUAL, CONTAIN, NOT_CONTAIN, EMPTY, NOT_EMPTY); ``sort`` is
        ``[{fieldId, direction}]``."""
        body = _drop_none(name=name, filter=filter, sort=sort, limit=limit, offset=offset)
        return _view((yield req("POST", f"/tables/{_q(_id(table_id))}/views", body)))

    @api("PATCH /tables/{tableId}/views/{viewId}")
    def update(
        self,
        table_id: str,
        view_id: str,
        *,
        name: str | None = None,
        filter: dict[str, Any] | None = None,
        sort: builtins.list[dict[str, Any]] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[View]:
        """Changes a view; only the arguments given change."""
        body = _drop_none(name=name, filter=filter, sort=sort, limit=limit, offset=offset)
        return _view((yield req("PATCH", self._path(table_id, view_id), body)))

    @api("DELETE /tables/{tableId}/views/{viewId}")
    def delete(self, table_id: str, view_id: str) -> Op[None]:
        """Deletes a view (a table keeps at least one; system views stay)."""
        yield req("DELETE", self._path(table_id, view_id))

    @api("PATCH /tables/{tableId}/views/{viewId}/filter")
    def set_filter(
        self,
        table_id: str,
        view_id: str,
        items: Iterable[Mapping[str, Any]] = (),
        *,
        mode: str = "AND",
    ) -> Op[View]:
        """Replaces the filter with ``items`` (``{fieldId, type, value?}``); none clears it."""
        body = {"combinationMode": mode, "items": [dict(i) for i in items]}
        return _view((yield req("PATCH", self._path(table_id, view_id, "/filter"), body)))

    @api("PATCH /tables/{tableId}/views/{viewId}/sort")
    def set_sort(
        self, table_id: str, view_id: str, items: Iterable[Mapping[str, Any]] = ()
    ) -> Op[View]:
        """Replaces the sort with ``items`` (``{fieldId, direction: ASC|DESC}``)."""
        body = {"items": [dict(i) for i in items]}
        return _view((yield req("PATCH", self._path(table_id, view_id, "/sort"), body)))

    @api("PATCH /tables/{tableId}/views/{viewId}/fields")
    def set_columns(
        self, table_id: str, view_id: str, columns: Mapping[str, Mapping[str, Any]]
    ) -> Op[View]:
        """Column settings keyed by field id: ``{f_…: {isVisible?, width?, isPinned?}}``."""
        body = {k: dict(v) for k, v in columns.items()}
        return _view((yield req("PATCH", self._path(table_id, view_id, "/fields"), body)))

    @api("PATCH /tables/{tableId}/views/{viewId}/fields/{fieldId}")
    def set_column(
        self,
        table_id: str,
        view_id: str,
        field_id: str,
        *,
        visible: bool | None = None,
        width: float | None = None,
        pinned: bool | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> Op[View]:
        """Shows, hides, resizes or pins one column, or moves it ``after``/``before``
        another column (in this view only)."""
        body = _drop_none(
            isVisible=visible,
            width=width,
            isPinned=pinned,
            afterFieldId=after,
            beforeFieldId=before,
        )
        path = self._path(table_id, view_id, f"/fields/{_q(field_id)}")
        return _view((yield req("PATCH", path, body)))

    @api("PATCH /tables/{tableId}/views/{viewId}/reorder-fields")
    def move_columns(
        self,
        table_id: str,
        view_id: str,
        field_ids: Iterable[str],
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> Op[View]:
        """Moves adjacent columns together after or before another column."""
        body = _drop_none(
            fieldIds=builtins.list(field_ids), afterFieldId=after, beforeFieldId=before
        )
        return _view((yield req("PATCH", self._path(table_id, view_id, "/reorder-fields"), body)))

    @api("PATCH /tables/{tableId}/views/{viewId}/group/{groupId}")
    def move_group(
        self,
        table_id: str,
        view_id: str,
        group_id: str,
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> Op[View]:
        """Moves a field group's columns after or before another column."""
        body = _drop_none(groupId=group_id, afterFieldId=after, beforeFieldId=before)
        path = self._path(table_id, view_id, f"/group/{_q(group_id)}")
        return _view((yield req("PATCH", path, body)))

    @api("POST /tables/{tableId}/views/{viewId}/duplicate")
    def duplicate(self, table_id: str, view_id: str) -> Op[View]:
        """A copy of the view named ``<name> (copy)``."""
        return _view((yield req("POST", self._path(table_id, view_id, "/duplicate"), {})))

    @api("POST /tables/{tableId}/views/{viewId}/search")
    def search(self, table_id: str, view_id: str, term: str) -> Op[builtins.list[dict[str, str]]]:
        """``[{fieldId, recordId}]`` of the visible cells containing ``term`` (any case)."""
        path = self._path(table_id, view_id, "/search")
        data = yield req("POST", path, {"searchTerm": term})
        return [dict(h) for h in data["results"]]
