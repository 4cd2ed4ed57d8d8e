"""Every answer the suite receives is checked against the wire model its route declares.

``install(app)`` (one line in conftest's ``app`` fixture) adds an ASGI middleware that buffers
each JSON answer, finds its route's declared response in the app's OpenAPI document (built from
``claystack.wire``) and validates the body with JSON Schema: a missing field, a mistyped one or
a wrong enum value fails the test that made the request. Errors (4xx/5xx) are checked against
Clay's ``{type, message}`` envelope. A 2xx JSON answer of a route that declares no model fails
too, unless the route is listed in ``UNDECLARED``. A 2xx answer of a route that declares an
object model must also have been rendered from that model (``Model.build``), not a dict: the
services answer with wire models (docs/architecture.md, "Answers").
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

import jsonschema_rs
import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claystack.server.routes import JSONOut
from claystack.wire import WireModel

# (method, path) of routes whose 2xx answer is JSON but declares no wire model. Keep it empty.
UNDECLARED: frozenset[tuple[str, str]] = frozenset()
# Routes whose success is not JSON at all (test_openapi checks every other one declares a model).
NOT_JSON = frozenset(
    {
        ("GET", "/v3/exports/{exportId}/file"),  # CSV
        ("POST", "/v3/imports/upload"),  # 204
        ("POST", "/v3/ai-generation/stream-metaprompter"),  # text/plain
    }
)

_DOCS: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
_BY_APP: WeakKeyDictionary[FastAPI, tuple[int, dict[str, Any]]] = WeakKeyDictionary()
_ROUTES: dict[int, list[Any]] = {}
_PATHS: dict[tuple[int, str, str], str] = {}
_VALIDATORS: dict[tuple[int, str, str, str], Any] = {}


class WireMismatch(AssertionError):
    """An answer that does not match the wire model its route declares."""


# What the request's JSONOut answers were rendered from (set per request by the middleware).
_RENDERED: ContextVar[list[Any] | None] = ContextVar("wirecheck_rendered", default=None)
_render = JSONOut.render


def _recording_render(self: JSONOut, content: Any) -> bytes:
    seen = _RENDERED.get()
    if seen is not None:
        seen.append(content)
    return _render(self, content)


def install(app: FastAPI) -> None:
    JSONOut.render = _recording_render  # type: ignore[method-assign]
    app.add_middleware(_WireCheck, fastapi_app=app)


def _document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once per set of routes (building it is slow), and
    found again for the same app without sorting its routes (0.3 ms an answer)."""
    known = _BY_APP.get(app)
    if known is not None and known[0] == len(app.routes):
        return known[1]
    key = tuple(
        sorted((getattr(r, "path", ""), str(getattr(r, "methods", ""))) for r in app.routes)
    )
    doc = _DOCS.get(key)
    if doc is None:
        doc = _DOCS[key] = app.openapi()
    _BY_APP[app] = len(app.routes), doc
    return doc


def _api_routes(routes: list[Any]) -> list[Any]:
    """Every route with a path regex, in the order the router tries them."""
    out: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += _api_routes(inner.routes)
        elif hasattr(route, "path_regex"):
            out.append(route)
    return out


def _route_path(app: FastAPI, method: str, path: str) -> str:
    """The path template of the route that answers ``method path`` ("" when none does);
    remembered per app, method and path (a test polls the same paths; matching tries up
    to ~210 route regexes)."""
    key = (id(app), method, path)
    known = _PATHS.get(key)
    if known is not None:
        return known
    routes = _ROUTES.get(id(app))
    if routes is None:
        routes = _ROUTES[id(app)] = _api_routes(app.routes)
    found = ""
    for route in routes:
        methods = getattr(route, "methods", None)
        if (methods is None or method in methods) and route.path_regex.match(path):
            found = str(route.path_format)
            break
    if len(_PATHS) > 50_000:
        _PATHS.clear()
    _PATHS[key] = found
    return found


_REF = "#/components/schemas/"
# Keywords after which a schema no longer means the same with "null" added to its "type".
_NOT_PLAIN = frozenset({"$ref", "anyOf", "allOf", "oneOf", "not", "const", "enum", "if"})


def _compact(schema: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``schema`` with the components it names written in place (but for a schema that names
    itself) and pydantic's ``anyOf: [{type: T, …}, {type: null}]`` as ``type: [T, null]``: the
    same answers, validated faster (no ``$ref`` to resolve, no ``anyOf`` branch to try at each
    value)."""
    if isinstance(schema, list):
        return [_compact(item, schemas, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF) :] not in seen:
        name = ref[len(_REF) :]
        target = _compact(schemas[name], schemas, (*seen, name))
        rest = {k: _compact(v, schemas, seen) for k, v in schema.items() if k != "$ref"}
        return {"allOf": [target], **rest} if rest else target
    out = {k: _compact(v, schemas, seen) for k, v in schema.items()}
    parts = out.get("anyOf")
    if isinstance(parts, list) and len(parts) == 2 and {"type": "null"} in parts:
        other = parts[0] if parts[1] == {"type": "null"} else parts[1]
        rest = {k: v for k, v in out.items() if k != "anyOf"}
        plain = isinstance(other, dict) and isinstance(other.get("type"), str)
        if plain and not other.keys() & _NOT_PLAIN and not rest.keys() & other.keys():
            return {**rest, **other, "type": [other["type"], "null"]}
    return out


def _validator(doc: dict[str, Any], path: str, method: str, status: str) -> Any:
    """The JSON Schema validator of one declared answer and the model it names (``$ref``,
    or ""); None when nothing is declared."""
    error = status.startswith(("4", "5"))
    # Every error answer has the one envelope: one validator per document.
    key = (id(doc), "", "", "error") if error else (id(doc), path, method, status)
    if key in _VALIDATORS:
        return _VALIDATORS[key]
    if error:
        schema: Any = {"$ref": _REF + "ClayError"}
    else:
        responses = doc["paths"].get(path, {}).get(method, {}).get("responses", {})
        declared = responses.get(status) or {}
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
    validator = None
    if schema is not None:
        components = doc.get("components", {})
        root = _compact(schema, components.get("schemas", {}))
        if not isinstance(root, dict):
            root = {"allOf": [root]}
        if _REF in orjson.dumps(root).decode():  # a model that names itself: refs remain
            root = {**root, "components": components}
        checker = jsonschema_rs.Draft202012Validator(root)
        validator = checker, str(schema.get("$ref", "")).rsplit("/", 1)[-1]
    _VALIDATORS[key] = validator
    return validator


def check(
    app: FastAPI, scope: Scope, status: int, body: bytes, rendered: list[Any] | None = None
) -> None:
    """Validates one JSON answer; raises :class:`WireMismatch` on a mismatch."""
    method = scope["method"].lower()
    # The app's middleware strips a trailing slash before routing.
    path = _route_path(app, scope["method"], scope["path"].rstrip("/") or "/")
    doc = _document(app)
    if path and path not in doc["paths"] and status < 400:
        return  # not an API route (/openapi.json, the docs pages): the document leaves it out
    data = orjson.loads(body)
    declared = _validator(doc, path, method, str(status))
    if declared is None:
        if (method.upper(), path) in UNDECLARED:
            return
        raise WireMismatch(f"{method.upper()} {path} answered {status} JSON but declares no model")
    validator, model = declared
    if rendered and status < 300 and model:
        if not isinstance(rendered[-1], WireModel):
            raise WireMismatch(
                f"{method.upper()} {path} answered a {type(rendered[-1]).__name__}, not the wire "
                f"model it declares ({model}.build)"
            )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.instance_path)))
    if errors:
        lines = [f"/{'/'.join(map(str, e.instance_path))}: {e.message[:300]}" for e in errors[:5]]
        raise WireMismatch(
            f"{method.upper()} {path} answered {status} off its wire model:\n" + "\n".join(lines)
        )


class _WireCheck:
    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        state: dict[str, Any] = {"json": False, "status": 0}
        rendered: list[Any] = []
        _RENDERED.set(rendered)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                ctype = headers.get(b"content-type", b"").split(b";")[0].strip()
                state["json"] = ctype == b"application/json"
                state["status"] = message["status"]
            if not state["json"]:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                body = b"".join(
                    m.get("body", b"") for m in held if m["type"] != "http.response.start"
                )
                if body and scope.get("method") != "HEAD":
                    check(self.fastapi_app, scope, state["status"], body, rendered)
                for m in held:
                    await send(m)
                held.clear()

        await self.app(scope, receive, capture)
