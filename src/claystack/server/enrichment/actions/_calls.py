"""One outbound call of an HTTP-backed action (http-api-v2, use-ai): ``_http.request`` under
the action's timeout, with its failures and its answer's status turned into ``ActionError``s
the same way for every such action.

``transient(message, status, after)`` makes the error of a failure worth retrying (network
errors, timeouts, 429 and 5xx answers): each action decides whether and how often it retries.
``scrub`` takes secrets (an API key) out of every message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import aiohttp
from yarl import URL

from ....integrations import ActionError
from ....wire.cells import CellStatus
from . import _http

Transient = Callable[..., ActionError]


def _keep(text: str) -> str:
    return text


async def send(
    method: str,
    url: URL,
    policy: _http.Policy | None,
    *,
    seconds: float,
    transient: Transient,
    scrub: Callable[[str], str] = _keep,
    invalid_url: str = "Invalid url: {exc}",
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    max_redirects: int = 0,
    max_bytes: int | None = None,
) -> _http.Reply:
    """The answer to one request (any status), or the ActionError its failure is."""
    try:
        async with asyncio.timeout(seconds):
            return await _http.request(
                method,
                url,
                policy,
                headers=headers,
                content=content,
                max_redirects=max_redirects,
                max_bytes=max_bytes,
            )
    except TimeoutError:
        raise transient(f"No response within {seconds:g}s", CellStatus.ERROR_TIMEOUT) from None
    except _http.RefusedTarget as exc:
        raise ActionError(str(exc), CellStatus.ERROR_INVALID_INPUT) from None
    except (_http.TooManyRedirects, _http.ResponseTooLarge) as exc:
        raise ActionError(str(exc), CellStatus.ERROR) from None
    except aiohttp.InvalidURL as exc:
        message = invalid_url.format(exc=exc)
        raise ActionError(scrub(message), CellStatus.ERROR_INVALID_INPUT) from None
    except aiohttp.ClientPayloadError as exc:
        if "encoding" in str(exc).lower():  # a body that does not decode: retrying won't help
            raise ActionError(scrub(f"HTTP error: {exc}"), CellStatus.ERROR) from None
        raise transient(scrub(f"Network error: {exc}")) from None
    except aiohttp.ClientError as exc:
        detail = str(exc) or type(exc).__name__
        raise transient(scrub(f"Network error: {detail}")) from None


def check_status(
    response: _http.Reply, transient: Transient, scrub: Callable[[str], str] = _keep
) -> None:
    """Raises for an answer that is not a 2xx: 429 and 5xx through ``transient`` (with the
    answer's ``Retry-After``), any other status as a plain error."""
    code = response.status_code
    if 200 <= code < 300:
        return
    message = scrub(f"HTTP {code}: {_http.short_text(response.content)}")
    if code == 429 or code >= 500:
        raise transient(message, after=_http.retry_after(response))
    raise ActionError(message, CellStatus.ERROR)
