"""Domain errors. Services raise these; ``ClayError.to_response()`` is the one place that
renders ``{type, message}``, used by the app's handlers, the middleware and webhook ingest."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

log = logging.getLogger("claystack")


class ClayError(Exception):
    status_code = 400
    type = "BadRequest"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out

    def to_response(self) -> Response:
        return Response(
            orjson.dumps(self.body()),
            status_code=self.status_code,
            headers=self.headers,
            media_type="application/json",
        )


class BadRequest(ClayError):
    pass


class InvalidParameter(BadRequest):
    """Clay's message for one bad field: ``Invalid request parameter(s): Field "x" - text``;
    with no ``field``, ``Invalid request parameter(s): text``."""

    def __init__(self, field: str | None, text: str) -> None:
        where = f'Field "{field}" - ' if field is not None else ""
        super().__init__(f"Invalid request parameter(s): {where}{text}")
        self.field = field


class Unauthorized(ClayError):
    status_code = 401
    type = "Unauthorized"

    def __init__(self, message: str = "You must be logged in") -> None:
        super().__init__(message)


class Forbidden(ClayError):
    status_code = 403
    type = "Forbidden"


class NotFound(ClayError):
    status_code = 404
    type = "NotFound"


class NoMatchingURL(ClayError):
    status_code = 404
    type = "NoMatchingURL"

    def __init__(self, message: str = "Invalid URL") -> None:
        super().__init__(message)


class MethodNotAllowed(ClayError):
    status_code = 405
    type = "MethodNotAllowed"


class Conflict(ClayError):
    status_code = 409
    type = "Conflict"


class FieldNameAlreadyExists(Conflict):
    type = "FieldNameAlreadyExists"


class PayloadTooLarge(ClayError):
    status_code = 413
    type = "PayloadTooLarge"


class TooManyRequests(ClayError):
    status_code = 429
    type = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class UnsupportedMediaType(ClayError):
    status_code = 415
    type = "UnsupportedMediaType"


class ServiceUnavailable(ClayError):
    status_code = 503
    type = "ServiceUnavailable"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class InternalServerError(ClayError):
    status_code = 500
    type = "InternalServerError"

    def __init__(self, message: str = "Internal server error") -> None:
        super().__init__(message)


UNSTORABLE = "Invalid request parameter(s): a value is out of range or contains a NUL character"


def _transient(sqlstate: str) -> bool:
    return sqlstate.startswith("53") or sqlstate in ("40001", "40P01", "57P03")


def as_clay_error(exc: BaseException) -> ClayError:
    """The answer for any exception: itself if a ``ClayError``; a 409 for a constraint
    violation; a 400 for a value the database or the JSON encoder refused; a 503 for a
    database out of connections or a transaction it gave up on; else a logged 500."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    if isinstance(exc, ClayError):
        return exc
    if isinstance(exc, IntegrityError):
        log.info("write conflict: %s", exc.orig)
        return Conflict("The change conflicts with another write; nothing was saved")
    # SQLSTATE class 22: PostgreSQL refused a value (NUL character, number out of range).
    if isinstance(exc, DBAPIError) and str(getattr(exc.orig, "sqlstate", "") or "").startswith(
        "22"
    ):
        log.info("value refused by the database: %s", exc.orig)
        return BadRequest(UNSTORABLE)
    # PostgreSQL out of connections (class 53), a deadlock or serialization failure, a
    # server starting or stopping: nothing was saved, and the same request can succeed a
    # moment later. A 503 with Retry-After says so (a 500 would say the request is at fault).
    if isinstance(exc, DBAPIError) and _transient(str(getattr(exc.orig, "sqlstate", "") or "")):
        log.warning("database busy: %s", exc.orig)
        return ServiceUnavailable("The database is busy; try again in a moment")
    # SQLite's binding of an integer beyond 64 bits; orjson's refusal of a value.
    if isinstance(exc, OverflowError | orjson.JSONEncodeError):
        return BadRequest(UNSTORABLE)
    log.error("unhandled error", exc_info=exc)
    return InternalServerError()
