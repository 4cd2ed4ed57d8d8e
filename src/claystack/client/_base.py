"""The machinery shared by :class:`Client` and :class:`AsyncClient`.

Every SDK method is written once, as a generator that *yields* what it needs done
(:class:`Req` to send a request, :class:`Sleep` to wait, :class:`Emit` to hand an item to
an iterator) and *returns* its result. A method never does I/O itself: the sync executor
drives the generator with ``httpx.Client`` and ``time.sleep``, the async one with
``httpx.AsyncClient`` and ``asyncio.sleep``. Building requests, authentication, the retry
policy and error mapping live here, once.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx
import orjson

from ._exceptions import (
    ClayError,
    UnauthorizedError,
    error_for,
    retry_after_seconds,
    transport_error,
)

DEFAULT_BASE_URL = "https://api.clay.com/v3"
SESSION_COOKIE = "claysession"

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Req:
    """One HTTP request. ``path`` is relative to the base URL (``/tables/t_1``), to the
    server root when ``root`` (``/_claystack/health``), or an absolute URL."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    has_body: bool = False
    auth: bool = True
    root: bool = False
    raw: bool = False
    login: bool = False
    headers: dict[str, str] | None = None
    # A multipart/form-data body: form fields and files as httpx takes them.
    form: dict[str, str] | None = None
    files: Any = None
    # Stream the answer's body into this file instead of reading it; the result is its size.
    save_to: str | None = None


def req(method: str, path: str, body: Any = ..., **kwargs: Any) -> Req:
    """A request; pass ``body`` (even ``None``) to send a JSON body."""
    if body is ...:
        return Req(method, path, **kwargs)
    return Req(method, path, json=body, has_body=True, **kwargs)


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    item: Any


Instruction = Req | Sleep | Emit
Op = Generator[Instruction, Any, T]


class Sync:
    """Marks resources bound to :class:`Client`."""


class Async:
    """Marks resources bound to :class:`AsyncClient`."""


class Namespace(Generic[M]):
    """A namespace of methods (``client.tables``); ``M`` says which executor runs them."""

    def __init__(self, core: Core) -> None:
        self._core = core


class Endpoint(Generic[P, T]):
    """A method written once as an :data:`Op` generator. Read from a sync resource it is a
    plain function returning ``T``; from an async resource it returns an awaitable."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Op[T]], routes: tuple[str, ...]) -> None:
        self.fn = fn
        self.routes = routes
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: Namespace[Async], owner: type | None = None
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        core, fn = obj._core, self.fn

        @functools.wraps(fn)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return core.execute(fn(obj, *args, **kwargs))

        return bound


class Pager(Endpoint[P, T]):
    """Like :class:`Endpoint`, for methods that produce many items: an ``Iterator`` from a
    sync resource, an ``AsyncIterator`` from an async one. Pages are fetched as you go."""

    @overload  # type: ignore[override]
    def __get__(self, obj: None, owner: type | None = None) -> Pager[P, T]: ...
    @overload
    def __get__(
        self, obj: Namespace[Sync], owner: type | None = None
    ) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(
        self, obj: Namespace[Async], owner: type | None = None
    ) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        core, fn = obj._core, self.fn

        @functools.wraps(fn)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return core.iterate(fn(obj, *args, **kwargs))

        return bound


def api(
    *routes: str,
) -> Callable[[Callable[Concatenate[Any, P], Op[T]]], Endpoint[P, T]]:
    """Declares an SDK method and the HTTP routes it calls (``"GET /tables/{tableId}"``)."""

    def wrap(fn: Callable[Concatenate[Any, P], Op[T]]) -> Endpoint[P, T]:
        return Endpoint(fn, routes)

    return wrap


def pages(
    item: type[T], *routes: str
) -> Callable[[Callable[Concatenate[Any, P], Op[None]]], Pager[P, T]]:
    """Declares an SDK method that emits ``item`` objects (see :class:`Pager`)."""

    def wrap(fn: Callable[Concatenate[Any, P], Op[None]]) -> Pager[P, T]:
        return Pager(fn, routes)  # type: ignore[arg-type]

    return wrap


@dataclass
class SessionCredentials:
    """Credentials and the current session; shared by a client's resources."""

    email: str | None = None
    password: str | None = None
    session: str | None = None
    token: str | None = None
    relogins: int = field(default=0)


class Core:
    """Request building, authentication and the retry policy, shared by both executors."""

    def __init__(
        self,
        base_url: str | None,
        *,
        email: str | None,
        password: str | None,
        session: str | None,
        token: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        max_retry_wait: float,
        headers: dict[str, str] | None,
    ) -> None:
        url = base_url or os.environ.get("CLAYSTACK_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = url.rstrip("/")
        self.root_url = self.base_url.removesuffix("/v3")
        if (email is None) != (password is None):
            raise ValueError("give both email and password, or neither")
        self.auth = SessionCredentials(email=email, password=password, session=session, token=token)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.headers = {"user-agent": f"claystack-python/{_version()}", **(headers or {})}

    # -- building ------------------------------------------------------------------------

    def url(self, r: Req) -> str:
        if r.path.startswith(("http://", "https://")):
            return r.path
        return (self.root_url if r.root else self.base_url) + r.path

    def build(self, r: Req) -> httpx.Request:
        headers = {**self.headers, **(r.headers or {})}
        if r.auth:
            if self.auth.token:
                headers["authorization"] = f"Bearer {self.auth.token}"
            elif self.auth.session:
                headers["cookie"] = f"{SESSION_COOKIE}={self.auth.session}"
        content = None
        if r.has_body:
            content = orjson.dumps(r.json, option=orjson.OPT_NON_STR_KEYS)
            headers["content-type"] = "application/json"
        params = {k: v for k, v in (r.params or {}).items() if v is not None}
        return httpx.Request(
            r.method,
            self.url(r),
            params=params or None,
            content=content,
            data=r.form,
            files=r.files,
            headers=headers,
            extensions={"timeout": self.timeout.as_dict()},
        )

    def login_request(self) -> Req:
        body = {"email": self.auth.email, "password": self.auth.password, "source": None}
        return req("POST", "/auth/login", body, auth=False, raw=True, login=True)

    def needs_login(self, r: Req) -> bool:
        a = self.auth
        return r.auth and not a.token and not a.session and a.email is not None

    def remember_login(self, response: httpx.Response) -> None:
        session = response.cookies.get(SESSION_COOKIE)
        if not session:
            raise UnauthorizedError(
                "The server accepted the login but set no claysession cookie",
                type="Unauthorized",
                status_code=response.status_code,
                response=response,
            )
        self.auth.session = session

    # -- the policy ----------------------------------------------------------------------

    def retry_delay(self, r: Req, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before sending ``r`` again, or ``None`` to stop here."""
        if response.status_code != 429 or attempt >= self.max_retries:
            return None
        wait = retry_after_seconds(response)
        if wait is None:
            wait = min(8.0, 0.5 * 2**attempt)
        return wait if wait <= self.max_retry_wait else None

    def should_relogin(self, r: Req, response: httpx.Response, relogged: bool) -> bool:
        """A 401 on a session made from email and password: the session expired or was
        revoked. Log in again, once, and resend."""
        a = self.auth
        return (
            response.status_code == 401
            and r.auth
            and not r.login
            and not relogged
            and not a.token
            and a.email is not None
            and a.password is not None
        )

    def result(self, r: Req, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_for(response)
        if r.raw:
            return response
        if not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ClayError(
                f"{r.method} {self.url(r)} answered {response.status_code} with a body "
                "that is not JSON (is the base URL right?)",
                type="InvalidResponse",
                status_code=response.status_code,
                response=response,
            ) from None

    def execute(self, gen: Op[Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def iterate(self, gen: Op[Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class SyncCore(Core):
    """Drives operations with ``httpx.Client``."""

    def __init__(self, http: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = http

    def send(self, r: Req) -> Any:
        if self.needs_login(r):
            self.remember_login(self.send(self.login_request()))
        attempt, relogged = 0, False
        while True:
            try:
                response = self.http.send(self.build(r), stream=r.save_to is not None)
                if r.save_to is not None and response.status_code < 300:
                    return _save(response, r.save_to)
                response.read()
            except httpx.TransportError as exc:
                raise transport_error(exc, self.root_url) from exc
            delay = self.retry_delay(r, response, attempt)
            if delay is not None:
                time.sleep(delay)
                attempt += 1
            elif self.should_relogin(r, response, relogged):
                relogged = True
                self.auth.session = None
                self.remember_login(self.send(self.login_request()))
            else:
                return self.result(r, response)

    def iterate(self, gen: Op[Any]) -> Iterator[Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration:
                return
            value, error = None, None
            if isinstance(step, Emit):
                yield step.item
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                try:
                    value = self.send(step)
                except ClayError as exc:
                    error = exc

    def execute(self, gen: Op[Any]) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            elif isinstance(step, Req):
                try:
                    value = self.send(step)
                except ClayError as exc:
                    error = exc


class AsyncCore(Core):
    """Drives operations with ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = http

    async def send(self, r: Req) -> Any:
        if self.needs_login(r):
            self.remember_login(await self.send(self.login_request()))
        attempt, relogged = 0, False
        while True:
            try:
                response = await self.http.send(self.build(r), stream=r.save_to is not None)
                if r.save_to is not None and response.status_code < 300:
                    return await _asave(response, r.save_to)
                await response.aread()
            except httpx.TransportError as exc:
                raise transport_error(exc, self.root_url) from exc
            delay = self.retry_delay(r, response, attempt)
            if delay is not None:
                await asyncio.sleep(delay)
                attempt += 1
            elif self.should_relogin(r, response, relogged):
                relogged = True
                self.auth.session = None
                self.remember_login(await self.send(self.login_request()))
            else:
                return self.result(r, response)

    async def iterate(self, gen: Op[Any]) -> AsyncIterator[Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration:
                return
            value, error = None, None
            if isinstance(step, Emit):
                yield step.item
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                try:
                    value = await self.send(step)
                except ClayError as exc:
                    error = exc

    async def execute(self, gen: Op[Any]) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Req):
                try:
                    value = await self.send(step)
                except ClayError as exc:
                    error = exc


def _save(response: httpx.Response, path: str) -> int:
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in response.iter_bytes():
                size += out.write(chunk)
    finally:
        response.close()
    return size


async def _asave(response: httpx.Response, path: str) -> int:
    size = 0
    try:
        with open(path, "wb") as out:
            async for chunk in response.aiter_bytes():
                size += out.write(chunk)
    finally:
        await response.aclose()
    return size


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("claystack")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0"
