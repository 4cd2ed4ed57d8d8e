"""The plugin contract for integrations.

An integration is a provider (an HTTP API, an AI endpoint, an offline normalizer) that
offers one or more actions. Built-ins and third-party packages register the same way: an
entry point in the ``claystack.integrations`` group whose object is an ``Integration``.

    [project.entry-points."claystack.integrations"]
    my-provider = "my_package.integration:integration"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RunContext:
    """What an action may know about the cell it fills."""

    workspace_id: int
    table_id: str
    field_id: str
    record_id: str
    credentials: Mapping[str, Any]
    settings: Any
    db: Any = None  # the server's Database: built-in actions that read claystack's own tables


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one execution.

    ``value`` is the display value written to the cell; ``full_value`` the whole JSON
    result (``externalContent.fullValue``). ``has_data=False`` means SUCCESS_NO_DATA.
    """

    value: Any
    full_value: Any = None
    has_data: bool = True
    credits: int | None = None  # overrides the action's price (e.g. per-model AI prices)


class ActionError(Exception):
    """A provider failure; ``status`` is the cell status to record (``ERROR`` by default).

    ``retryable`` marks a transient failure (429, 5xx, network, timeout) that the engine
    may run again, after ``retry_after`` seconds when the provider said so, and at most
    ``max_retries`` times when the action's inputs set a limit (None: the engine's own).
    Once retries are spent, ``status`` and ``message`` are the cell's final error.
    """

    def __init__(
        self,
        message: str,
        status: str = "ERROR",
        retryable: bool = False,
        retry_after: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.max_retries = max_retries


class ActionFn(Protocol):
    async def __call__(self, inputs: dict[str, Any], ctx: RunContext) -> ActionResult: ...


class QuoteFn(Protocol):
    def __call__(
        self, inputs: Mapping[str, Any], credentials: Mapping[str, Any], settings: Any
    ) -> int: ...


@dataclass(frozen=True)
class Action:
    """One thing an integration does for a cell.

    ``credits`` is the integer price of a successful execution. An action whose price
    depends on its inputs (an AI model, say) also gives ``quote``: the price of one
    execution with these inputs, known before it runs, so that the engine holds enough of
    the workspace's balance for it; what the result says (``ActionResult.credits``) is what
    is charged.

    ``clay_action_key`` and ``clay_package_id`` are the names Clay gives this action
    (``actionKey``, ``actionPackageId``) when they differ from ``key`` and the integration's
    key: the catalog (``GET /v3/actions``) lists them, so clients written for Clay find it.
    """

    key: str
    display_name: str
    run: ActionFn
    input_schema: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] = field(default_factory=dict)
    credits: int = 0
    quote: QuoteFn | None = None
    description: str = ""
    clay_action_key: str | None = None
    clay_package_id: str | None = None

    def price(
        self, inputs: Mapping[str, Any], credentials: Mapping[str, Any], settings: Any
    ) -> int:
        """What one execution with ``inputs`` is expected to cost."""
        if self.quote is None:
            return self.credits
        return int(self.quote(inputs, credentials, settings))


@dataclass(frozen=True)
class Integration:
    key: str  # the actionPackageId / app-account type, e.g. "http-api-v2"
    display_name: str
    actions: tuple[Action, ...]
    credentials_schema: dict[str, Any] = field(default_factory=dict)
    max_concurrency: int | None = None
    rate_per_second: float | None = None
    clay_package_id: str | None = None  # Clay's actionPackageId for every action, if it has one

    def action(self, key: str) -> Action | None:
        """The action of this key (claystack's ``key`` or Clay's ``clay_action_key``)."""
        found = next((a for a in self.actions if a.key == key), None)
        return found or next((a for a in self.actions if a.clay_action_key == key), None)
