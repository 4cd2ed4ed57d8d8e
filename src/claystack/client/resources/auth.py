"""Logins and the current user."""

from __future__ import annotations

from .._base import M, Namespace, Op, api, req
from .._models import (
    Me,
    User,
)


class Auth(Namespace[M]):
    """Logging in and out, and who you are."""

    @api("POST /auth/login")
    def login(self, email: str, password: str) -> Op[User]:
        """Logs in with email and password and keeps the session cookie for later calls.
        The credentials are kept too, so an expired session is renewed once, automatically."""
        self._core.auth.email, self._core.auth.password = email, password
        self._core.auth.token = None
        response = yield self._core.login_request()
        self._core.remember_login(response)
        return User.model_validate(response.json()["user"])

    @api("POST /auth/logout")
    def logout(self, *, everywhere: bool = False) -> Op[None]:
        """Revokes the current session on the server and forgets it here; with
        ``everywhere=True``, every session of your user (other browsers and clients too)."""
        params = {"all": "true"} if everywhere else None
        yield req("POST", "/auth/logout", {}, params=params)
        self._core.auth.session = None
        self._core.auth.email = self._core.auth.password = None

    @api("GET /me")
    def me(self) -> Op[Me]:
        """The logged-in user, including ``apiToken`` (usable as ``token=``)."""
        return Me.model_validate((yield req("GET", "/me")))

    @api("POST /me/api-token")
    def rotate_api_token(self) -> Op[str]:
        """A new API token for your user; the old one stops working at once. A client
        authenticated by the old token switches to the new one."""
        data = yield req("POST", "/me/api-token", {})
        token: str = data["apiToken"]
        if self._core.auth.token:
            self._core.auth.token = token
        return token

    @api("DELETE /me/api-token")
    def revoke_api_token(self) -> Op[None]:
        """Revokes your API token (``rotate_api_token`` makes a new one). Sessions stay."""
        yield req("DELETE", "/me/api-token")
