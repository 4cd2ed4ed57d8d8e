"""CSV exports and imports: background jobs on the server, polled until they finish."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from ._base import M, Namespace, Op, Sleep, api, req
from ._exceptions import ClayError, ClayTimeoutError
from ._models import Export, ImportJob

__all__ = ["Export", "Exports", "ImportJob", "Imports"]


def _q(value: str | int) -> str:
    return quote(str(value), safe="")


def _id(obj: Any) -> str:
    return str(getattr(obj, "id", obj))


def _failed(kind: str, job_id: str, message: str | None) -> ClayError:
    return ClayError(f"{kind} {job_id} failed: {message or 'no reason given'}", type="JobFailed")


class Exports(Namespace[M]):
    """CSV exports of a table or a view, built in the background by the server."""

    @api("POST /tables/{tableId}/export", "POST /tables/{tableId}/views/{viewId}/export")
    def create(self, table_id: str, view_id: str | None = None) -> Op[Export]:
        """Starts an export: of the view (its filter, sort, visible columns) when
        ``view_id`` is given, else of every row in the default view's columns."""
        t = _q(_id(table_id))
        path = f"/tables/{t}/views/{_q(_id(view_id))}/export" if view_id else f"/tables/{t}/export"
        return Export.model_validate((yield req("POST", path, {})))

    @api("GET /exports/{exportId}")
    def get(self, export_id: str) -> Op[Export]:
        """The export job; a fresh signed ``downloadUrl`` once it is finished."""
        return Export.model_validate((yield req("GET", f"/exports/{_q(_id(export_id))}")))

    @api("GET /exports/{exportId}")
    def wait(
        self,
        export_id: str,
        *,
        poll_interval: float = 0.25,
        timeout: float = 3600.0,
        on_progress: Callable[[Export], None] | None = None,
    ) -> Op[Export]:
        """Polls until the export is FINISHED and returns it; raises ``ClayError`` when it
        FAILED and ``ClayTimeoutError`` after ``timeout`` seconds."""
        eid = _id(export_id)
        deadline = time.monotonic() + timeout
        while True:
            job = Export.model_validate((yield req("GET", f"/exports/{_q(eid)}")))
            if on_progress is not None:
                on_progress(job)
            if job.status == "FAILED":
                raise _failed("export", eid, job.error)
            if job.done:
                return job
            if time.monotonic() >= deadline:
                raise ClayTimeoutError(
                    f"export {eid} still running after {timeout:g}s", type="Timeout"
                )
            yield Sleep(poll_interval)

    @api("GET /exports/{exportId}", "GET /exports/{exportId}/file")
    def download(
        self, export: str | Export, path: str | os.PathLike[str], *, timeout: float = 3600.0
    ) -> Op[int]:
        """Waits for the export to finish, then streams its CSV into ``path`` (never
        whole in memory); returns the number of bytes written."""
        job = export if isinstance(export, Export) and export.downloadUrl else None
        if job is None:
            job = yield from Exports.wait.fn(self, _id(export), timeout=timeout)
        assert job.downloadUrl is not None
        size: int = yield req("GET", job.downloadUrl, auth=False, save_to=os.fspath(path))
        return size


class Imports(Namespace[M]):
    """CSV imports into a table through claystack's signed upload form."""

    @api("POST /imports/signed-s3-post-url", "POST /imports/upload")
    def upload(
        self,
        file: str | os.PathLike[str] | bytes | IO[bytes],
        *,
        filename: str | None = None,
        workspace_id: int | None = None,
    ) -> Op[str]:
        """Uploads a CSV (a path, bytes or a binary file) through a signed form and returns
        its ``key`` for :meth:`create`."""
        if isinstance(file, str | os.PathLike):
            filename = filename or Path(file).name
        name = filename or "upload.csv"
        params = {"workspaceId": workspace_id}
        body = {"filename": name, "uploadMode": "import"}
        form = yield req("POST", "/imports/signed-s3-post-url", body, params=params)
        if isinstance(file, str | os.PathLike):
            with open(file, "rb") as fh:
                yield req(
                    "POST",
                    form["url"],
                    auth=False,
                    form=form["fields"],
                    files={"file": (name, fh, "text/csv")},
                )
        else:
            yield req(
                "POST",
                form["url"],
                auth=False,
                form=form["fields"],
                files={"file": (name, file, "text/csv")},
            )
        key: str = form["fields"]["key"]
        return key

    @api("POST /imports")
    def create(
        self,
        table_id: str,
        key: str,
        mapping: Mapping[str, str],
        *,
        has_header: bool = True,
        delimiter: str | None = None,
        without_run: bool = False,
        filename: str | None = None,
        workspace_id: int | None = None,
    ) -> Op[ImportJob]:
        """Starts importing an uploaded CSV into a table. ``mapping`` gives each field id a
        template over the CSV's columns, e.g. ``{"f_…": "{{Email}}"}``. With
        ``without_run``, the new rows do not auto-run action columns."""
        source: dict[str, Any] = {"type": "S3_CSV", "key": key, "hasHeader": has_header}
        if delimiter is not None:
            source["fieldDelimiter"] = delimiter
        if filename is not None:
            source["filename"] = filename
        body: dict[str, Any] = {
            "config": {
                "source": source,
                "destination": {"type": "TABLE", "tableId": _id(table_id)},
                "map": dict(mapping),
                "isImportWithoutRun": without_run,
            }
        }
        if workspace_id is not None:
            body["workspaceId"] = workspace_id
        return ImportJob.model_validate((yield req("POST", "/imports", body)))

    @api("GET /imports/{importId}")
    def get(self, import_id: str) -> Op[ImportJob]:
        """The import job and its progress."""
        return ImportJob.model_validate((yield req("GET", f"/imports/{_q(_id(import_id))}")))

    @api("GET /imports/{importId}")
    def wait(
        self,
        import_id: str,
        *,
        poll_interval: float = 0.25,
        timeout: float = 3600.0,
        on_progress: Callable[[ImportJob], None] | None = None,
    ) -> Op[ImportJob]:
        """Polls until the import FINISHED and returns it; raises ``ClayError`` when it
        FAILED and ``ClayTimeoutError`` after ``timeout`` seconds."""
        iid = _id(import_id)
        deadline = time.monotonic() + timeout
        while True:
            job = ImportJob.model_validate((yield req("GET", f"/imports/{_q(iid)}")))
            if on_progress is not None:
                on_progress(job)
            if job.status == "FAILED":
                raise _failed("import", iid, job.state.error)
            if job.done:
                return job
            if time.monotonic() >= deadline:
                raise ClayTimeoutError(
                    f"import {iid} still running after {timeout:g}s", type="Timeout"
                )
            yield Sleep(poll_interval)
