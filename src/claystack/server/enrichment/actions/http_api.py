"""``http-api-v2``: one HTTP request per cell, built from the (already templated) inputs.

Retries happen in the engine, not here: a transient failure (429, 5xx, network error,
timeout) raises a retryable ``ActionError`` carrying ``Retry-After`` and ``maxRetries``, so
no worker waits through a backoff and a retry survives a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from yarl import URL

from ....integrations import Action, ActionError, ActionResult, Integration, RunContext
from ....wire.cells import CellStatus
from .. import bindings
from ..formulas import is_blank
from . import _calls, _http

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 300_000
DEFAULT_MAX_RETRIES = 3
MAX_REDIRECTS = 5
MAX_RESPONSE_BYTES = 10 * 1024 * 1024

_PAIRS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        {"type": "array", "items": {"type": ["array", "object"]}},
    ]
}

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "method": {"type": "string", "enum": list(METHODS), "default": "GET"},
        "url": {"type": "string", "format": "uri"},
        "queryString": {
            **_PAIRS_SCHEMA,
            "description": "Query parameters: an object, [[name, value], …] or [{key, value}, …]",
        },
        "headers": {**_PAIRS_SCHEMA, "description": "Request headers, same shapes as queryString"},
        "body": {"description": "JSON (object, array, scalar) or a string sent as is"},
        "fieldPaths": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Dotted paths (a.b.0.c or a.b[0].c) picked from the JSON response",
        },
        "removeNull": {"type": "boolean", "default": False},
        "responseTimeout": {"type": "integer", "minimum": 1, "default": DEFAULT_TIMEOUT_MS},
        "shouldRetry": {"type": "boolean", "default": True},
        "maxRetries": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_RETRIES},
        "retryOptions|maxRetries": {"type": "integer", "description": "Clay's maxRetries"},
        "followRedirects": {"type": "boolean", "default": True, "description": "Accepted"},
        "returnResponseMetadata": {"type": "boolean", "description": "Accepted"},
    },
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "description": (
        "value: the picked value (one fieldPath), an object of path → value (several), or the "
        "response (JSON, else text); fullValue: the whole response"
    ),
}


def _pairs(raw: Any, name: str) -> list[tuple[str, str]]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if name == "queryString" and "=" in raw:
                return parse_qsl(raw.lstrip("?"), keep_blank_values=True)
            raise ActionError(
                f"{name} must be an object or a list of pairs", CellStatus.ERROR_INVALID_INPUT
            ) from None
    items: list[Any]
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = raw
    else:
        raise ActionError(
            f"{name} must be an object or a list of pairs", CellStatus.ERROR_INVALID_INPUT
        )
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, Mapping):
            key = item.get("key", item.get("name"))
            value = item.get("value")
        elif isinstance(item, list | tuple) and len(item) == 2:
            key, value = item
        else:
            raise ActionError(f"{name}: {item!r} is not a pair", CellStatus.ERROR_INVALID_INPUT)
        if key is None or key == "":
            raise ActionError(f"{name}: a pair has no name", CellStatus.ERROR_INVALID_INPUT)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, str):
            value = value if isinstance(value, int | float) else orjson.dumps(value).decode()
        out.append((str(key), str(value)))
    return out


_PATH_PART = re.compile(r"[^.\[\]]+")


def pick(data: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c`` or ``a.b[0].c``); None when absent."""
    for part in _PATH_PART.findall(path):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list):
            try:
                data = data[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return data


def remove_null(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: remove_null(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [remove_null(v) for v in data if v is not None]
    return data


def _int(inputs: Mapping[str, Any], name: str, default: int) -> int:
    raw = inputs.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ActionError(f"{name} must be an integer", CellStatus.ERROR_INVALID_INPUT) from None


def _bool(inputs: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = inputs.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "1", "yes", "on")
    return bool(raw)


def _request(inputs: Mapping[str, Any]) -> tuple[str, URL, dict[str, str], bytes | None]:
    method = str(inputs.get("method") or "GET").upper()
    if method not in METHODS:
        raise ActionError(f"Unsupported method {method}", CellStatus.ERROR_INVALID_INPUT)
    raw_url = str(inputs.get("url") or "").strip()
    if not raw_url:
        raise ActionError("url is required", CellStatus.ERROR_INVALID_INPUT)
    try:
        url = URL(raw_url)
        _http.check_url(url)
        params = _pairs(inputs.get("queryString"), "queryString")
        if params:
            url = _http.with_params(url, params)
    except _http.RefusedTarget as exc:
        raise ActionError(str(exc), CellStatus.ERROR_INVALID_INPUT) from None
    except (ValueError, TypeError) as exc:
        raise ActionError(f"Invalid url: {exc}", CellStatus.ERROR_INVALID_INPUT) from None
    headers = dict(_pairs(inputs.get("headers"), "headers"))
    has_type = any(k.lower() == "content-type" for k in headers)
    body = inputs.get("body")
    content: bytes | None = None
    if body is None or body == "" or method in ("GET", "HEAD"):
        pass
    elif isinstance(body, str | bytes):
        content = body.encode() if isinstance(body, str) else body
        if not has_type and _looks_like_json(body):
            headers["Content-Type"] = "application/json"
    else:
        content = orjson.dumps(body)
        if not has_type:
            headers["Content-Type"] = "application/json"
    return method, url, headers, content


def _looks_like_json(body: str | bytes) -> bool:
    stripped = body.strip()
    if not stripped or stripped[:1] not in ("{", "[", b"{", b"["):
        return False
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return True


def _aliases(inputs: dict[str, Any]) -> dict[str, Any]:
    """Clay's names for the same inputs (spec part 2 §4.3)."""
    inputs = bindings.nest(inputs)
    retry = inputs.pop("retryOptions", None)
    if (
        isinstance(retry, dict)
        and "maxRetries" not in inputs
        and retry.get("maxRetries") is not None
    ):
        inputs["maxRetries"] = retry["maxRetries"]
    return inputs


def _field_paths(inputs: Mapping[str, Any]) -> list[str]:
    """``fieldPaths``: a list of strings, a JSON array of them, or one path."""
    paths = inputs.get("fieldPaths") or []
    if isinstance(paths, str):
        try:
            paths = orjson.loads(paths) if paths.lstrip().startswith("[") else [paths]
        except orjson.JSONDecodeError:
            paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ActionError("fieldPaths must be a list of strings", CellStatus.ERROR_INVALID_INPUT)
    return [p.strip() for p in paths if p.strip()]


async def run(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    inputs = _aliases(inputs)
    method, url, headers, payload = _request(inputs)
    timeout_ms = min(max(_int(inputs, "responseTimeout", DEFAULT_TIMEOUT_MS), 1), MAX_TIMEOUT_MS)
    should_retry = _bool(inputs, "shouldRetry", True)
    max_retries = max(_int(inputs, "maxRetries", DEFAULT_MAX_RETRIES), 0)

    def transient(
        message: str, status: str = CellStatus.ERROR, after: float | None = None
    ) -> ActionError:
        retryable = should_retry and max_retries > 0
        return ActionError(message, status, retryable, after, max_retries)

    paths = _field_paths(inputs)
    response = await _calls.send(
        method,
        url,
        ctx.http_policy or _http.Policy(),
        seconds=timeout_ms / 1000,
        transient=transient,
        headers=headers,
        content=payload,
        max_redirects=MAX_REDIRECTS,
        max_bytes=MAX_RESPONSE_BYTES,
    )
    _calls.check_status(response, transient)
    content = response.content

    data: Any
    try:
        data = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        if paths:
            raise ActionError(
                f"Response is not valid JSON: {_http.short_text(content, 120)}", "ERROR"
            ) from None
        try:
            data = content.decode(response.encoding or "utf-8", errors="replace")
        except LookupError:  # an unknown charset
            data = content.decode("utf-8", errors="replace")
    if _bool(inputs, "removeNull", False):
        data = remove_null(data)
    value: Any
    if not paths:
        value = data
    elif len(paths) == 1:
        value = pick(data, paths[0])
    else:
        value = {path: pick(data, path) for path in paths}
    has_data = not is_blank(value) and not (
        len(paths) > 1 and all(is_blank(v) for v in value.values())
    )
    return ActionResult(value=value, full_value=data, has_data=has_data, credits=0)


integration = Integration(
    key="http-api-v2",
    display_name="HTTP API",
    actions=(
        Action(
            key="http-api-v2",
            display_name="HTTP API",
            run=run,
            input_schema=INPUT_SCHEMA,
            output_schema=OUTPUT_SCHEMA,
            credits=0,
        ),
    ),
    credentials_schema={"type": "object", "properties": {}, "secret": []},
)
