"""claystack: a self-hostable, Clay-compatible (v3 API) server, with its Python SDK, CLI
and pytest fixtures.

``from claystack import Client`` loads only the SDK (httpx, pydantic, orjson), and only when
one of these names is first used: the ``claystack`` command imports this package, and its
``--help`` should not pay for the SDK. The server lives in ``claystack.server`` and needs the
``server`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'claystack' has no attribute {name!r}")
