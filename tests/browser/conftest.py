"""Browser tests: the web app in Debian's Chromium, driven by Playwright, against a real
uvicorn serving claystack on SQLite (or ``CLAYSTACK_TEST_DATABASE_URL``'s PostgreSQL).

Run them alone with ``pytest tests/browser`` (or ``-m browser``). One server and one
Playwright for the package, each browser launched once and logged in once (Playwright's sync
API holds the main thread's event loop while it runs, so it must be gone before the suite's
async tests; under ``--dist loadfile`` the package is one xdist unit, see tests/conftest.py);
test data comes through the API, big tables' rows by SQL, never through the UI. No browser is
ever downloaded: without ``/usr/bin/chromium`` (``apt-get install -y chromium``) they skip,
unless ``CI`` is set, where they fail.

Tests marked ``both_browsers`` run a second time in Debian's Firefox ESR
(``apt-get install -y firefox-esr``), which Playwright drives over WebDriver BiDi
(``channel="moz-firefox"``: stock Firefox, no patched build). They are the flows where the
engines differ: logging in and out (cookies), the big grid (virtualised scrolling), header
drags and resizes, and the new user's walkthrough (cell editing, the column dialogs, a run,
the cell panel, the usage chart); the other tests drive the same code with nothing
engine-specific added.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claystack import Client
from claystack.server.app import create_app
from claystack.server.config import Settings

from ..conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL, pg_execute, serve_in_thread

CHROMIUM = os.environ.get("CLAYSTACK_TEST_CHROMIUM", "/usr/bin/chromium")
FIREFOX = os.environ.get("CLAYSTACK_TEST_FIREFOX", "/usr/bin/firefox-esr")
EXECUTABLES = {"chromium": CHROMIUM, "firefox": FIREFOX}
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "browser_name" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_browsers")
        names = ["chromium", "firefox"] if both else ["chromium"]
        metafunc.parametrize("browser_name", names, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The served app's settings: a fresh SQLite file, or a fresh PostgreSQL schema."""
    data = tmp_path_factory.mktemp("web")
    schema = ""
    if PG_URL:
        schema = "w_" + uuid.uuid4().hex[:12]
        pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Settings(
            database_url=PG_URL or f"sqlite:///{data / 'web.db'}",
            database_schema=schema,
            data_dir=data,
            http_allow_private=True,
            password_hash_cost="low",
        )
    finally:
        if schema:
            pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="package")
def web_url(web_settings: Settings) -> Iterator[str]:
    """A real claystack (workers on, demo user seeded) on 127.0.0.1; its base URL."""
    with serve_in_thread(create_app(web_settings), lifespan="on") as url:
        yield url


@pytest.fixture(scope="package")
def clay(web_url: str) -> Iterator[Client]:
    """The SDK, logged in as the demo user, for seeding through the API."""
    with Client(web_url + "/v3", email=DEMO_EMAIL, password=DEMO_PASSWORD) as client:
        yield client


@pytest.fixture
def browser_name(request: pytest.FixtureRequest) -> str:
    """``chromium``, or ``firefox`` for a ``both_browsers`` test's second run."""
    return str(getattr(request, "param", "chromium"))


class Browsers:
    """Each browser launched once for the package, on first use, with one context logged in
    through the login form: tests open their pages in it (sharing the HTTP cache, as one
    user's browser does). Starting a browser costs more than most tests."""

    def __init__(self, playwright: Any, web_url: str) -> None:
        self.playwright = playwright
        self.web_url = web_url
        self.browsers: dict[str, Any] = {}
        self.contexts: dict[str, Any] = {}

    def browser(self, name: str) -> Any:
        if name not in self.browsers:
            executable = EXECUTABLES[name]
            if not shutil.which(executable):
                package = "chromium" if name == "chromium" else "firefox-esr"
                missing = f"{executable} is missing (apt-get install -y {package})"
                if os.environ.get("CI"):
                    pytest.fail(missing)
                pytest.skip(missing)
            if name == "firefox":
                self.browsers[name] = self.playwright.firefox.launch(
                    channel="moz-firefox", executable_path=executable, headless=True
                )
            else:
                self.browsers[name] = self.playwright.chromium.launch(
                    executable_path=executable, args=LAUNCH_ARGS
                )
        return self.browsers[name]

    def logged_in(self, name: str) -> Any:
        if name not in self.contexts:
            context = self.browser(name).new_context(
                base_url=self.web_url, viewport={"width": 1400, "height": 900}
            )
            if name == "chromium":  # Firefox has no clipboard permissions to grant
                clipboard = ["clipboard-read", "clipboard-write"]
                context.grant_permissions(clipboard, origin=self.web_url)
            page = context.new_page()
            page.goto("/")
            page.get_by_label("Email").fill(DEMO_EMAIL)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("button", name="Log out").wait_for()
            page.close()
            self.contexts[name] = context
        return self.contexts[name]

    def close(self) -> None:
        for browser in self.browsers.values():
            browser.close()


@pytest.fixture(scope="package")
def browsers(web_url: str) -> Iterator[Browsers]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = Browsers(p, web_url)
        yield launched
        launched.close()


@pytest.fixture
def browser(browsers: Browsers, browser_name: str) -> Any:
    return browsers.browser(browser_name)


@pytest.fixture
def page(browsers: Browsers, browser_name: str) -> Iterator[Any]:
    """A new page of the logged-in context; console errors and failed requests of the app
    fail the test."""
    page = browsers.logged_in(browser_name).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused API call shows in the page as a message; the browser also logs it.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.set_default_timeout(15_000)
    yield page
    page.close()
    assert not errors, errors
