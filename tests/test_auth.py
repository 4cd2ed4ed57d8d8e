from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.services import accounts

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, UserFactory, login, make_client, new_table


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


# -- revocation: API tokens and sessions stop at once, in every process ---------------------


@pytest.fixture
async def second_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another server process on the same database (its own caches, no reset)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def works(app: FastAPI, headers: dict[str, str]) -> int:
    async with make_client(app, headers=headers) as c:
        return (await c.get("/v3/my-workspaces")).status_code


async def test_rotate_and_revoke_api_token(
    app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient
) -> None:
    old = (await client.get("/v3/me")).json()["apiToken"]
    bearer = {"Authorization": f"Bearer {old}"}
    assert await works(app, bearer) == 200 and await works(second_app, bearer) == 200  # cached
    r = await client.post("/v3/me/api-token")
    assert r.status_code == 200
    new = r.json()["apiToken"]
    assert new != old and (await client.get("/v3/me")).json()["apiToken"] == new
    assert await works(app, bearer) == 401 and await works(second_app, bearer) == 401
    fresh = {"Authorization": f"Bearer {new}"}
    assert await works(second_app, fresh) == 200
    async with make_client(second_app, headers=fresh) as c:
        assert (await c.delete("/v3/me/api-token")).json() == {"success": True}
    assert await works(app, fresh) == 401 and await works(second_app, fresh) == 401
    assert (await client.get("/v3/me")).json()["apiToken"] is None
    async with app.state.db.transaction(write=False) as conn:
        stored = (await conn.exec_driver_sql("SELECT api_token_hash FROM users")).scalars().all()
    assert new not in stored and old not in stored
    again = (await client.post("/v3/me/api-token")).json()["apiToken"]
    assert await works(second_app, {"Authorization": f"Bearer {again}"}) == 200


async def test_logout_all_and_password_change_end_every_session(
    app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    cookies = [client.cookies["claysession"]]
    for _ in range(2):
        r = await anon.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        cookies.append(r.cookies["claysession"])
    sessions = [{"Cookie": f"claysession={c}"} for c in cookies]
    for s in sessions:
        assert await works(app, s) == 200 and await works(second_app, s) == 200
    r = await anon.post("/v3/auth/logout", headers=sessions[2])
    assert r.status_code == 200
    assert await works(second_app, sessions[2]) == 401
    assert await works(second_app, sessions[1]) == 200
    async with make_client(second_app, headers=sessions[1]) as c:
        assert (await c.post("/v3/auth/logout?all=true")).status_code == 200
    for s in sessions:
        assert await works(app, s) == 401 and await works(second_app, s) == 401

    await login(client, DEMO_EMAIL, DEMO_PASSWORD)
    session = {"Cookie": f"claysession={client.cookies['claysession']}"}
    assert await works(second_app, session) == 200
    async with app.state.db.transaction(write=True) as conn:
        await accounts.set_password(
            conn, 1, "a-new-password", cost=app.state.settings.password_hash_cost
        )
    assert await works(second_app, session) == 401 and await works(app, session) == 401
    await login(client, DEMO_EMAIL, "a-new-password")


# -- the login throttle ----------------------------------------------------------------------


async def fail_login(c: httpx.AsyncClient, email: str, headers: Any = None) -> int:
    r = await c.post(
        "/v3/auth/login", json={"email": email, "password": "wrong-pass"}, headers=headers
    )
    return r.status_code


async def test_failures_for_one_email_never_block_another(
    app: FastAPI, second_app: FastAPI, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    await other_user(email="other@example.com")
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        assert await fail_login(anon, DEMO_EMAIL) == 401
    assert await fail_login(anon, DEMO_EMAIL) == 429
    # The failures are in the database: another process throttles the account too.
    async with make_client(second_app) as c:
        r = await c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert r.status_code == 429
        r = await c.post(
            "/v3/auth/login", json={"email": "other@example.com", "password": "other-password"}
        )
        assert r.status_code == 200
    r = await anon.post(
        "/v3/auth/login", json={"email": "other@example.com", "password": "other-password"}
    )
    assert r.status_code == 200
    assert await fail_login(anon, "nobody@example.com") == 401


@pytest.fixture
def throttle_app(settings: Settings) -> Any:
    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(
            settings.model_copy(update={"login_max_failures_per_address": 5, **overrides})
        )
        async with application.router.lifespan_context(application):
            await lifecycle.reset(application)
            async with make_client(application) as c:
                yield c

    return make


async def test_address_limit_and_forwarded_headers(throttle_app: Any) -> None:
    # No trusted proxy: X-Forwarded-For is the client's word and changes nothing.
    async with throttle_app() as c:
        for i in range(5):
            forged = {"X-Forwarded-For": f"203.0.113.{i}"}
            assert await fail_login(c, f"user{i}@example.com", forged) == 401
        forged = {"X-Forwarded-For": "198.51.100.7"}
        assert await fail_login(c, "someone@example.com", forged) == 429
        r = await c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert r.status_code == 429  # the address is over its (higher) limit
    # Behind a trusted proxy, each forwarded client has its own budget.
    async with throttle_app(trusted_proxies="127.0.0.0/8, 10.0.0.1") as c:
        via = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
        for i in range(5):
            assert await fail_login(c, f"user{i}@example.com", via) == 401
        assert await fail_login(c, "someone@example.com", via) == 429
        # A client-written entry left of the real one is not believed.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.1"}
        assert await fail_login(c, "someone@example.com", spoofed) == 429
        other = {"X-Forwarded-For": "203.0.113.10"}
        r = await c.post(
            "/v3/auth/login",
            json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
            headers=other,
        )
        assert r.status_code == 200


def test_trusted_proxies_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings(trusted_proxies="10.0.0.1, not-an-ip")


async def test_table_routes_confirm_a_cached_credential_in_every_process(
    app: FastAPI, second_app: FastAPI, client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    """Table routes confirm a cached credential in the query that finds the table: a key
    revoked through one process is refused by the other, on a known table and an unknown
    one alike (401, not 404); runstatus keeps its 404s for a foreign workspace or table."""
    tid = (await new_table(client))["id"]
    paths = [
        f"/v3/tables/{tid}/count",
        f"/v3/workspaces/1/tables/{tid}/fields/runstatus",
        "/v3/tables/t_unknown/count",
    ]
    bearer = {"Authorization": f"Bearer {(await client.get('/v3/me')).json()['apiToken']}"}
    async with make_client(second_app, headers=bearer) as c:
        assert [(await c.get(p)).status_code for p in paths] == [200, 200, 404]  # now cached
        assert (await client.post("/v3/me/api-token")).status_code == 200
        assert [(await c.get(p)).status_code for p in paths] == [401, 401, 401]
    other, ws = await other_user()
    for path, message in [
        (f"/v3/workspaces/{ws}/tables/{tid}/fields/runstatus", "Table not found"),
        (f"/v3/workspaces/1/tables/{tid}/fields/runstatus", "Workspace not found"),
        (f"/v3/workspaces/x/tables/{tid}/fields/runstatus", "Workspace not found"),
    ]:
        for _ in range(2):  # the credential's first use, then its cached one
            r = await other.get(path)
            assert (r.status_code, r.json()["message"]) == (404, message)
