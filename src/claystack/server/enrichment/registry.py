"""Finds integrations: every entry point in the ``claystack.integrations`` group."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from .base import Integration

GROUP = "claystack.integrations"
log = logging.getLogger("claystack")


@cache
def integrations() -> dict[str, Integration]:
    """Integration key → integration, built-ins and third-party alike (loaded once)."""
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


def get(key: str) -> Integration | None:
    return integrations().get(key)


def register(integration: Integration) -> None:
    """Adds (or replaces) an integration in this process, as an entry point would: for
    applications embedding the server and for tests."""
    integrations()[integration.key] = integration
