"""claystack: a self-hostable, Clay-compatible (v3 API) server, with its Python SDK, CLI
and pytest fixtures.

Importing ``claystack`` loads only the SDK (httpx, pydantic, orjson); the server lives in
``claystack.server`` and needs the ``server`` extra.
"""

from __future__ import annotations

from .client import (
    AsyncClient,
    BadRequestError,
    ClayConnectionError,
    ClayError,
    ClayTimeoutError,
    Client,
    ConflictError,
    ForbiddenError,
    NoMatchingURLError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    Record,
    RunStatus,
    ServerError,
    Table,
    UnauthorizedError,
)

__all__ = [
    "AsyncClient",
    "BadRequestError",
    "ClayConnectionError",
    "ClayError",
    "ClayTimeoutError",
    "Client",
    "ConflictError",
    "ForbiddenError",
    "NoMatchingURLError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitError",
    "Record",
    "RunStatus",
    "ServerError",
    "Table",
    "UnauthorizedError",
]
