"""Browser tests: the web app in Debian's Chromium, driven by Playwright, against a real
uvicorn serving claystack on SQLite (or ``CLAYSTACK_TEST_DATABASE_URL``'s PostgreSQL).

Run them alone with ``pytest tests/browser`` (or ``-m browser``). One server and one
Playwright for the package, each browser launched once and logged in once (Playwright's sync
API holds the main thread's event loop while it runs, so it must be gone before the suite's
async tests; under ``--dist loadfile`` the package is one xdist unit, see tests/conftest.py);
the page that logged in stays open and tests open their screens in it as the app's links do
(``visit``); test data comes through the API, big tables' rows by SQL, never through the UI.
Chromium is Debian's headless shell (``apt-get install -y chromium-headless-shell``), or
``/usr/bin/chromium`` where the shell is missing. No browser is ever downloaded: without
either they skip, unless ``CI`` is set, where they fail.

Tests marked ``both_browsers`` run a second time in Debian's Firefox ESR
(``apt-get install -y firefox-esr``), which Playwright drives over WebDriver BiDi
(``channel="moz-firefox"``: stock Firefox, no patched build). They are the flows where the
engines differ: logging in and out (cookies), the big grid (virtualised scrolling), the
headers' sort click, drag and resize, and the new user's walkthrough (cell editing through
the keyboard, the formula, action and run dialogs, the cell panel, the usage chart). Where a
Firefox run starts from data made through the API, or leaves a step to Chromium, the test
says which and why; the other tests drive the same code with nothing engine-specific added.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from claystack import Client
from claystack.server.app import create_app
from claystack.server.config import Settings

from ..conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL, pg_execute, serve_in_thread

# Debian's Chromium: its headless shell where installed (package chromium-headless-shell:
# the same build without the browser's own UI, which Playwright runs for headless Chromium;
# a page costs it about a third of the CPU), else the browser.
CHROMIUM = os.environ.get("CLAYSTACK_TEST_CHROMIUM") or next(
    (p for p in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if os.path.exists(p)),
    "/usr/bin/chromium-headless-shell",
)
FIREFOX = os.environ.get("CLAYSTACK_TEST_FIREFOX", "/usr/bin/firefox-esr")
EXECUTABLES = {"chromium": CHROMIUM, "firefox": FIREFOX}
# No built-in add-ons (form autofill, other sites' interventions, picture-in-picture…): none
# takes part in the app's flows, and their extension process cost ~0.8 s of CPU per launch
# (~4 s with them, ~3.2 s without, alternated launches under load).
FIREFOX_PREFS = {"extensions.enabledScopes": 0}
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
    through the login form. The page that logged in stays open as the app's page: tests open
    their screens in it the way the app's links do (``visit``), so the app, its scripts and
    its shell load once per browser, as for someone who keeps the app open. Starting a
    browser costs more than most tests, and a page and its app load more than many."""

    def __init__(self, playwright: Any, web_url: str) -> None:
        self.playwright = playwright
        self.web_url = web_url
        self.browsers: dict[str, Any] = {}
        self.contexts: dict[str, Any] = {}
        self.pages: dict[str, Any] = {}

    def browser(self, name: str) -> Any:
        if name not in self.browsers:
            executable = EXECUTABLES[name]
            if not shutil.which(executable):
                package = Path(executable).name
                missing = f"{executable} is missing (apt-get install -y {package})"
                if os.environ.get("CI"):
                    pytest.fail(missing)
                pytest.skip(missing)
            if name == "firefox":
                self.browsers[name] = self.playwright.firefox.launch(
                    channel="moz-firefox",
                    executable_path=executable,
                    headless=True,
                    firefox_user_prefs=FIREFOX_PREFS,
                )
            else:
                self.browsers[name] = self.playwright.chromium.launch(
                    executable_path=executable, args=LAUNCH_ARGS
                )
        return self.browsers[name]

    def logged_in(self, name: str) -> Any:
        """The browser's context logged in through the login form, whose page is kept as
        the app's page."""
        if name not in self.contexts:
            context = self.browser(name).new_context(
                base_url=self.web_url, viewport={"width": 1400, "height": 900}
            )
            if name == "chromium":  # Firefox has no clipboard permissions to grant
                clipboard = ["clipboard-read", "clipboard-write"]
                context.grant_permissions(clipboard, origin=self.web_url)
            page = self.open_page(context)
            page.goto("/")
            page.get_by_label("Email").fill(DEMO_EMAIL)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("button", name="Log out").wait_for()
            self.contexts[name] = context
            self.pages[name] = page
        return self.contexts[name]

    def app_page(self, name: str) -> Any:
        """The page showing the app in the logged-in context (a new one after a failure)."""
        context = self.logged_in(name)
        if name not in self.pages:
            page = self.open_page(context)
            page.goto("/")
            page.get_by_role("button", name="Log out").wait_for()
            self.pages[name] = page
        return self.pages[name]

    @staticmethod
    def open_page(context: Any) -> Any:
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def discard_page(self, name: str) -> None:
        """After a failed test: the next test starts from a new page."""
        page = self.pages.pop(name, None)
        if page is not None and not page.is_closed():
            page.close()

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


def watch_errors(page: Any) -> Callable[[], list[str]]:
    """Collects the page's uncaught errors and console errors from now on; the returned
    function stops collecting and gives them."""
    errors: list[str] = []

    def on_error(exc: Any) -> None:
        errors.append(str(exc))

    def on_console(msg: Any) -> None:
        # A refused API call shows in the page as a message; the browser also logs it.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    page.on("pageerror", on_error)
    page.on("console", on_console)

    def stop() -> list[str]:
        page.remove_listener("pageerror", on_error)
        page.remove_listener("console", on_console)
        return errors

    return stop


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[Any]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest, browsers: Browsers, browser_name: str) -> Iterator[Any]:
    """The browser's app page (logged in, kept from test to test; open a screen with
    ``visit``); console errors and failed requests of the app fail the test. A failed test
    leaves the page to be discarded."""
    page = browsers.app_page(browser_name)
    stop = watch_errors(page)
    yield page
    errors = stop()
    if errors or request.node.stash.get(FAILED, False):
        browsers.discard_page(browser_name)
    assert not errors, errors


@pytest.fixture
def new_page(browsers: Browsers, browser_name: str) -> Iterator[Any]:
    """A page of its own in the logged-in context (for a test that leaves the app or routes
    the page's requests), closed after the test; errors fail the test as with ``page``."""
    page = browsers.open_page(browsers.logged_in(browser_name))
    stop = watch_errors(page)
    yield page
    page.close()
    errors = stop()
    assert not errors, errors


def visit(page: Any, path: str) -> None:
    """Opens ``path`` of the app in ``page`` the way the app's own links do, without a
    reload (``history.pushState`` and the event the app routes on; a path already shown is
    left for the home screen first, so the screen opens anew); loads the app there if the
    page does not show it."""
    shown = page.evaluate("""() => document.querySelector(".shell") ? location.pathname : null""")
    if shown is None:
        page.goto(path)
        return
    if shown == path and path != "/":
        visit(page, "/")
        page.get_by_role("heading", name="Welcome to claystack").wait_for()
    page.evaluate(
        """(path) => {
            history.pushState(null, "", path);
            dispatchEvent(new PopStateEvent("popstate"));
        }""",
        path,
    )
