"""``create_app(settings)``: routers, middleware and the one error handler."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from . import gctune, lifecycle
from .config import Settings
from .errors import (
    BadRequest,
    ClayError,
    InvalidParameter,
    MethodNotAllowed,
    NoMatchingURL,
    as_clay_error,
)
from .middleware import CsrfMiddleware, TransportMiddleware
from .routes import (
    RAW_BODY_MODELS,
    ai,
    auth,
    credits,
    emulator,
    fields,
    functions,
    integrations,
    jobs,
    longtail,
    records,
    runs,
    shared_tables,
    sources,
    tables,
    ui,
    views,
    workspace_aliases,
    workspaces,
)
from .security import AuthCache, parse_networks
from .services.webhooks import WebhookIngest
from .state import AppState, state_of
from .storage.engine import Database


def _validation_error(errors: list[Any]) -> ClayError:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return BadRequest("Malformed JSON body")
    loc = [str(p) for p in first.get("loc", ())]
    # Only the first element names where the value came from; a field may be called "query".
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(loc) or "body"
    msg = "Required" if first.get("type") == "missing" else first.get("msg", "Invalid value")
    return InvalidParameter(field, msg)


def _http_error(app: FastAPI, scope: Scope, exc: HTTPException) -> ClayError:
    if exc.status_code == 404:
        return NoMatchingURL()
    if exc.status_code == 405:
        # Starlette names only the methods of the first route matching the path.
        allowed: set[str] = set()
        for route in _api_routes(app.router.routes):
            if route.matches(scope)[0] != Match.NONE:
                allowed |= route.methods or set()
        refused = MethodNotAllowed("Method not allowed on this URL")
        refused.headers = {"Allow": ", ".join(sorted(allowed))}
        return refused
    err = ClayError(str(exc.detail))
    err.status_code = exc.status_code
    err.headers = dict(exc.headers or {}) or None
    return err


# Starlette matches routes in order; the hottest paths (records, count) go first.
_MODULES = (
    records,
    tables,
    views,
    fields,
    runs,
    sources,
    functions,
    shared_tables,
    workspaces,
    auth,
    integrations,
    credits,
    jobs,
    longtail,
    ai,
    emulator,
    ui,
)


@functools.cache
def _workspace_aliases() -> APIRouter:
    """Built once per process, like the module routers it copies (their routes are fixed at
    import): every app includes the same router, and building its routes costs ~0.4 s."""
    return workspace_aliases(r for m in _MODULES for r in m.api.routes)


class _App(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await sources.fast_ingest(self, scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await lifecycle.start(app)
        try:
            yield
        finally:
            await lifecycle.stop(app)
            await state_of(app).db.dispose()

    app = _App(
        title="claystack",
        version=lifecycle.version(),
        summary="A self-hostable server speaking Clay's v3 HTTP API",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    db = Database.from_settings(settings)
    webhooks = WebhookIngest(db, settings)
    db.listeners.source_changed = webhooks.forget
    app.state = AppState(  # type: ignore[assignment]
        settings=settings,
        db=db,
        auth_cache=AuthCache(settings.auth_cache_seconds),
        webhooks=webhooks,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )

    # The modules' routes go on the app's own router, not as included routers: FastAPI
    # matches an included router as a nested branch (twice per request, and builds each
    # branch's route contexts on an app's first request), which cost a cheap request
    # (runstatus) an eighth of its instructions and each new app ~0.8 s.
    for module in _MODULES:
        app.router.routes.extend(module.api.routes)
    # After every module: a specific route such as ``…/fields/runstatus`` wins over an alias.
    app.router.routes.extend(_workspace_aliases().routes)
    app.router.routes.extend(ui.pages.routes)
    app.mount("/assets", ui.assets(), name="assets")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return _validation_error(list(exc.errors())).to_response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _http_error(app, request.scope, exc).to_response()

    async def domain_error(_: Request, exc: Exception) -> Response:
        return as_clay_error(exc).to_response()

    # Exception itself is the catch-all (Starlette runs it outermost, then re-raises the
    # error for the server's log); the others are answered without that.
    for kind in (ClayError, DBAPIError, OverflowError, orjson.JSONEncodeError, Exception):
        app.add_exception_handler(kind, domain_error)

    app.add_middleware(
        TransportMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.import_max_file_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.add_middleware(CsrfMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """``create_app`` for a process that will serve for long (``claystack serve`` and each of
    its worker processes): the garbage collector is tuned once the app is built."""
    app = create_app(settings)
    gctune.tune()
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
    "400": "Invalid request, or a number out of range (BadRequest)",
    "401": "Not logged in (Unauthorized)",
    "403": "Your role in the workspace is read-only (Forbidden)",
    "404": "Unknown or foreign id (NotFound)",
    "409": "A name or record id already taken, or a concurrent write (Conflict)",
    "413": "Body, batch or cell over its limit (PayloadTooLarge)",
    "415": "Body of an unsupported media type (UnsupportedMediaType)",
    "429": "Rate limited (TooManyRequests, with Retry-After)",
    "503": "Shutting down or busy; retry (ServiceUnavailable, with Retry-After)",
}
_PUBLIC = ("/_claystack", "/v3/auth/logout")
_WEBHOOK = "/v3/sources/webhook/"


def _statuses(path: str, method: str, operation: dict[str, Any], read_only: bool) -> list[str]:
    """The error statuses an operation can answer."""
    out = ["400", "404", "429"]
    if not path.startswith(_PUBLIC):
        out.append("401")
    writes = method != "get" and not read_only
    if writes and not path.startswith((*_PUBLIC, "/v3/auth/", "/v3/me", _WEBHOOK)):
        out.append("403")
    if writes and not path.startswith(_PUBLIC):
        out.append("409")
    if "requestBody" in operation or method in ("post", "patch", "put", "delete"):
        out.append("413")
    if path.startswith(_WEBHOOK):
        out += ["415", "503"]
    return out


def _api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """Every APIRoute, looking inside included routers."""
    out: list[APIRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += _api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            out.append(route)
    return out


# Each set of routes' document, built once per process (building one takes ~0.4 s of CPU):
# keyed by the routes' paths, methods and endpoint functions, so an app whose routes differ
# (another endpoint, a route more or less) gets its own. Callers must not change it.
_DOCUMENTS: dict[tuple[Any, ...], dict[str, Any]] = {}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with Clay's error envelope in place of FastAPI's 422."""
    if app.openapi_schema:
        return app.openapi_schema
    routes = tuple(
        (route.path, tuple(sorted(route.methods or ())), route.endpoint, route.include_in_schema)
        for route in _api_routes(app.routes)
    )
    key = (app.title, app.version, app.summary, routes)
    doc = _DOCUMENTS.get(key)
    if doc is None:
        doc = _DOCUMENTS[key] = _build_openapi(app)
    app.openapi_schema = doc
    return doc


def _build_openapi(app: FastAPI) -> dict[str, Any]:
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
    read_only = {
        (route.path_format, method.lower())
        for route in _api_routes(app.routes)
        if getattr(route.endpoint, "claystack_read_only", False)
        or getattr(route.endpoint, "claystack_viewer_ok", False)
        for method in route.methods or ()
    }
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _statuses(path, method, operation, (path, method) in read_only):
                responses.setdefault(status, {"description": _ERRORS[status], **ref})
    return doc
