from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from ...wire import (
    ApiTokenOut,
    LoginIn,
    LoginOut,
    Me,
    Success,
)
from ..deps import CallerDep, Conn, CurrentActor, Secret, app_state, current_actor, get_settings
from ..errors import Unauthorized
from ..security import client_address
from ..services import accounts
from . import JSONOut, ok, router

api = router("auth")


@api.post("/v3/auth/login", responses=ok(LoginOut))
async def login(body: LoginIn, request: Request, conn: Conn, secret: Secret) -> Response:
    """Logs in; sets the ``claysession`` cookie (HttpOnly, 24 h by default). Failures are
    throttled per account and per client address (429 with ``Retry-After``)."""
    settings = get_settings(request)
    peer = request.client.host if request.client else None
    address = client_address(
        peer, request.headers.getlist("x-forwarded-for"), app_state(request).trusted_proxies
    )
    throttle = accounts.Throttle.of(settings, body.email, address)
    await accounts.check_throttle(conn, throttle)
    result = await accounts.login(conn, settings, secret, email=body.email, password=body.password)
    if result is None:
        await accounts.login_failed(conn, throttle)
        # Answered rather than raised: the failure just counted must be committed.
        return Unauthorized("Invalid email or password").to_response()
    await accounts.login_succeeded(conn, throttle)
    response = JSONOut(LoginOut.build(user=result.user))
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
async def logout(
    request: Request,
    conn: Conn,
    secret: Secret,
    everywhere: Annotated[bool, Query(alias="all")] = False,
) -> JSONOut:
    """Revokes the current session cookie; ``?all=true`` revokes every session of its user."""
    cookie = request.cookies.get("claysession")
    await accounts.logout(conn, secret, cookie, everywhere=everywhere)
    if cookie:
        app_state(request).auth_cache.forget(cookie)
    response = JSONOut(Success.build(success=True))
    response.delete_cookie("claysession", path="/")
    return response


@api.get("/v3/me", responses=ok(Me))
async def me(request: Request, conn: Conn, who: CallerDep, secret: Secret) -> JSONOut:
    """The logged-in user, with the API token usable as ``Authorization: Bearer``."""
    # A cached credential is confirmed by the read of the user (one query), else checked.
    out = await accounts.me(conn, secret, who.actor, auth_version=who.unconfirmed)
    if out is None:
        out = await accounts.me(conn, secret, await current_actor(request, conn, secret, who))
    return JSONOut(out)


@api.post("/v3/me/api-token", responses=ok(ApiTokenOut))
async def rotate_api_token(conn: Conn, actor: CurrentActor, secret: Secret) -> JSONOut:
    """Replaces the caller's API token with a new one; the old token stops working at once,
    in every server process."""
    return JSONOut(
        ApiTokenOut.build(apiToken=await accounts.rotate_api_token(conn, secret, actor.user_id))
    )


@api.delete("/v3/me/api-token", responses=ok(Success))
async def revoke_api_token(conn: Conn, actor: CurrentActor) -> JSONOut:
    """Revokes the caller's API token; ``POST /v3/me/api-token`` makes a new one."""
    await accounts.revoke_api_token(conn, actor.user_id)
    return JSONOut(Success.build(success=True))
