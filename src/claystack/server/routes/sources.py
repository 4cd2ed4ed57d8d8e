from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import orjson
from fastapi import Body, Path, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...wire import (
    ResponseTypeIn,
    ResponseTypeOut,
    Source,
    SourceDeleteIn,
    SourceEnvelope,
    SourceIn,
    SourcePatch,
    SourceRuns,
    SourceTokenOut,
    Success,
    WebhookAccepted,
)
from ..deps import (
    Conn,
    CurrentActor,
    Secret,
    SourceDep,
    TableDep,
    Work,
    WorkspaceReadScope,
    app_state,
    public_base_url,
)
from ..errors import NotFound, PayloadTooLarge, as_clay_error
from ..services import sources, subscriptions, tables, workspaces
from ..services.webhooks import WebhookIngest
from ..state import state_of
from . import JSONOut, ok, router

api = router("sources")
log = logging.getLogger("claystack")


WEBHOOK_PREFIX = "/v3/sources/webhook/"


async def _ingest(
    ingest: WebhookIngest, hook: str, headers: Mapping[str, str], chunks: AsyncIterator[bytes]
) -> Response:
    found = await ingest.hook(hook)
    ingest.check_length(headers.get("content-length"))
    limit = ingest.settings.webhook_max_payload_bytes
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Webhook payloads are limited to {limit} bytes")
        parts.append(chunk)
    found = await ingest.authorize(found, hook, headers.get("x-clay-webhook-auth"))
    payload = ingest.parse(b"".join(parts), headers.get("content-type"))
    await ingest.check_rate(found)
    record_id, replayed = await ingest.submit(found, payload, headers.get("idempotency-key"))
    replay = {"Idempotent-Replayed": "true"} if replayed else None
    if found.plain_text:
        return Response(b"OK", media_type="text/plain", headers=replay)
    return Response(
        orjson.dumps({"success": True, "recordId": record_id}),
        media_type="application/json",
        headers=replay,
    )


@api.post(
    "/v3/sources/webhook/{hook}",
    responses=ok(WebhookAccepted),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": ["object", "array"]}}},
        }
    },
)
async def ingest(request: Request, hook: Annotated[str, Path(max_length=300)]) -> Response:
    """Public ingestion URL (``{slug}-{uuid}``, no login): one JSON object becomes one row,
    kept whole in the source field (an array is kept as one row too). Send the source's token
    in ``x-clay-webhook-auth`` if it has one. An ``Idempotency-Key`` header makes a retry
    answer the first row instead of adding another. Answers once the row is committed.

    Requests normally reach ``fast_ingest`` before FastAPI routing; this route documents
    the URL and serves the same way."""
    return await _ingest(app_state(request).webhooks, hook, request.headers, request.stream())


async def fast_ingest(app: Any, scope: Scope, receive: Receive, send: Send) -> bool:
    """Serves ``POST /v3/sources/webhook/{hook}`` straight from ASGI: the busiest public
    URL skips routing, dependencies and middleware. False if ``scope`` is something else."""
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith(WEBHOOK_PREFIX):
        return False
    hook = path[len(WEBHOOK_PREFIX) :].rstrip("/")
    if not hook or "/" in hook:
        return False
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            yield message.get("body", b"")
            if not message.get("more_body"):
                return

    try:
        response = await _ingest(state_of(app).webhooks, hook, headers, chunks())
    except Exception as exc:  # noqa: BLE001 - every failure is answered, never raised
        response = as_clay_error(exc).to_response()
    await response(scope, receive, send)
    return True


@api.get("/v3/tables/{tableId}/sources", responses=ok(list[Source]))
async def list_table_sources(request: Request, conn: Conn, table: TableDep) -> JSONOut:
    """The table's sources, as a JSON array."""
    return JSONOut(await sources.list_sources(conn, table.id, public_base_url(request)))


@api.get("/v3/sources", responses=ok(list[Source]))
async def list_sources(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    table_id: Annotated[str | None, Query(alias="tableId")] = None,
    workspace_id: Annotated[str | None, Query(alias="workspaceId")] = None,
) -> JSONOut:
    """The sources of the table ``tableId``, as a JSON array; without ``tableId``, every
    source of ``workspaceId`` (else the caller's default workspace)."""
    if table_id is None:
        scope = await workspaces.default_workspace(conn, actor, workspace_id)
        out = await sources.workspace_sources(conn, scope.workspace_id, public_base_url(request))
        return JSONOut(out)
    table = await tables.resolve_table(conn, actor, table_id)
    return JSONOut(await sources.list_sources(conn, table.id, public_base_url(request)))


@api.get("/v3/workspaces/{workspaceId}/sources", responses=ok(list[Source]))
async def list_workspace_sources(
    request: Request, conn: Conn, scope: WorkspaceReadScope
) -> JSONOut:
    """Every source of the workspace, as a JSON array (subscribed or buffering)."""
    return JSONOut(
        await sources.workspace_sources(conn, scope.workspace_id, public_base_url(request))
    )


@api.get("/v3/sources/{sourceId}", responses=ok(Source))
async def get_source(request: Request, source: SourceDep) -> JSONOut:
    """One source, with its ingestion ``url``."""
    return JSONOut(sources.source_out(source.row, public_base_url(request)))


DeleteRecordsQuery = Annotated[bool | None, Query(alias="deleteRecords")]


def _wants_rows(body: SourceDeleteIn | None, query: bool | None) -> bool:
    return bool(query) or bool(body and body.deleteRecords)


@api.delete("/v3/sources/{sourceId}", responses=ok(Success))
async def delete_source(
    uow: Work,
    source: SourceDep,
    body: Annotated[SourceDeleteIn | None, Body()] = None,
    delete_records: DeleteRecordsQuery = None,
) -> JSONOut:
    """Deletes a source: its URL answers 404 from now on. ``deleteRecords: true`` (in the
    body or the query) also deletes the rows it brought in."""
    await sources.delete_source(uow, source, delete_records=_wants_rows(body, delete_records))
    return JSONOut(Success.build(success=True))


@api.delete("/v3/tables/{tableId}/sources/{sourceId}", responses=ok(Success))
async def delete_table_source(
    uow: Work,
    table: TableDep,
    source: SourceDep,
    body: Annotated[SourceDeleteIn | None, Body()] = None,
    delete_records: DeleteRecordsQuery = None,
) -> JSONOut:
    """Same as ``DELETE /v3/sources/{sourceId}``, for a source of this table."""
    if source.row.table_id != table.id:
        raise NotFound("Source not found")
    await sources.delete_source(uow, source, delete_records=_wants_rows(body, delete_records))
    return JSONOut(Success.build(success=True))


@api.post("/v3/sources/{sourceId}/auth-token", responses=ok(Source))
async def new_auth_token(request: Request, uow: Work, source: SourceDep, secret: Secret) -> JSONOut:
    """Gives the source a new auth token, replacing any old one. The answer is the source
    with ``authToken``: the only time the token is shown."""
    out = await sources.set_auth_token(
        uow, source, secret=secret, base_url=public_base_url(request)
    )
    return JSONOut(out)


@api.delete("/v3/sources/{sourceId}/auth-token", responses=ok(Source))
async def remove_auth_token(
    request: Request, uow: Work, source: SourceDep, secret: Secret
) -> JSONOut:
    """Removes the source's auth token: its URL then takes rows without one."""
    out = await sources.set_auth_token(
        uow, source, secret=secret, base_url=public_base_url(request), remove=True
    )
    return JSONOut(out)


# -- spec part 2 §8 -------------------------------------------------------------------------


@api.post("/v3/sources", responses=ok(SourceEnvelope))
async def create_source(
    request: Request, conn: Conn, actor: CurrentActor, secret: Secret, body: SourceIn
) -> JSONOut:
    """A source with no subscription (``sourceSubscriptions: []``): what its URL receives
    is buffered (``numSourceRecords``) until a field ``{type:"source", typeSettings:
    {sourceIds:[it]}}`` subscribes it, which turns the buffer into rows. People/company
    types need Clay's data: 400 ``Invalid subscriptions``."""
    out = await subscriptions.create_source(
        conn, actor, body.model_dump(), secret=secret, base_url=public_base_url(request)
    )
    return JSONOut(subscriptions.with_envelope(out))


@api.patch("/v3/sources/{sourceId}", responses=ok(SourceEnvelope))
async def update_source(
    request: Request, conn: Conn, source: SourceDep, body: SourcePatch
) -> JSONOut:
    """Renames a source."""
    out = await subscriptions.rename(conn, source, body.name, base_url=public_base_url(request))
    return JSONOut(subscriptions.with_envelope(out))


@api.get("/v3/sources/{sourceId}/runs", responses=ok(SourceRuns))
async def source_runs(
    conn: Conn, source: SourceDep, limit: Annotated[str | None, Query()] = None
) -> JSONOut:
    """What the source has brought in (``limit`` is required, as on Clay)."""
    return JSONOut(await subscriptions.source_runs(conn, source, limit))


@api.patch("/v3/sources/webhook/response-type/{sourceId}", responses=ok(ResponseTypeOut))
async def set_response_type(uow: Work, source: SourceDep, body: ResponseTypeIn) -> JSONOut:
    """How the webhook URL answers: ``JSON`` or ``PLAIN_TEXT``."""
    out = await subscriptions.set_response_type(uow, source, body.responseType)
    return JSONOut(out)


@api.post("/v3/sources/webhook/auth-token/{sourceId}", responses=ok(SourceTokenOut))
async def webhook_auth_token(
    request: Request, uow: Work, source: SourceDep, secret: Secret
) -> JSONOut:
    """A new auth token for the webhook, replacing any old one: ``{token, headerName}``,
    the only time it is shown."""
    out = await subscriptions.new_auth_token(
        uow, source, secret=secret, base_url=public_base_url(request)
    )
    return JSONOut(out)
