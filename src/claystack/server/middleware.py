"""ASGI middleware for Clay's transport quirks: trailing slashes, legacy form-encoded JSON
bodies, and the request-size limit; and ``parse_json``, the one way a request body is read."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BadRequest, ClayError, Forbidden, InvalidParameter, PayloadTooLarge

_JSON_TYPES = (b"application/json", b"application/merge-patch+json")
UPLOAD_PATHS = frozenset({"/v3/imports/upload"})


def parse_json(raw: bytes | str, max_depth: int) -> Any:
    """A request body's JSON, nested at most ``max_depth`` deep. orjson reads 1,024 levels
    but writes only 255: a deeper value would be stored and then fail every read."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("Malformed JSON body") from None
    return check_depth(value, raw, max_depth)


def check_depth(value: Any, raw: bytes | str, max_depth: int) -> Any:
    """``value`` (parsed from ``raw``) if it nests at most ``max_depth`` deep, else a 400."""
    # Fewer brackets than the limit cannot nest deeper than it: most bodies stop here.
    text = raw.encode() if isinstance(raw, str) else raw
    if text.count(b"{") + text.count(b"[") > max_depth and _deeper_than(value, max_depth):
        raise BadRequest(f"Malformed JSON body: nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if type(node) is dict:
            node = node.values()
        elif type(node) is not list:
            continue
        if depth > limit:
            return True
        for child in node:
            if type(child) is dict or type(child) is list:
                push((child, depth + 1))
    return False


def query_has_empty_name(query: bytes) -> bool:
    if not query.startswith(b"=") and b"&=" not in query and b";=" not in query:
        return False
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return any(not name for name, _ in pairs)


# Where the middleware leaves ``(body, value)`` for a body it had to parse to tell JSON
# from a form: ``parse_json_body`` takes the value from there instead of parsing again.
PARSED_BODY = "claystack.parsed_body"


def legacy_body(raw: bytes) -> bytes:
    """The JSON inside a body sent as ``encodeURIComponent(JSON.stringify(obj)) + "="``,
    or a JSON body sent with a form or text content type (curl's ``-d`` default)."""
    return _legacy_json(raw)[0]


def _legacy_json(raw: bytes) -> tuple[bytes, Any]:
    """``legacy_body``, and the parsed value when the body was JSON as sent (else None)."""
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Malformed request body: expected JSON") from None
    if len(pairs) != 1:
        raise BadRequest("Malformed request body: expected one form key holding JSON")
    key, value = pairs[0]
    text = key + ("=" + value if value else "")
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("Malformed request body: the form key is not JSON") from None
    return text.encode(), None


def parse_json_body(scope: Scope, raw: bytes, max_depth: int) -> Any:
    """``parse_json`` of a request's body, reusing the value the middleware parsed."""
    parsed = scope.get(PARSED_BODY)
    if parsed is not None and parsed[0] == raw and parsed[1] is not None:
        return check_depth(parsed[1], raw, max_depth)
    return parse_json(raw, max_depth)


class TransportMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_upload_bytes: int = 0,
        max_json_depth: int = 64,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            scope["raw_path"] = scope["path"].encode()
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # Signed uploads (multipart files) stream to disk under their own, larger limit.
        upload = ctype == b"multipart/form-data" and scope["path"] in UPLOAD_PATHS
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        try:
            if query_has_empty_name(scope.get("query_string") or b""):
                raise InvalidParameter(None, "a query parameter has no name")
            if length is not None and int(length) > limit:
                raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        except ValueError:
            await BadRequest("Invalid Content-Length").to_response()(scope, receive, send)
            return
        except ClayError as exc:
            await exc.to_response()(scope, receive, send)
            return
        is_json = ctype in _JSON_TYPES
        if upload:
            await self.app(scope, self._limited(receive, limit), send)
            return
        if scope["method"] in ("GET", "HEAD") or (is_json and length is not None):
            await self.app(scope, self._limited(receive), send)
            return
        # Bodies without a Content-Length are read here: a limit hit while FastAPI reads
        # the body would become its generic 400 instead of a 413.
        try:
            raw = await self._read_all(receive)
            body, value = _legacy_json(raw) if raw.strip() and not is_json else (raw, None)
        except ClayError as exc:
            await exc.to_response()(scope, receive, send)
            return
        new_headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")
        ]
        if body:
            new_headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope = dict(scope)
        scope["headers"] = new_headers
        if value is not None:
            scope[PARSED_BODY] = (body, value)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_all(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(f"Request body exceeds {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    def _limited(self, receive: Receive, limit: int = 0) -> Receive:
        size = 0
        limit = limit or self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal size
            message: Message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
            return message

        return wrapped


_UNSAFE_SITES = (b"cross-site", b"same-site")


def _origin_of(url: bytes) -> bytes:
    scheme, sep, rest = url.partition(b"://")
    return scheme.lower() + sep + rest.split(b"/", 1)[0].lower() if sep else b""


class CsrfMiddleware:
    """Refuses state-changing requests authenticated by the session cookie that a browser
    sent from another site (its ``Sec-Fetch-Site``, ``Origin`` or ``Referer`` says so).

    Scripts send the cookie without these headers and are unaffected; bearer-token requests
    and webhook ingestion carry no ambient credential and are never checked. The cookie is
    also ``SameSite=Lax``, so modern browsers do not attach it cross-site at all.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in ("GET", "HEAD", "OPTIONS")
            and self._foreign(scope)
        ):
            await Forbidden("Cross-site request refused").to_response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _foreign(scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        if b"claysession=" not in headers.get(b"cookie", b""):
            return False
        if headers.get(b"authorization", b"")[:7].lower() == b"bearer ":
            return False
        if scope["path"].startswith("/v3/sources/webhook/"):
            return False
        if headers.get(b"sec-fetch-site", b"").lower() in _UNSAFE_SITES:
            return True
        source = headers.get(b"origin") or headers.get(b"referer")
        if not source:
            return False
        host = headers.get(b"host", b"").lower()
        scheme = scope.get("scheme", "http").encode()
        forwarded = headers.get(b"x-forwarded-proto")
        schemes = {scheme, forwarded.lower()} if forwarded else {scheme}
        return _origin_of(source) not in {s + b"://" + host for s in schemes}
