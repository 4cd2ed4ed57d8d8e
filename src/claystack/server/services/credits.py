"""The credit ledger: an append-only list of integer amounts. Balances are sums over it."""

from __future__ import annotations

from typing import Any

from ..storage.repositories.ledger import balance, charge, charge_many, grant

__all__ = [
    "balance",
    "charge",
    "charge_many",
    "execution_price",
    "grant",
    "price_override",
]


def _price_names(integration: Any, action: Any) -> list[str]:
    keys = [action.key, getattr(action, "clay_action_key", None)]
    packages = [integration.key, getattr(integration, "clay_package_id", None)]
    packages.append(getattr(action, "clay_package_id", None))
    names = [f"{p}/{k}" for p in packages if p for k in keys if k]
    return names + [k for k in keys if k]


def price_override(settings: Any, integration: Any, action: Any) -> int | None:
    """The price ``CLAYSTACK_ACTION_PRICES`` sets for an action (``package/actionKey`` before
    ``actionKey``; claystack's or Clay's names), or None when it sets none."""
    prices: dict[str, int] = getattr(settings, "action_prices", None) or {}
    if prices:
        for name in _price_names(integration, action):
            if name in prices:
                return int(prices[name])
    return None


def execution_price(settings: Any, integration: Any, action: Any, own: int) -> int:
    """What one execution is charged: the configured override, else ``own`` (the action's
    price or what its result said)."""
    override = price_override(settings, integration, action)
    return max(0, int(own if override is None else override))
