"""ASGI middleware for Clay's transport quirks: trailing slashes, legacy form-encoded JSON
bodies, and the request-size limit."""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BadRequest, ClayError, PayloadTooLarge

_JSON_TYPES = (b"application/json", b"application/merge-patch+json")
UPLOAD_PATHS = frozenset({"/v3/imports/upload"})


async def _send_error(send: Send, error: ClayError) -> None:
    body = orjson.dumps(error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    for k, v in (error.headers or {}).items():
        headers.append((k.lower().encode(), v.encode()))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def legacy_body(raw: bytes) -> bytes:
    """The JSON inside a body sent as ``encodeURIComponent(JSON.stringify(obj)) + "="``,
    or a JSON body sent with a form or text content type (curl's ``-d`` default)."""
    try:
        orjson.loads(raw)
        return raw
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
    return text.encode()


class TransportMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes

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
            if length is not None and int(length) > limit:
                raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        except ValueError:
            await _send_error(send, BadRequest("Invalid Content-Length"))
            return
        except PayloadTooLarge as exc:
            await _send_error(send, exc)
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
            body = legacy_body(raw) if raw.strip() and not is_json else raw
        except ClayError as exc:
            await _send_error(send, exc)
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
