"""Renders ``docs/api.md`` from the SDK itself (``scripts/gen_api_docs.py`` writes it; a test
checks it is current)."""

from __future__ import annotations

import inspect
from typing import Any

from ._base import Endpoint, Pager
from .resources import NAMESPACES

HEADER = """\
# Python SDK reference

Generated from `src/claystack/client` by `scripts/gen_api_docs.py`; do not edit by hand.

Every method exists on `Client` (returns the value) and on `AsyncClient` (returns an
awaitable; iterators become async iterators), under the same namespace:
`client.tables.count("t_…")` / `await client.tables.count("t_…")`. Paths are relative to
the base URL's host; `client.webhooks` is `client.sources` and `client.wait_for_run` is
`client.runs.wait`. Errors raise a subclass of `claystack.ClayError`.
"""


def _signature(fn: Any) -> str:
    parts: list[str] = []
    star = False
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        default = "" if p.default is p.empty else f"={p.default!r}"
        parts.append(p.name + default)
    return f"({', '.join(parts)})"


def _route(route: str) -> str:
    method, path = route.split(" ", 1)
    return f"`{method} {path if path.startswith('/_claystack') else '/v3' + path}`"


def render() -> str:
    out = [HEADER]
    for name, cls in NAMESPACES.items():
        out.append(f"## `client.{name}`\n\n{inspect.getdoc(cls) or ''}\n")
        out.append("| method | HTTP | what it does |\n|---|---|---|")
        for attr, member in vars(cls).items():
            if not isinstance(member, Endpoint):
                continue
            doc = " ".join((inspect.getdoc(member.fn) or "").split("\n\n")[0].split())
            doc = doc.replace("|", "\\|")
            kind = " → iterator" if isinstance(member, Pager) else ""
            routes = "<br>".join(_route(r) for r in member.routes)
            out.append(f"| `{attr}{_signature(member.fn)}`{kind} | {routes} | {doc} |")
        out.append("")
    return "\n".join(out)


def routes() -> list[tuple[str, str, str]]:
    """(namespace.method, HTTP method, path) for every SDK method."""
    found = []
    for name, cls in NAMESPACES.items():
        for attr, member in vars(cls).items():
            if isinstance(member, Endpoint):
                for route in member.routes:
                    method, path = route.split(" ", 1)
                    found.append((f"{name}.{attr}", method, path))
    return found
