"""Finds integrations: every entry point in the ``claystack.integrations`` group, plus any
registered at run time with :func:`register` (embedding applications, test suites)."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from .base import Integration

GROUP = "claystack.integrations"
log = logging.getLogger("claystack")
_registered: dict[str, Integration] = {}


@cache
def _discovered() -> dict[str, Integration]:
    found: dict[str, Integration] = {}
    for ep in entry_points(group=GROUP):
        try:
            obj = ep.load()
        except Exception:  # a broken plugin must not take the server down
            log.exception("could not load integration %s", ep.name)
            continue
        if not isinstance(obj, Integration):
            log.error("entry point %s is not a claystack Integration", ep.name)
            continue
        found[obj.key] = obj
    return found


@cache
def integrations() -> dict[str, Integration]:
    """Integration key → integration, built-ins and third-party alike (loaded once)."""
    return {**_discovered(), **_registered}


def get(key: str) -> Integration | None:
    return integrations().get(key)


def register(integration: Integration) -> None:
    """Adds (or replaces) an integration in this process, as an entry point would."""
    if not isinstance(integration, Integration):
        raise TypeError("register() takes a claystack Integration")
    _registered[integration.key] = integration
    integrations.cache_clear()


def unregister(key: str) -> None:
    """Removes an integration added with :func:`register`."""
    _registered.pop(key, None)
    integrations.cache_clear()
