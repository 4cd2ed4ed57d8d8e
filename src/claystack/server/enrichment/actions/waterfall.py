"""The waterfall: a composite action. Its steps are ordinary actions, tried in order until
one returns data.

The engine treats every action field as a list of steps (``step_specs``): a plain action is
one step, a waterfall several. It plans each step like any action (inputs, credentials,
price) and calls each under that step's own integration limits; what makes the composite is
here: which steps may be passed over, what a run must be able to pay before it starts, and
how the steps' answers make one cell (``run``).

- A step whose action is not installed, or whose inputs are blank or fail, is passed over
  (a plain action with such a step fails its cell instead).
- A step the credits still held for the cell cannot pay for is not called.
- The first step with data wins; the cell's full value is
  ``{value, result, step, steps}``: the winner's value and full result, the winning step
  and the trail of every step tried. Steps that ran are charged, the others are not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ....integrations import Action, ActionError, ActionResult, Integration
from ....wire.cells import CellStatus

KEY = "waterfall"  # a waterfall field's actionPackageId and actionKey


def is_composite(settings: Mapping[str, Any]) -> bool:
    return settings.get("actionPackageId") == KEY


def step_specs(settings: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The action settings a field runs, in order: a waterfall's steps, or the field's own."""
    if is_composite(settings):
        return [s for s in settings.get("steps") or [] if isinstance(s, Mapping)]
    return [settings]


def price_to_start(composite: bool, prices: Sequence[int]) -> int:
    """What a cell must be able to pay before it runs, given its runnable steps' prices: a
    waterfall its cheapest paid step (it may stop there), a plain action its price."""
    if composite:
        return min((p for p in prices if p > 0), default=0)
    return sum(prices)


def most_it_may_cost(composite: bool, prices: Sequence[int]) -> int:
    """The most one cell can spend: every runnable step of a waterfall, else the one price."""
    return sum(prices) if composite else (prices[0] if prices else 0)


class PlannedStep(Protocol):
    """What the planner knows of a step (``engine.work.Step``)."""

    @property
    def integration(self) -> Integration: ...
    @property
    def action(self) -> Action: ...
    @property
    def inputs(self) -> dict[str, Any] | None: ...  # None: passed over (``blank`` says why)
    @property
    def blank(self) -> str | None: ...
    @property
    def price(self) -> int: ...


class HasAmount(Protocol):
    @property
    def amount(self) -> int: ...


C = TypeVar("C", bound=HasAmount)


@dataclass
class Result(Generic[C]):
    status: str
    value: Any = None
    full_value: Any = None
    error: str | None = None
    charges: list[C] = field(default_factory=list)


async def run(
    steps: Sequence[PlannedStep],
    budget: int,
    call: Callable[[int], Awaitable[ActionResult]],
    charge: Callable[[int, ActionResult], list[C]],
) -> Result[C]:
    """Tries ``steps`` in order with ``budget`` credits: ``call(i)`` runs step ``i`` (under its
    limits and timeout), ``charge(i, result)`` is what that run costs."""
    charges: list[C] = []
    trail: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        info: dict[str, Any] = {
            "index": i,
            "actionPackageId": step.integration.key,
            "actionKey": step.action.key,
        }
        if step.inputs is None:
            trail.append({**info, "status": CellStatus.ERROR_BLANK_TOKEN, "error": step.blank})
            continue
        if step.price > budget:
            trail.append({**info, "status": CellStatus.ERROR_OUT_OF_CREDITS})
            continue
        try:
            result = await call(i)
        except Exception as exc:
            status = exc.status if isinstance(exc, ActionError) else CellStatus.ERROR
            message = exc.message if isinstance(exc, ActionError) else f"{exc}"
            trail.append({**info, "status": status, "error": message})
            continue
        step_charges = charge(i, result)
        budget -= sum(c.amount for c in step_charges)
        charges += step_charges
        status = CellStatus.SUCCESS if result.has_data else CellStatus.SUCCESS_NO_DATA
        trail.append({**info, "status": status})
        if result.has_data:
            full = result.full_value if result.full_value is not None else result.value
            wrapped = {"value": result.value, "result": full, "step": info, "steps": trail}
            return Result(CellStatus.SUCCESS, result.value, wrapped, charges=charges)
    steps_only = {"steps": trail}
    if any(t["status"] == CellStatus.SUCCESS_NO_DATA for t in trail):
        return Result(CellStatus.SUCCESS_NO_DATA, full_value=steps_only, charges=charges)
    tried = [t for t in trail if t["status"] != CellStatus.ERROR_BLANK_TOKEN]
    if all(t["status"] == CellStatus.ERROR_OUT_OF_CREDITS for t in tried):
        return Result(
            CellStatus.ERROR_OUT_OF_CREDITS, full_value=steps_only, error="Out of credits"
        )
    last = next(t for t in reversed(trail) if "error" in t)
    error = f"No step returned data; last error: {last.get('error')}"
    return Result(CellStatus.ERROR, full_value=steps_only, error=error, charges=charges)
