"""Fixtures: the real app over in-process ASGI, on a real SQLite file or, with
``CLAYSTACK_TEST_DATABASE_URL=postgresql://…``, on a real PostgreSQL (a private schema per run).

The database is migrated once per run and reset to its seeded state before every test. The app
itself (routes built, lifespan started) lives on from test to test while the settings tests ask
for stay the same: building it costs far more than a test. A test that changes the app's
settings, replaces ``app`` or reaches the database without it gets a fresh one.
"""

from __future__ import annotations

import asyncio
import compileall
import concurrent.futures
import gc
import importlib.util
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from fastapi import FastAPI

    from claystack.server.config import Settings

# The server is imported where a fixture first needs it, not here: pytest-xdist's controller
# loads this file too but runs no test, and importing the server would hold up the start of
# its workers by ~2 s.

DEMO_EMAIL = "demo@claystack.dev"
DEMO_USER_ID = 1
DEMO_PASSWORD = "claystack"
PG_URL = os.environ.get("CLAYSTACK_TEST_DATABASE_URL", "")

# The files that take longest (real processes, a browser, many requests), longest first:
# pytest-xdist hands out whole files in this order, so none is left running alone at the end.
LONG_FIRST = (
    "browser/",  # the browser package: one unit (see pytest_xdist_make_scheduler)
    "test_cli_examples.py",
    "test_engine_limits.py",
    "test_engine_crash.py",
    "test_spec_shapes.py",
    "test_cli.py",
    "test_sources_processes.py",
    "test_cli_setup.py",
    "test_errors_transport.py",
    "test_runs_retries_limits.py",
    "test_formula_runs.py",
    "test_client.py",
    "test_leases.py",
    "test_exports.py",
    "test_credits_reports.py",
    "test_testing_fixture.py",
    "test_runs_actions.py",
    "test_quickstart.py",
    "test_imports.py",
    "test_errors_access.py",
    "test_sources_ingestion.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    # The order of LONG_FIRST, not xdist's (files with the most tests first).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    # Bytecode of the package, written once: with PYTHONDONTWRITEBYTECODE set, each of the
    # run's processes (workers, `claystack serve`, the CLI) would compile it from source.
    spec = importlib.util.find_spec("claystack")
    assert spec is not None and spec.submodule_search_locations
    compileall.compile_dir(spec.submodule_search_locations[0], quiet=2)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over and pytest has collected the garbage it reports on: the interpreter's
    exit need not scan the whole heap again, which it does at each step of its teardown
    (~1.3 s of a worker's exit, which xdist's controller waits for). Frozen, it is skipped."""
    gc.freeze()


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadfile``, the browser tests are one unit, not a unit per file: one
    worker starts their server and browsers once (package fixtures are per worker)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserPackageAsOneFile(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "tests/browser" if scope.startswith("tests/browser/") else scope

    return BrowserPackageAsOneFile(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent

    def rank(item: pytest.Item) -> int:
        path = Path(str(item.fspath))
        name = path.relative_to(here).as_posix() if here in path.parents else ""
        name = "browser/" if name.startswith("browser/") else name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def _cli_tree_built_once() -> Iterator[None]:
    """typer's CliRunner builds the ``claystack`` command tree at every invoke (~30 ms of CPU;
    the suite invokes it some 170 times), where a process builds it once: once per worker."""
    import functools

    import typer.main
    import typer.testing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


@pytest.fixture(scope="session", autouse=True)
def _private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test, nor any server or CLI process a test starts, may use the real per-user data
    directory (the default of `claystack serve` and the admin commands)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        patch.delenv("CLAYSTACK_DATA_DIR", raising=False)
        yield


@pytest.fixture(scope="session")
def database(run_database: Any) -> Any:
    """(url, schema) of the database tests share (modules may override it with their own)."""
    return run_database


@pytest.fixture(scope="session")
def run_database(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(url, schema) for this run; a Postgres schema is created here and dropped at the end."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}", ""
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    pg_execute(f'CREATE SCHEMA "{schema}"')
    yield PG_URL, schema
    pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


def pg_execute(sql: str) -> None:
    """Runs one statement on the test PostgreSQL (``CLAYSTACK_TEST_DATABASE_URL``)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run())
        return
    # Called under a running loop (Playwright's sync API keeps one): use another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's data directory (uploads, exports), one per run like the database."""
    return tmp_path_factory.mktemp("data")


_SETTINGS: dict[Any, Settings] = {}


@pytest.fixture
def settings(database: Any, data_dir: Path) -> Settings:
    url, schema = database
    # Reading the environment takes ~3 ms: once per database and CLAYSTACK_* environment,
    # and a deep copy (~0.06 ms) per test, which the test may change at will.
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("CLAYSTACK_")))
    key = (url, schema, data_dir, env)
    made = _SETTINGS.get(key)
    if made is None:
        from claystack.server.config import Settings

        made = _SETTINGS[key] = Settings(
            database_url=url,
            database_schema=schema,
            data_dir=data_dir,
            enable_reset=True,
            port=8080,
            password_hash_cost="low",
        )
    return made.model_copy(deep=True)


class LiveApp:
    """The one app kept running between tests, with the settings it was built from."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self.built_from: dict[str, Any] = {}
        self._stack = AsyncExitStack()

    async def get(self, settings: Settings) -> FastAPI:
        if self.app is not None and settings.model_dump() == self.built_from:
            return self.app
        await self.close()
        from claystack.server.app import create_app

        from . import wirecheck

        application = create_app(settings)
        wirecheck.install(application)
        await self._stack.enter_async_context(application.router.lifespan_context(application))
        self.app, self.built_from = application, settings.model_dump()
        return application

    async def close(self) -> None:
        self.app = None
        await self._stack.aclose()

    async def after_test(self) -> None:
        """A test that changed the live app's settings leaves it to no one."""
        if self.app is not None and self.app.state.settings.model_dump() != self.built_from:
            await self.close()


LIVE = LiveApp()


@pytest.fixture(scope="session")
async def live_app(run_database: Any) -> AsyncIterator[LiveApp]:
    """The live app; closed before the run's database goes."""
    yield LIVE
    await LIVE.close()


@pytest.fixture
async def _close_live_app(live_app: LiveApp) -> None:
    await live_app.close()


@pytest.fixture(scope="module")
async def _close_live_app_for_module(live_app: LiveApp) -> None:
    await live_app.close()


def _uses_shared_app(request: pytest.FixtureRequest) -> bool:
    """Whether the test's ``app`` is this file's (not a module's own app fixture)."""
    defs = request.node._fixtureinfo.name2fixturedefs.get("app", ())
    return bool(defs) and Path(defs[-1].func.__code__.co_filename) == Path(__file__)


@pytest.fixture(autouse=True)
def _one_app_on_the_database(request: pytest.FixtureRequest) -> None:
    """The live app's workers must not share the database with an app or process a test
    starts itself: a test reaching the database without the shared ``app`` closes it first.
    (Synchronous, and async only when there is an app to close: the browser tests' Playwright
    holds the event loop.)"""
    if LIVE.app is not None and "database" in request.fixturenames:
        if not _uses_shared_app(request):
            request.getfixturevalue("_close_live_app")


@pytest.fixture(scope="module", autouse=True)
def _one_app_per_module(request: pytest.FixtureRequest) -> None:
    """Same, before a module's own (module-scoped) app fixture starts."""
    if LIVE.app is not None and "app" in vars(request.module):
        request.getfixturevalue("_close_live_app_for_module")


@pytest.fixture
async def app(settings: Settings, live_app: LiveApp) -> AsyncIterator[FastAPI]:
    from claystack.server import lifecycle

    application = await live_app.get(settings)
    await lifecycle.reset(application)
    yield application
    await live_app.after_test()


def make_client(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **kwargs
    )


async def login(client: httpx.AsyncClient, email: str, password: str) -> None:
    r = await client.post("/v3/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


async def open_session(app: FastAPI, client: httpx.AsyncClient, user_id: int) -> None:
    """Logs ``client`` in as ``user_id`` without the login route: the session the route
    would open (``accounts.open_session``), its cookie in the client's jar as the route's
    answer puts it there. (About a third of a test's set-up less than the request, with its
    password check and login throttle; ``login`` is for the tests about logging in, and
    test_auth covers the route.)"""
    from claystack.server.services import accounts

    state = app.state
    async with state.db.transaction(write=True) as conn:
        cookie = await accounts.open_session(conn, state.settings, state.secret, user_id)
    # httpx's jar files a cookie of the host "testserver" under "testserver.local".
    client.cookies.set("claysession", cookie, domain="testserver.local", path="/")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Logged in as the demo user (id 1), whose workspace is 1."""
    async with make_client(app) as c:
        await open_session(app, c, DEMO_USER_ID)
        yield c


UserFactory = Callable[..., Awaitable[tuple[httpx.AsyncClient, int]]]


@pytest.fixture
async def other_user(app: FastAPI) -> AsyncIterator[UserFactory]:
    """Makes another user with a workspace of their own; returns (logged-in client, ws id)."""
    from claystack.server.services import accounts

    clients: list[httpx.AsyncClient] = []

    async def make(
        email: str = "other@example.com", role: str | None = None, workspace: int | None = None
    ) -> tuple[httpx.AsyncClient, int]:
        db = app.state.db
        async with db.transaction(write=True) as conn:
            user = await accounts.create_user(
                conn,
                app.state.secret,
                email=email,
                name="Other",
                password="other-password",
                cost=app.state.settings.password_hash_cost,
            )
            if workspace is None:
                ws = await accounts.create_workspace(
                    conn, name="Other WS", owner_id=user["id"], credits=100
                )
            else:
                ws = workspace
                await accounts.add_member(conn, workspace_id=ws, email=email, role=role or "member")
        c = make_client(app)
        clients.append(c)
        await open_session(app, c, user["id"])
        return c, ws

    yield make
    for c in clients:
        await c.aclose()


async def new_table(
    client: httpx.AsyncClient, name: str = "Leads", fields: tuple[str, ...] = (), workspace: int = 1
) -> dict[str, Any]:
    """Creates a table with text fields named ``fields``; returns the table with a
    ``byName`` map of field ids."""
    r = await client.post("/v3/tables", json={"name": name, "workspaceId": workspace})
    assert r.status_code == 200, r.text
    table = r.json()["table"]
    by_name = {}
    for fname in fields:
        r = await client.post(
            f"/v3/tables/{table['id']}/fields", json={"name": fname, "type": "text"}
        )
        assert r.status_code == 200, r.text
        by_name[fname] = r.json()["field"]["id"]
    table["byName"] = by_name
    return table


@contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """A real uvicorn serving ``app`` on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    settings = {"log_level": "warning", "access_log": False, "lifespan": "off", "ws": "none"}
    server = uvicorn.Server(uvicorn.Config(app, **{**settings, **config}))
    server.config.timeout_graceful_shutdown = 1
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
