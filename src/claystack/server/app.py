"""``create_app(settings)``: routers, middleware and the one error handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import lifecycle, security
from .config import Settings
from .errors import BadRequest, ClayError, Conflict, MethodNotAllowed, NoMatchingURL
from .middleware import TransportMiddleware
from .routes import (
    RAW_BODY_MODELS,
    auth,
    credits,
    emulator,
    integrations,
    jobs,
    longtail,
    records,
    runs,
    sources,
    tables,
    workspaces,
)
from .security import AuthCache, LoginThrottle
from .services.webhooks import WebhookIngest
from .storage.engine import Database

log = logging.getLogger("claystack")


def _error(exc: ClayError) -> Response:
    return Response(
        orjson.dumps(exc.body()),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/json",
    )


def _validation_message(errors: list[Any]) -> str:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return "Malformed JSON body"
    loc = [str(p) for p in first.get("loc", ())]
    # Only the first element names where the value came from; a field may be called "query".
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(loc) or "body"
    msg = "Required" if first.get("type") == "missing" else first.get("msg", "Invalid value")
    return f'Invalid request parameter(s): Field "{field}" - {msg}'


class _App(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await sources.fast_ingest(self, scope, receive, send):
            return
        await super().__call__(scope, receive, send)


_UNSTORABLE = "Invalid request parameter(s): a value is out of range or contains a NUL character"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    security.use_password_cost(settings.password_hash_cost)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await lifecycle.start(app)
        try:
            yield
        finally:
            await lifecycle.stop(app)
            await app.state.db.dispose()

    app = _App(
        title="claystack",
        version=lifecycle.version(),
        summary="A self-hostable server speaking Clay's v3 HTTP API",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.db = Database(settings.resolved_database_url, schema=settings.database_schema)
    app.state.auth_cache = AuthCache(settings.auth_cache_seconds)
    app.state.webhooks = WebhookIngest(app.state.db, settings)
    app.state.login_throttle = LoginThrottle(
        settings.login_max_failures, settings.login_window_seconds
    )

    # Starlette matches routes in order; the hottest paths (records, count) go first.
    for module in (
        records,
        tables,
        runs,
        sources,
        workspaces,
        auth,
        integrations,
        credits,
        jobs,
        longtail,
        emulator,
    ):
        app.include_router(module.api)

    @app.exception_handler(ClayError)
    async def clay_error(_: Request, exc: ClayError) -> Response:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return _error(BadRequest(_validation_message(list(exc.errors()))))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return _error(NoMatchingURL())
        if exc.status_code == 405:
            return _error(MethodNotAllowed("Method not allowed on this URL"))
        err = ClayError(str(exc.detail))
        err.status_code = exc.status_code
        return _error(err)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> Response:
        log.info("write conflict: %s", exc.orig)
        return _error(Conflict("The change conflicts with another write; nothing was saved"))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        # SQLSTATE class 22: PostgreSQL refused a value (NUL character, number out of range).
        if str(getattr(exc.orig, "sqlstate", "") or "").startswith("22"):
            log.info("value refused by the database: %s", exc.orig)
            return _error(BadRequest(_UNSTORABLE))
        return await internal_error(request, exc)

    @app.exception_handler(OverflowError)
    async def overflow_error(_: Request, exc: OverflowError) -> Response:
        # SQLite's binding of an integer beyond 64 bits.
        return _error(BadRequest(_UNSTORABLE))

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        body = {"type": "InternalServerError", "message": "Internal server error"}
        return Response(orjson.dumps(body), status_code=500, media_type="application/json")

    app.add_middleware(
        TransportMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.import_max_file_bytes,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["type", "message"],
    "properties": {
        "type": {"type": "string", "example": "NotFound"},
        "message": {"type": "string", "example": "Table not found"},
        "details": {"type": "object"},
    },
}
_ERRORS = {
    "400": "Invalid request (BadRequest)",
    "401": "Not logged in (Unauthorized)",
    "404": "Unknown or foreign id (NotFound)",
    "429": "Rate limited (TooManyRequests, with Retry-After)",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with Clay's error envelope in place of FastAPI's 422."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ClayError"] = _ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in RAW_BODY_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClayError"}}}}
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, text in _ERRORS.items():
                if status == "401" and path.startswith(("/_claystack", "/v3/auth/login")):
                    continue
                responses.setdefault(status, {"description": text, **ref})
    app.openapi_schema = doc
    return doc
