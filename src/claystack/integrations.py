"""The public plugin API: what an integration package imports.

An integration groups actions of one provider (an HTTP API, an AI endpoint, an offline
normalizer). Built-ins and third-party packages register the same way: an entry point in the
``claystack.integrations`` group whose object is an :class:`Integration`.

    [project.entry-points."claystack.integrations"]
    my-provider = "my_package.integration:integration"

An action receives its inputs and a :class:`RunContext`: the cell it fills, its app account's
credentials, a shared HTTP session, a logger and the limits it runs under. Nothing else of the
server (its settings, its secrets, its database) reaches a plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .wire.cells import CellStatus

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "Action",
    "ActionError",
    "ActionFn",
    "ActionResult",
    "BatchFn",
    "CellStatus",
    "Integration",
    "Limits",
    "QuoteFn",
    "RunContext",
]

_LOG = logging.getLogger("claystack.integrations")


@dataclass(frozen=True)
class Limits:
    """What an execution may take: ``timeout_seconds`` bounds one execution (the engine
    cancels it after that), ``max_cell_bytes`` the JSON size of its result."""

    timeout_seconds: float = 120.0
    max_cell_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class RunContext:
    """What an action may know about the cell it fills: where it is, its app account's
    ``credentials`` (empty when the integration needs none), a ``logger``, the ``limits`` it
    runs under, and :attr:`http`, a shared HTTP session."""

    workspace_id: int
    table_id: str
    field_id: str
    record_id: str
    credentials: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    logger: logging.Logger = _LOG
    # The instance's outbound-address policy (which private networks :attr:`http` may reach).
    http_policy: Any = field(default=None, repr=False)

    @property
    def http(self) -> aiohttp.ClientSession:
        """The server's shared ``aiohttp`` session. It refuses private and loopback addresses
        unless the instance allows them (``CLAYSTACK_HTTP_ALLOW_PRIVATE``,
        ``CLAYSTACK_HTTP_ALLOWED_HOSTS``), keeps no cookies, and has no timeout of its own:
        the engine bounds the whole execution with ``limits.timeout_seconds``."""
        from .server.enrichment.actions import _http

        policy = self.http_policy if self.http_policy is not None else _http.Policy()
        return _http.session(policy)


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
        status: str = CellStatus.ERROR,
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


class BatchFn(Protocol):
    """Runs many cells of one column at once (one provider call for many rows, say). Answers
    one :class:`ActionResult` or :class:`ActionError` per input, in order."""

    async def __call__(
        self, inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext]
    ) -> list[ActionResult | ActionError]: ...


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

    ``run_batch`` is optional: when given, the engine hands it the cells of one column that
    are ready together instead of calling ``run`` once per cell (see :meth:`execute_batch`).

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
    run_batch: BatchFn | None = None

    def price(
        self, inputs: Mapping[str, Any], credentials: Mapping[str, Any], settings: Any
    ) -> int:
        """What one execution with ``inputs`` is expected to cost."""
        if self.quote is None:
            return self.credits
        return int(self.quote(inputs, credentials, settings))

    async def execute_batch(
        self, inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext]
    ) -> list[ActionResult | ActionError]:
        """``run_batch`` when the action has one, else ``run`` for each input in turn."""
        if self.run_batch is not None:
            results = await self.run_batch(inputs_list, ctxs)
            if len(results) != len(inputs_list):
                raise ActionError(
                    f"run_batch answered {len(results)} results for {len(inputs_list)} inputs"
                )
            return list(results)
        out: list[ActionResult | ActionError] = []
        for inputs, ctx in zip(inputs_list, ctxs, strict=True):
            try:
                out.append(await self.run(inputs, ctx))
            except ActionError as exc:
                out.append(exc)
        return out


@dataclass(frozen=True)
class Integration:
    """A group of actions of one provider. ``key`` is its app-account type and Clay's
    ``actionPackageId`` (unless ``clay_package_id`` gives Clay's own); a connected app account
    holds the credentials that ``credentials_schema`` (JSON Schema) describes."""

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
