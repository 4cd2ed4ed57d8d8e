"""Exports (``ej_…``) and imports (``ij_…``): background jobs, their signed links and the
upload form claystack serves itself in place of S3."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Body, Path, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response

from ...wire import (
    Export,
    ExportIn,
    ImportIn,
    ImportJob,
    SignedPostIn,
    SignedPostOut,
)
from ..deps import (
    Conn,
    CurrentActor,
    DefaultScope,
    ExportDep,
    ImportDep,
    Secret,
    TableReadDep,
    app_state,
    get_settings,
    public_base_url,
    viewer_may_call,
)
from ..errors import BadRequest, InvalidParameter
from ..services import exports, imports
from . import JSONOut, ok, router

api = router("jobs")
ViewId = Annotated[str, Path(alias="viewId")]


def _submit(request: Request, background: BackgroundTasks, kind: str, job_id: str) -> None:
    """Starts the job once the request's transaction has committed."""
    jobs = app_state(request).job_runner()

    async def start() -> None:  # async: a plain function would run in a worker thread
        jobs.submit(kind, job_id)

    background.add_task(start)


@api.post("/v3/tables/{tableId}/export", responses=ok(Export))
@viewer_may_call
async def export_table(
    request: Request,
    background: BackgroundTasks,
    conn: Conn,
    table: TableReadDep,
    body: Annotated[ExportIn | None, Body()] = None,
) -> JSONOut:
    """Starts a CSV export of every row, in the columns of the table's first view. Poll
    ``GET /v3/exports/{id}`` until FINISHED for its ``downloadUrl``. A read: any role."""
    out = await exports.create_export(conn, table.scope, table.row, None)
    _submit(request, background, "export", out.id)
    return JSONOut(out)


@api.post("/v3/tables/{tableId}/views/{viewId}/export", responses=ok(Export))
@viewer_may_call
async def export_view(
    request: Request,
    background: BackgroundTasks,
    conn: Conn,
    table: TableReadDep,
    view_id: ViewId,
    body: Annotated[ExportIn | None, Body()] = None,
) -> JSONOut:
    """Starts a CSV export of the rows the view shows (its filter, sort and window), its
    visible columns in its order, values as displayed."""
    out = await exports.create_export(conn, table.scope, table.row, view_id)
    _submit(request, background, "export", out.id)
    return JSONOut(out)


@api.get("/v3/exports/{exportId}", responses=ok(Export))
async def get_export(
    request: Request,
    export: ExportDep,
    secret: Secret,
    download: Annotated[bool, Query()] = False,
) -> JSONOut:
    """The export job; once FINISHED, ``downloadUrl`` (and ``url``) is a signed link to
    the CSV, valid for 24 h without a login (never past the file's deletion,
    ``CLAYSTACK_EXPORT_RETENTION_HOURS`` after it finished). Unknown or foreign ids are 404."""
    return JSONOut(
        exports.get_export(
            export, get_settings(request), secret=secret, base_url=public_base_url(request)
        )
    )


@api.get(
    "/v3/exports/{exportId}/file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The CSV file",
        }
    },
)
async def download_export(
    request: Request,
    conn: Conn,
    secret: Secret,
    export_id: Annotated[str, Path(alias="exportId")],
    expires: Annotated[str | None, Query()] = None,
    sig: Annotated[str | None, Query()] = None,
) -> Response:
    """The finished CSV behind a signed ``downloadUrl``; no login. A bad signature or an
    expired link is 403, an export that is gone 404."""
    path, name = await exports.file_for_download(
        conn, get_settings(request), secret, export_id, expires, sig
    )
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)


@api.post("/v3/imports/signed-s3-post-url", responses=ok(SignedPostOut))
async def signed_post_url(
    request: Request, body: SignedPostIn, scope: DefaultScope, secret: Secret
) -> JSONOut:
    """A signed upload form for one CSV (claystack stores it; no S3): POST every ``fields``
    entry and then ``file`` as multipart/form-data to ``url``, without a login, within an
    hour. Then start the import with the form's ``key``."""
    settings = get_settings(request)
    out = imports.signed_post(
        scope,
        body.filename,
        secret=secret,
        base_url=public_base_url(request),
        ttl_seconds=settings.upload_link_seconds,
    )
    return JSONOut(out)


@api.post(
    "/v3/imports/upload",
    status_code=204,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["key", "policy", "signature", "file"],
                        "properties": {
                            "key": {"type": "string"},
                            "policy": {"type": "string"},
                            "signature": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                }
            },
        }
    },
)
async def upload(request: Request, secret: Secret) -> Response:
    """The target of a signed upload form: checks signature and expiry, stores the file
    (streamed to disk), answers 204. No login."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("Send the upload as multipart/form-data")
    async with request.form(max_files=1, max_fields=20) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        key = imports.check_upload(secret, fields)
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidParameter("file", "Required")
        await imports.store_upload(get_settings(request), key, file.file)
    return Response(status_code=204)


@api.post("/v3/imports", responses=ok(ImportJob))
async def create_import(
    request: Request,
    background: BackgroundTasks,
    body: ImportIn,
    conn: Conn,
    actor: CurrentActor,
) -> JSONOut:
    """Starts importing an uploaded CSV into a table: ``map`` gives each field a template
    over the CSV's columns (``"{{Email}}"``). Rows go through the same checks and auto-run
    as ``POST /records`` (no actions run with ``isImportWithoutRun``). Writers only."""
    out = await imports.create_import(
        conn, actor, get_settings(request), body.model_dump(exclude_unset=False)
    )
    _submit(request, background, "import", out.id)
    return JSONOut(out)


@api.get("/v3/imports/{importId}", responses=ok(ImportJob))
async def get_import(job: ImportDep) -> JSONOut:
    """The import job: ``state.numRowsSoFar`` grows as rows are stored; rows left out
    (malformed) are listed in ``state.errors``."""
    return JSONOut(imports.import_out(job))
