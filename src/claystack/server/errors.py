"""Domain errors. Services raise these; one handler in ``app.py`` renders ``{type, message}``."""

from __future__ import annotations

from typing import Any


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


class BadRequest(ClayError):
    pass


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
