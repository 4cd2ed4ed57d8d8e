"""Test your Clay automations offline: a real claystack server inside your own pytest run.

Installed with claystack, this pytest plugin (entry point ``pytest11: claystack``) gives:

``claystack_server`` (session)
    A fresh server with its own SQLite file on a free port, in a background thread.
    ``.base_url`` (``http://127.0.0.1:<port>/v3``), ``.email``/``.password`` (the demo
    login, workspace ``.workspace_id``), ``.client()`` and ``.reset()``.
``clay`` / ``clay_client`` (function)
    A :class:`claystack.Client` logged in as the demo user, with ``.base_url``.
``claystack_reset`` (function)
    Puts the server back to its seeded state before the test.

Mark a test ``@pytest.mark.claystack_reset``, or run ``pytest --claystack-reset``, to reset
before every test that uses ``clay``. Outside pytest, :class:`ClaystackServer` works as a
context manager. Needs the server extra: ``pip install 'claystack[server]'``.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
import pytest

if TYPE_CHECKING:
    from .client import Client

__all__ = ["ClaystackServer", "MissingServerExtra"]

SERVER_EXTRA_HINT = (
    "claystack's test fixtures need the server extra: pip install 'claystack[server]'"
)


class MissingServerExtra(RuntimeError):
    """The server's dependencies (``claystack[server]``) are not installed."""


class ClaystackServer:
    """A real claystack server on its own port, served by uvicorn in a background thread.

    Without ``database_url`` it uses a new SQLite file in a temporary directory. Extra
    keyword arguments are server settings (see ``claystack.server.config.Settings``).
    Reset is always enabled.
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **settings: Any,
    ) -> None:
        self.host = host
        self._port = port
        self._database_url = database_url
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._extra = settings
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._http: httpx.Client | None = None
        self.settings: Any = None

    # -- where it is -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give a client, e.g. ``http://127.0.0.1:54321/v3``."""
        return self.url + "/v3"

    @property
    def email(self) -> str:
        """The demo user's email."""
        return str(self.settings.demo_email)

    @property
    def password(self) -> str:
        """The demo user's password."""
        return str(self.settings.demo_password)

    workspace_id = 1
    """The demo user's workspace."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Self:
        """Migrates the database, starts serving and returns once requests are answered."""
        try:
            import uvicorn

            from .server.app import create_app
            from .server.config import Settings
        except ImportError as exc:
            raise MissingServerExtra(f"{SERVER_EXTRA_HINT} ({exc})") from exc
        data_dir = self._data_dir
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="claystack-")
            data_dir = Path(self._tmp.name)
        url = self._database_url or f"sqlite:///{data_dir / 'claystack.db'}"
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self._port))
        self._port = self._sock.getsockname()[1]
        self.settings = Settings(
            **{
                "seed_demo": True,
                # A throwaway server: cheap password hashing keeps logins fast in tests.
                "password_hash_cost": "low",
                **self._extra,
                "database_url": url,
                "data_dir": data_dir,
                "host": self.host,
                "port": self._port,
                "enable_reset": True,
            }
        )
        config = uvicorn.Config(
            create_app(self.settings),
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            lifespan="on",
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"claystack-server-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError("the claystack server stopped while starting; see its log")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the claystack server did not start within {timeout:g}s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stops serving and deletes the temporary database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._close_socket()
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def reset(self) -> None:
        """Wipes all data and seeds the demo user and workspace again (sessions end)."""
        if self._http is None:  # one client for every reset: making one loads the CA bundle
            self._http = httpx.Client(timeout=60)
        self._http.post(self.url + "/_claystack/reset").raise_for_status()

    def client(self, **kwargs: Any) -> Client:
        """A :class:`Client` for this server, logged in as the demo user unless
        ``email``/``password``, ``session`` or ``token`` say otherwise."""
        if not {"session", "token", "email"} & kwargs.keys():
            kwargs.update(email=self.email, password=self.password)
        from .client import Client

        return Client(self.base_url, **kwargs)

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ClaystackServer {self.base_url}>"


# -- the pytest plugin -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claystack")
    group.addoption(
        "--claystack-reset",
        action="store_true",
        default=False,
        help="reset the claystack test server before every test that uses `clay`",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claystack_reset: reset the claystack test server before this test"
    )


@pytest.fixture(scope="session")
def claystack_server() -> Iterator[ClaystackServer]:
    """A claystack server for the whole test session (SQLite, free port, own thread)."""
    try:
        server = ClaystackServer().start()
    except MissingServerExtra as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def claystack_reset(claystack_server: ClaystackServer) -> ClaystackServer:
    """Resets the session's claystack server to its seeded state before this test."""
    claystack_server.reset()
    return claystack_server


@pytest.fixture
def clay_client(
    request: pytest.FixtureRequest, claystack_server: ClaystackServer
) -> Iterator[Client]:
    """A :class:`claystack.Client` logged in as the demo user (workspace 1)."""
    if request.config.getoption("claystack_reset") or request.node.get_closest_marker(
        "claystack_reset"
    ):
        claystack_server.reset()
    with claystack_server.client() as client:
        client.auth.login(claystack_server.email, claystack_server.password)
        yield client


@pytest.fixture
def clay(clay_client: Client) -> Client:
    """Same as ``clay_client``."""
    return clay_client
