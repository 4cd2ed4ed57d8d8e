"""One exception per kind of failure, and the one map from an HTTP answer to them."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "BadRequestError",
    "ClayConnectionError",
    "ClayError",
    "ClayTimeoutError",
    "ConflictError",
    "ForbiddenError",
    "NoMatchingURLError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitError",
    "ServerError",
    "UnauthorizedError",
]


class ClayError(Exception):
    """Base of every error the SDK raises.

    ``type`` is Clay's error type (``"NotFound"``, ``"FieldNameAlreadyExists"``, …),
    ``message`` the server's human text, ``status_code`` the HTTP status (``None`` when no
    answer arrived), ``response`` the :class:`httpx.Response` (``None`` likewise) and
    ``details`` the envelope's optional ``details`` object.
    """

    def __init__(
        self,
        message: str,
        *,
        type: str = "ClayError",
        status_code: int | None = None,
        response: httpx.Response | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.status_code = status_code
        self.response = response
        self.details = details

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.status_code is not None else self.message


class BadRequestError(ClayError):
    """400: the request was invalid (``BadRequest``)."""


class UnauthorizedError(ClayError):
    """401: not logged in, wrong credentials, or an expired or revoked session."""


class ForbiddenError(ClayError):
    """403: logged in, but not allowed (a read-only role, or another workspace)."""


class NotFoundError(ClayError):
    """404 ``NotFound``: the path is known but the object does not exist (or is not yours)."""


class NoMatchingURLError(NotFoundError):
    """404 ``NoMatchingURL``: the server does not know this path (wrong base URL?)."""


class ConflictError(ClayError):
    """409: e.g. ``FieldNameAlreadyExists``."""


class PayloadTooLargeError(ClayError):
    """413: the body, or the number of records in it, is over the server's limit."""


class RateLimitError(ClayError):
    """429 ``TooManyRequests`` after the client's bounded retries; see ``retry_after``."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, from the ``Retry-After`` header."""
        return retry_after_seconds(self.response) if self.response is not None else None


class ServerError(ClayError):
    """5xx: the server failed."""


class ClayConnectionError(ClayError):
    """No answer: the host is unreachable, refused the connection, or the connection broke."""


class ClayTimeoutError(ClayConnectionError):
    """No answer within the client's timeout."""


_BY_STATUS: dict[int, type[ClayError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}
_BY_TYPE: dict[str, type[ClayError]] = {"NoMatchingURL": NoMatchingURLError}


def error_for(response: httpx.Response) -> ClayError:
    """The exception for an error answer, from its status and Clay ``{type, message}`` body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    kind = _BY_TYPE.get(str(body.get("type")))
    if kind is None:
        kind = _BY_STATUS.get(status, ServerError if status >= 500 else ClayError)
    message = body.get("message") or response.reason_phrase or f"HTTP {status}"
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    return kind(
        str(message),
        type=str(body.get("type") or kind.__name__.removesuffix("Error")),
        status_code=status,
        response=response,
        details=details,
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def transport_error(exc: httpx.TransportError, url: str) -> ClayConnectionError:
    """A one-line error for a request that got no answer, naming the server."""
    if isinstance(exc, httpx.TimeoutException):
        return ClayTimeoutError(f"no answer from {url}: timed out", type="Timeout")
    reason = str(exc) or type(exc).__name__
    if reason.startswith("[Errno") and "] " in reason:
        reason = reason.split("] ", 1)[1]
    reason = reason[:1].lower() + reason[1:]
    return ClayConnectionError(f"cannot reach {url}: {reason}", type="ConnectionError")
