from __future__ import annotations

import httpx
from fastapi import FastAPI

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, make_client


async def test_quick_start_login_sets_cookie_and_lists_workspace(anon: httpx.AsyncClient) -> None:
    r = await anon.post(
        "/v3/auth/login",
        json={"password": DEMO_PASSWORD, "email": DEMO_EMAIL, "source": None},
    )
    assert r.status_code == 200
    assert r.json()["user"]["email"] == DEMO_EMAIL
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("claysession=s%3A")
    assert "HttpOnly" in cookie and "Max-Age=86400" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]

    r = await anon.get("/v3/my-workspaces", headers={"Cookie": f"claysession={value}"})
    assert r.status_code == 200
    assert r.json()["results"][0]["id"] == 1

    r = await anon.post(
        "/v3/workspaces/1/resources_v2/",
        headers={"Cookie": f"claysession={value}"},
        json={"filters": {"resourceTypes": ["WORKBOOK"]}},
    )
    assert r.status_code == 200
    assert r.json() == {"resources": []}


async def test_wrong_password_is_401(anon: httpx.AsyncClient) -> None:
    r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["type"] == "Unauthorized"
    r = await anon.post("/v3/auth/login", json={"email": "x@y.z", "password": "nope-nope"})
    assert r.status_code == 401


async def test_missing_and_forged_sessions_are_401(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/v3/me")
    assert r.status_code == 401
    assert r.json() == {"type": "Unauthorized", "message": "You must be logged in"}
    r = await anon.get("/v3/me", headers={"Cookie": "claysession=s%3Aabc.def"})
    assert r.status_code == 401
    # A signature that percent-decodes to non-ASCII (a cut-off "%2F" once made this a 500).
    r = await anon.get("/v3/me", headers={"Cookie": "claysession=s%3Aabc.de%AAA"})
    assert r.status_code == 401
    r = await anon.get("/v3/me", headers={"Authorization": "Bearer cs_wrong"})
    assert r.status_code == 401


async def test_logout_revokes_session(client: httpx.AsyncClient) -> None:
    cookie = client.cookies["claysession"]
    assert (await client.get("/v3/me")).status_code == 200
    assert (await client.post("/v3/auth/logout")).status_code == 200
    r = await client.get("/v3/me", headers={"Cookie": f"claysession={cookie}"})
    assert r.status_code == 401


async def test_expired_session_is_401(app: FastAPI, anon: httpx.AsyncClient) -> None:
    r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    cookie = r.cookies["claysession"]
    async with app.state.db.transaction(write=True) as conn:
        await conn.exec_driver_sql("UPDATE sessions SET expires_at = 0")
    r = await anon.get("/v3/me", headers={"Cookie": f"claysession={cookie}"})
    assert r.status_code == 401


async def test_api_token_works_as_bearer(client: httpx.AsyncClient, app: FastAPI) -> None:
    token = (await client.get("/v3/me")).json()["apiToken"]
    async with make_client(app, headers={"Authorization": f"Bearer {token}"}) as bearer:
        r = await bearer.get("/v3/my-workspaces")
        assert r.status_code == 200
        assert r.json()["results"][0]["id"] == 1


async def test_login_is_throttled(anon: httpx.AsyncClient, app: FastAPI) -> None:
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": "bad-pass"})
        assert r.status_code == 401
    r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert r.json()["type"] == "TooManyRequests"
    assert int(r.headers["retry-after"]) >= 1


async def test_form_encoded_legacy_login(anon: httpx.AsyncClient) -> None:
    from urllib.parse import quote

    import orjson

    body = quote(orjson.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).decode()) + "="
    r = await anon.post(
        "/v3/auth/login",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
