"""Runs: computing cells, their status and estimates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .._base import M, Namespace, Op, Sleep, api, req
from .._exceptions import ClayTimeoutError
from .._models import (
    RunEstimate,
    RunStarted,
    RunStatus,
)
from ._util import (
    _id,
    _q,
    _view_of,
    _workspace_of,
)


def _run_body(
    table_id: str,
    field_ids: Iterable[str],
    record_ids: Iterable[str] | None,
    view_id: str | None,
    num_records: int | None,
    force: bool,
) -> Op[dict[str, Any]]:
    """The body of ``PATCH …/run`` (and its estimate): these rows, or a view's first rows."""
    if record_ids is not None:
        run_records: dict[str, Any] = {"recordIds": [_id(r) for r in record_ids]}
    else:
        top: dict[str, Any] = {"viewId": (yield from _view_of(table_id, view_id))}
        if num_records is not None:
            top["numRecords"] = num_records
        run_records = {"viewIdTopRecords": top}
    return {"fieldIds": [_id(f) for f in field_ids], "runRecords": run_records, "forceRun": force}


class Runs(Namespace[M]):
    """Running enrichment columns and watching them finish."""

    @api("PATCH /tables/{tableId}/run")
    def start(
        self,
        table_id: str,
        field_ids: Iterable[str],
        *,
        record_ids: Iterable[str] | None = None,
        view_id: str | None = None,
        num_records: int | None = None,
        force: bool = False,
        caller_name: str = "claystack-python",
    ) -> Op[RunStarted]:
        """Queues the ``field_ids`` columns for ``record_ids``, or for the first
        ``num_records`` rows of a view (all of them by default; the default view when none
        is given). Cells already ``SUCCESS`` are kept unless ``force``."""
        t = _id(table_id)
        body = yield from _run_body(t, field_ids, record_ids, view_id, num_records, force)
        body["callerName"] = caller_name
        return RunStarted.model_validate((yield req("PATCH", f"/tables/{_q(t)}/run", body)))

    @api("PATCH /tables/{tableId}/run/estimate")
    def estimate(
        self,
        table_id: str,
        field_ids: Iterable[str],
        *,
        record_ids: Iterable[str] | None = None,
        view_id: str | None = None,
        num_records: int | None = None,
        force: bool = False,
    ) -> Op[RunEstimate]:
        """What :meth:`start` with the same arguments would spend, without running: the
        rows, the actions (executions) and the credits, per column."""
        t = _id(table_id)
        body = yield from _run_body(t, field_ids, record_ids, view_id, num_records, force)
        data = yield req("PATCH", f"/tables/{_q(t)}/run/estimate", body)
        return RunEstimate.model_validate(data)

    @api("GET /workspaces/{workspaceId}/tables/{tableId}/fields/runstatus")
    def status(self, table_id: str, *, workspace_id: int | None = None) -> Op[RunStatus]:
        """Cell status counts per column (looks the workspace up when not given)."""
        t = _id(table_id)
        ws = yield from _workspace_of(t, workspace_id)
        data = yield req("GET", f"/workspaces/{_q(ws)}/tables/{_q(t)}/fields/runstatus")
        return RunStatus.model_validate(data)

    @api("GET /workspaces/{workspaceId}/tables/{tableId}/fields/runstatus")
    def wait(
        self,
        table_id: str,
        field_ids: Iterable[str] | None = None,
        *,
        workspace_id: int | None = None,
        poll_interval: float = 0.5,
        timeout: float = 600.0,
        on_progress: Callable[[RunStatus], None] | None = None,
    ) -> Op[RunStatus]:
        """Polls the run status until no cell of ``field_ids`` (every column when none)
        is queued, running, retrying or awaiting a callback, and returns the final counts.
        ``on_progress(status)`` is called after every poll. Raises ``ClayTimeoutError``
        after ``timeout`` seconds."""
        t = _id(table_id)
        wanted = {_id(f) for f in field_ids} if field_ids is not None else None
        ws = yield from _workspace_of(t, workspace_id)
        deadline = time.monotonic() + timeout
        while True:
            data = yield req("GET", f"/workspaces/{_q(ws)}/tables/{_q(t)}/fields/runstatus")
            status = RunStatus.model_validate(data)
            if wanted is not None:
                status.statusCountsByField = {
                    k: v for k, v in status.statusCountsByField.items() if k in wanted
                }
            if on_progress is not None:
                on_progress(status)
            if status.done:
                return status
            if time.monotonic() >= deadline:
                raise ClayTimeoutError(
                    f"the run of table {t} was still going after {timeout:g}s", type="Timeout"
                )
            yield Sleep(poll_interval)
