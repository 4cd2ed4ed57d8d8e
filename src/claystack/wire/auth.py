"""Logins, the current user and API tokens."""

from __future__ import annotations

from typing import Any

from pydantic import Field as _Field

from ._base import WireModel


class LoginIn(WireModel):
    email: str
    password: str
    source: Any = None


class User(WireModel):
    """A user as the login answer shows it."""

    id: int
    email: str
    name: str | None = None


class LoginOut(WireModel):
    user: User


class Me(User):
    """The logged-in user, with the API token usable as ``Authorization: Bearer``."""

    username: str | None = None
    apiToken: str | None = _Field(
        default=None, description="Usable as ``Authorization: Bearer``; null once revoked"
    )
    defaultWorkspaceId: int | None = None
    createdAt: str | None = None


class ApiTokenOut(WireModel):
    apiToken: str = _Field(description="The new token; the previous one no longer works")


class Success(WireModel):
    success: bool = True
