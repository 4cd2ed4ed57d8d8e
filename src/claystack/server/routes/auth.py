from __future__ import annotations

from fastapi import Request

from ..deps import Conn, CurrentActor, Secret, get_settings
from ..errors import Unauthorized
from ..schemas import LoginIn, LoginOut, MeOut, Success
from ..services import accounts
from . import JSONOut, ok, router

api = router("auth")


@api.post("/v3/auth/login", responses=ok(LoginOut))
async def login(body: LoginIn, request: Request, conn: Conn, secret: Secret) -> JSONOut:
    """Logs in; sets the ``claysession`` cookie (HttpOnly, 24 h by default)."""
    settings = get_settings(request)
    throttle = request.app.state.login_throttle
    email_key = "email:" + body.email.strip().lower()
    ip_key = "ip:" + (request.client.host if request.client else "?")
    throttle.check(email_key, ip_key)
    result = await accounts.login(conn, settings, secret, email=body.email, password=body.password)
    if result is None:
        throttle.failed(email_key, ip_key)
        raise Unauthorized("Invalid email or password")
    throttle.succeeded(email_key)
    response = JSONOut({"user": result.user})
    response.set_cookie(
        "claysession",
        result.cookie,
        max_age=settings.session_ttl_seconds,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return response


@api.post("/v3/auth/logout", responses=ok(Success))
async def logout(request: Request, conn: Conn, secret: Secret) -> JSONOut:
    """Revokes the current session cookie."""
    cookie = request.cookies.get("claysession")
    await accounts.logout(conn, secret, cookie)
    if cookie:
        request.app.state.auth_cache.forget(cookie)
    response = JSONOut({"success": True})
    response.delete_cookie("claysession", path="/")
    return response


@api.get("/v3/me", responses=ok(MeOut))
async def me(conn: Conn, actor: CurrentActor, secret: Secret) -> JSONOut:
    """The logged-in user, with the API token usable as ``Authorization: Bearer``."""
    return JSONOut(await accounts.me(conn, secret, actor))
