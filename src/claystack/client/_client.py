"""``Client`` and ``AsyncClient``: the same namespaces over a sync or an async executor."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from functools import cache
from types import TracebackType
from typing import Any, Generic, Self

import httpx

from ._base import DEFAULT_BASE_URL, Async, AsyncCore, Core, M, Sync, SyncCore
from ._extras import AI, Functions, Presets, SharedTables
from ._jobs import Exports, Imports
from ._models import RunStatus
from .resources import (
    Actions,
    AppAccounts,
    Auth,
    Credits,
    Emulator,
    Fields,
    Folders,
    Integrations,
    Records,
    Resources,
    Runs,
    Sources,
    Tables,
    Views,
    Workbooks,
    Workspaces,
)

__all__ = ["AsyncClient", "Client", "DEFAULT_BASE_URL"]


class _Namespaces(Generic[M]):
    auth: Auth[M]
    workspaces: Workspaces[M]
    folders: Folders[M]
    resources: Resources[M]
    workbooks: Workbooks[M]
    tables: Tables[M]
    fields: Fields[M]
    views: Views[M]
    records: Records[M]
    runs: Runs[M]
    sources: Sources[M]
    webhooks: Sources[M]
    credits: Credits[M]
    integrations: Integrations[M]
    actions: Actions[M]
    app_accounts: AppAccounts[M]
    exports: Exports[M]
    imports: Imports[M]
    emulator: Emulator[M]
    shared_tables: SharedTables[M]
    functions: Functions[M]
    ai: AI[M]
    presets: Presets[M]

    _core: Core

    def _bind(self, core: Core) -> None:
        self._core = core
        self.auth = Auth(core)
        self.workspaces = Workspaces(core)
        self.folders = Folders(core)
        self.resources = Resources(core)
        self.workbooks = Workbooks(core)
        self.tables = Tables(core)
        self.fields = Fields(core)
        self.views = Views(core)
        self.records = Records(core)
        self.runs = Runs(core)
        self.sources = self.webhooks = Sources(core)
        self.credits = Credits(core)
        self.integrations = Integrations(core)
        self.actions = Actions(core)
        self.app_accounts = AppAccounts(core)
        self.exports = Exports(core)
        self.imports = Imports(core)
        self.emulator = Emulator(core)
        self.shared_tables = SharedTables(core)
        self.functions = Functions(core)
        self.ai = AI(core)
        self.presets = Presets(core)

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:8080/v3``."""
        return self._core.base_url

    @property
    def session(self) -> str | None:
        """The current ``claysession`` value (after a login), to save and reuse."""
        return self._core.auth.session

    @property
    def token(self) -> str | None:
        """The API token in use, if any."""
        return self._core.auth.token

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"


@cache
def _tls() -> ssl.SSLContext:
    """The TLS context every client of this process shares: httpx would load the CA bundle
    again for each client (~20 ms of CPU), and a program or test may make many."""
    return httpx.create_ssl_context()


def _core_kwargs(
    base_url: str | None,
    email: str | None,
    password: str | None,
    session: str | None,
    token: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    max_retry_wait: float,
    headers: dict[str, str] | None,
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "email": email,
        "password": password,
        "session": session,
        "token": token,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_retry_wait": max_retry_wait,
        "headers": headers,
    }


class Client(_Namespaces[Sync]):
    """A synchronous client for the Clay v3 API, hosted or claystack.

    ``Client("http://127.0.0.1:8080/v3", email=..., password=...)`` logs in on the first
    call and again, once, when a session expires; ``session=`` reuses a ``claysession``
    value; ``token=`` sends ``Authorization: Bearer`` (the ``apiToken`` of ``/v3/me``).
    ``base_url`` defaults to ``$CLAYSTACK_BASE_URL``, else ``https://api.clay.com/v3``.
    A 429 is retried up to ``max_retries`` times, waiting as ``Retry-After`` says (at most
    ``max_retry_wait`` seconds). ``transport`` replaces the network (tests pass an httpx
    transport). Methods live in namespaces: ``client.tables.count("t_…")``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        email: str | None = None,
        password: str | None = None,
        session: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout | None = 60.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(transport=transport, verify=_tls() if transport is None else True)
        core = SyncCore(
            self._http,
            **_core_kwargs(
                base_url,
                email,
                password,
                session,
                token,
                timeout,
                max_retries,
                max_retry_wait,
                headers,
            ),
        )
        self._bind(core)

    @property
    def wait_for_run(self) -> Callable[..., RunStatus]:
        """``client.runs.wait``: polls a table's run status until its cells are done."""
        return self.runs.wait

    def close(self) -> None:
        """Closes the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Namespaces[Async]):
    """The asynchronous twin of :class:`Client`: the same arguments and namespaces, and
    every method is awaited (``await client.tables.count("t_…")``); iterators such as
    ``client.records.iter`` are ``async for`` loops."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        email: str | None = None,
        password: str | None = None,
        session: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout | None = 60.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport, verify=_tls() if transport is None else True
        )
        core = AsyncCore(
            self._http,
            **_core_kwargs(
                base_url,
                email,
                password,
                session,
                token,
                timeout,
                max_retries,
                max_retry_wait,
                headers,
            ),
        )
        self._bind(core)

    @property
    def wait_for_run(self) -> Callable[..., Awaitable[RunStatus]]:
        """``client.runs.wait``: polls a table's run status until its cells are done."""
        return self.runs.wait

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
