"""Records (rows)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

from .._base import Emit, M, Namespace, Op, api, pages, req
from .._models import (
    Record,
)
from ._util import (
    DEFAULT_BATCH_SIZE,
    _drop_none,
    _id,
    _q,
    _record_in,
    _view_of,
)


class Records(Namespace[M]):
    """Rows: add in batches, read, page through, update, delete."""

    @api("POST /tables/{tableId}/records")
    def add(
        self,
        table_id: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
        return_records: bool = True,
    ) -> Op[builtins.list[Record]]:
        """Adds rows, ``batch_size`` per request. Each row is its cells
        (``{"f_name": "Acme"}``) or ``{"id": "my-id", "cells": {...}}``. ``rows`` may be
        any iterable, even a generator over a huge file: it is read one batch at a time.
        ``on_batch(n)`` is called after each batch lands; with ``return_records=False``
        nothing is kept and an empty list is returned."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        path = f"/tables/{_q(_id(table_id))}/records"
        out: list[Record] = []
        it = iter(rows)
        while batch := [_record_in(r) for r in islice(it, batch_size)]:
            data = yield req("POST", path, {"records": batch}, raw=not return_records)
            if return_records:
                out.extend(Record.model_validate(r) for r in data["records"])
            if on_batch is not None:
                on_batch(len(batch))
        return out

    @api("PATCH /tables/{tableId}/records")
    def update(
        self,
        table_id: str,
        rows: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Op[builtins.list[Record]]:
        """Merges cells into existing rows: ``[{"id": "r_…", "cells": {...}}]`` or
        ``{"r_…": {...cells}}``; sent ``batch_size`` rows per request."""
        if isinstance(rows, Mapping):
            items: Iterable[Mapping[str, Any]] = (
                {"id": k, "cells": dict(v)} for k, v in rows.items()
            )
        else:
            items = rows
        path = f"/tables/{_q(_id(table_id))}/records"
        out: list[Record] = []
        it = iter(items)
        while batch := [
            {"id": str(r["id"]), "cells": dict(r["cells"])} for r in islice(it, batch_size)
        ]:
            data = yield req("PATCH", path, {"records": batch})
            out.extend(Record.model_validate(r) for r in data["records"])
        return out

    @api("GET /tables/{tableId}/records/{recordId}")
    def get(self, table_id: str, record_id: str) -> Op[Record]:
        """One row."""
        path = f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}"
        return Record.model_validate((yield req("GET", path)))

    @api("PATCH /tables/{tableId}/records/{recordId}")
    def update_one(self, table_id: str, record_id: str, cells: Mapping[str, Any]) -> Op[Record]:
        """Merges ``cells`` into one row."""
        path = f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}"
        return Record.model_validate((yield req("PATCH", path, {"cells": dict(cells)})))

    @api("DELETE /tables/{tableId}/records/{recordId}")
    def delete(self, table_id: str, record_id: str) -> Op[None]:
        """Deletes one row."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}")

    @api("DELETE /tables/{tableId}/records")
    def delete_many(self, table_id: str, record_ids: Iterable[str]) -> Op[int]:
        """Deletes these rows; returns how many were deleted."""
        body = {"recordIds": [_id(r) for r in record_ids]}
        data = yield req("DELETE", f"/tables/{_q(_id(table_id))}/records", body)
        return int((data or {}).get("deletedCount", 0))

    @api("DELETE /tables/{tableId}/records")
    def delete_all(
        self, table_id: str, *, view_id: str | None = None, keep: Iterable[str] = ()
    ) -> Op[int]:
        """Deletes every row (only those ``view_id`` shows, when given) except ``keep``."""
        body: dict[str, Any] = {"omitDeletingRecordIds": [_id(r) for r in keep]}
        if view_id is not None:
            body.update(deleteAll=True, viewId=view_id)
        data = yield req("DELETE", f"/tables/{_q(_id(table_id))}/records", body)
        return int((data or {}).get("deletedCount", 0))

    @api("POST /tables/{tableId}/bulk-fetch-records")
    def bulk_fetch(
        self,
        table_id: str,
        record_ids: Iterable[str],
        *,
        field_ids: Iterable[str] | None = None,
    ) -> Op[builtins.list[Record]]:
        """Rows by id, in the order asked (unknown ids are left out)."""
        body = _drop_none(
            recordIds=[_id(r) for r in record_ids],
            fieldIds=list(field_ids) if field_ids is not None else None,
        )
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/bulk-fetch-records", body)
        return [Record.model_validate(r) for r in data["results"]]

    @api("GET /tables/{tableId}/views/{viewId}/records")
    def list(
        self, table_id: str, view_id: str | None = None, *, limit: int = 1000, offset: int = 0
    ) -> Op[builtins.list[Record]]:
        """One page of the rows a view shows (the default view when none is given)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/tables/{_q(t)}/views/{_q(view)}/records",
            params={"limit": limit, "offset": offset},
        )
        return [Record.model_validate(r) for r in data["results"]]

    @pages(Record, "GET /tables/{tableId}/views/{viewId}/records")
    def iter(self, table_id: str, view_id: str | None = None, *, page_size: int = 1000) -> Op[None]:
        """Every row a view shows, fetched ``page_size`` at a time as you iterate
        (``for r in client.records.iter(t)`` / ``async for`` on the async client)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        offset = 0
        while True:
            data = yield req(
                "GET",
                f"/tables/{_q(t)}/views/{_q(view)}/records",
                params={"limit": page_size, "offset": offset},
            )
            rows = data["results"]
            for row in rows:
                yield Emit(Record.model_validate(row))
            if len(rows) < page_size:
                return
            offset += len(rows)

    @api("GET /tables/{tableId}/views/{viewId}/records/ids")
    def ids(self, table_id: str, view_id: str | None = None) -> Op[builtins.list[str]]:
        """Every row id a view shows, in view order (the default view when none is given)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req("GET", f"/tables/{_q(t)}/views/{_q(view)}/records/ids")
        return [str(i) for i in data["results"]]

    @api("GET /_claystack/ui/tables/{tableId}/views/{viewId}/rows")
    def window(
        self, table_id: str, view_id: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> Op[tuple[int, builtins.list[Record]]]:
        """``(total, rows)``: up to ``limit`` (1–1000) rows a view shows from ``offset``, and
        how many it shows in all (what the web app's grid reads as you scroll)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/rows",
            params={"offset": offset, "limit": limit},
            root=True,
        )
        return int(data["total"]), [Record.model_validate(r) for r in data["results"]]

    @api("GET /_claystack/ui/tables/{tableId}/views/{viewId}/rows/{recordId}")
    def index(self, table_id: str, record_id: str, view_id: str | None = None) -> Op[int]:
        """Where a row stands in a view (0 is the first row it shows), e.g. to scroll to a
        match of ``views.search()``; ``NotFound`` when the view
        does not show it."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/rows/{_q(_id(record_id))}",
            root=True,
        )
        return int(data["index"])

    @api("POST /_claystack/ui/tables/{tableId}/views/{viewId}/formula-preview")
    def preview_formula(
        self, table_id: str, formula: str, view_id: str | None = None, *, limit: int = 10
    ) -> Op[builtins.list[dict[str, Any]]]:
        """A formula's value over the first ``limit`` rows of a view, computed and not saved:
        ``[{"recordId", "value", "error"}]`` (``error`` is the message when it fails)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        body = {"formulaText": formula, "limit": limit}
        data = yield req(
            "POST",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/formula-preview",
            body,
            root=True,
        )
        return [dict(item) for item in data["results"]]
