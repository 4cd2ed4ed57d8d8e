"""The long tail of spec part 2 §11 and §13: what claystack can serve offline is served
(workspace users, model base costs, credit limits), hosted-only features answer empty reads,
and what needs Clay's own data answers a clear 400."""

from __future__ import annotations

from typing import Any, NoReturn

from ...wire import AudienceOut, EnrichmentRunOut, WorkbookBalance
from ..enrichment import context, registry
from ..enrichment.actions import ai, local, normalize
from ..enrichment.base import ActionError
from ..errors import BadRequest, NotFound
from ..ids import new_id
from ..storage.repositories import Connection, ledger
from . import credits, workspaces
from .common import Actor, Scope

HOSTED_DATA = "{what} needs Clay's hosted data, which a self-hosted claystack does not have"


def hosted_only(what: str) -> BadRequest:
    return BadRequest(HOSTED_DATA.format(what=what))


async def users(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    return [
        {"id": m["userId"], "email": m["email"], "name": m["name"], "role": m["role"]}
        for m in await workspaces.members(conn, scope)
    ]


def base_costs(settings: Any) -> list[dict[str, Any]]:
    return [{"model": m, "credits": c} for m, c in sorted(ai.prices(settings).items())]


def signal(signal_id: str) -> NoReturn:
    raise NotFound("Signal not found")


def empty_audience(part: str) -> AudienceOut:
    if part == "segments":
        return AudienceOut.build(segments=[], total=0)
    if part == "count":
        return AudienceOut.build(count=0)
    if part == "contacts":
        return AudienceOut.build(
            contacts=[], pagination={"total": 0, "offset": 0, "hasMore": False}
        )
    if part == "imports":
        return AudienceOut.build(imports=[])
    raise NotFound("Audience resource not found")


async def workbook_balance(conn: Connection, scope: Scope, workbook_id: str) -> WorkbookBalance:
    """No limit is set on claystack: ``creditsUsed`` is what the workbook's tables spent."""
    used = await ledger.spent_by_workbook(conn, scope.workspace_id, workbook_id)
    return WorkbookBalance.build(
        creditLimit=None,
        creditsUsed=used,
        balance=await credits.balance(conn, scope.workspace_id),
        workbookId=workbook_id,
    )


# Actions run-enrichment executes: offline and free, and reading claystack's tables at most.
LOCAL_INTEGRATIONS = (local.KEY, normalize.integration.key, normalize.domain_integration.key)


async def run_enrichment(
    conn: Connection, actor: Actor, body: dict[str, Any], settings: Any, db: Any
) -> EnrichmentRunOut:
    """Runs one local action on ``inputs`` once, outside any table: ``{result, metadata:
    {status}, taskId}``. Actions that need a provider (or write to a table) are a 400."""
    scope = await workspaces.default_workspace(conn, actor, body.get("workspaceId"))
    kind = body.get("enrichmentType") or body.get("actionKey")
    if not isinstance(kind, str) or not kind:
        raise BadRequest('Invalid request parameter(s): Field "enrichmentType" - Required')
    inputs = body.get("inputs") if body.get("inputs") is not None else {}
    if not isinstance(inputs, dict):
        raise BadRequest('Invalid request parameter(s): Field "inputs" - Expected object')
    found = registry.resolve(str(body.get("actionPackageId") or ""), kind)
    if found is None or found[0].key not in LOCAL_INTEGRATIONS or "write" in found[1].key:
        raise BadRequest(
            f'"{kind}" cannot run outside a table on claystack: only local actions '
            "(normalizers, lookups, functions) run through run-enrichment"
        )
    ctx = context.for_action(
        found[1],
        workspace_id=scope.workspace_id,
        table_id="",
        field_id="",
        record_id="",
        credentials={},
        settings=settings,
        db=db,
    )
    task = new_id("task")
    try:
        result = await found[1].run(dict(inputs), ctx)
    except ActionError as exc:
        return EnrichmentRunOut.build(
            result=None,
            metadata={"status": exc.status, "error": exc.message},
            taskId=task,
        )
    status = "SUCCESS" if result.has_data else "SUCCESS_NO_DATA"
    return EnrichmentRunOut.build(
        result=result.value,
        metadata={"status": status},
        taskId=task,
        fullValue=result.full_value,
    )
