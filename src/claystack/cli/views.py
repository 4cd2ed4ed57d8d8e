"""``claystack views …``: list, filter, sort, hide, move and search views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ._common import JsonOpt, TableArg
from ._common import open_client as _client
from ._common import print_json as _print_json
from ._common import print_table as _table_out
from ._common import resolve_fields as _resolve_fields
from ._console import console, fail

views_app = typer.Typer(
    help="Views: list, filter, sort, show/hide columns, search.", no_args_is_help=True
)
ViewArg = Annotated[str, typer.Argument(help="View id (gv_…)")]
OPERATORS = ("EQUAL", "NOT_EQUAL", "CONTAIN", "NOT_CONTAIN", "EMPTY", "NOT_EMPTY")

if TYPE_CHECKING:
    from ..client import View


def _show(view: View, json: bool) -> None:
    if json:
        _print_json(view)
        return
    kind = view.typeSettings.get("preconfiguredType") or "custom"
    console.print(f"[bold]{view.name}[/bold] {view.id} ({kind})", highlight=False)
    columns = sorted(view.fields.items(), key=lambda kv: kv[1].order)
    _table_out(
        None,
        ["field", "visible", "width", "pinned"],
        ([f, c.isVisible, c.width, c.isPinned] for f, c in columns),
    )


@views_app.command("list")
def views_list(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """List a table's views."""
    with _client(ctx) as client:
        views = client.views.list(table_id)
    if json:
        _print_json(views)
        return
    _table_out(
        None,
        ["id", "name", "type"],
        ([v.id, v.name, v.typeSettings.get("preconfiguredType") or ""] for v in views),
    )


@views_app.command("show")
def views_show(
    ctx: typer.Context, table_id: TableArg, view_id: ViewArg, json: JsonOpt = False
) -> None:
    """Show a view's columns in order."""
    with _client(ctx) as client:
        _show(client.views.get(table_id, view_id), json)


@views_app.command("filter")
def views_filter(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    conditions: Annotated[
        list[str] | None,
        typer.Argument(help="FIELD:OPERATOR[:VALUE], e.g. Company:CONTAIN:acme; none clears"),
    ] = None,
    any_: Annotated[bool, typer.Option("--any", help="Match any condition (OR)")] = False,
    json: JsonOpt = False,
) -> None:
    """Set a view's filter (operators: EQUAL, NOT_EQUAL, CONTAIN, NOT_CONTAIN, EMPTY,
    NOT_EMPTY)."""
    with _client(ctx) as client:
        table = client.tables.get(table_id)
        items = []
        for text in conditions or []:
            field, _, rest = text.partition(":")
            op, _, value = rest.partition(":")
            if op.upper() not in OPERATORS:
                fail(
                    f"{text!r}: expected FIELD:OPERATOR[:VALUE] with one of {', '.join(OPERATORS)}"
                )
            [fid] = _resolve_fields(table, [field])
            item = {"fieldId": fid, "type": op.upper()}
            if value:
                item["value"] = value
            items.append(item)
        view = client.views.set_filter(table_id, view_id, items, mode="OR" if any_ else "AND")
    _show(view, json)


@views_app.command("sort")
def views_sort(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    keys: Annotated[
        list[str] | None, typer.Argument(help="FIELD[:ASC|DESC], in order; none clears")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Set a view's sort."""
    with _client(ctx) as client:
        table = client.tables.get(table_id)
        items = []
        for text in keys or []:
            field, _, direction = text.partition(":")
            [fid] = _resolve_fields(table, [field])
            items.append({"fieldId": fid, "direction": (direction or "ASC").upper()})
        view = client.views.set_sort(table_id, view_id, items)
    _show(view, json)


def _visibility(
    ctx: typer.Context, table_id: str, view_id: str, fields: list[str], on: bool
) -> View:
    with _client(ctx) as client:
        ids = _resolve_fields(client.tables.get(table_id), fields)
        return client.views.set_columns(table_id, view_id, {f: {"isVisible": on} for f in ids})


@views_app.command("hide")
def views_hide(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    fields: Annotated[list[str], typer.Argument(help="Field names or ids")],
    json: JsonOpt = False,
) -> None:
    """Hide columns in a view."""
    _show(_visibility(ctx, table_id, view_id, fields, False), json)


@views_app.command("unhide")
def views_unhide(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    fields: Annotated[list[str], typer.Argument(help="Field names or ids")],
    json: JsonOpt = False,
) -> None:
    """Show hidden columns in a view again."""
    _show(_visibility(ctx, table_id, view_id, fields, True), json)


@views_app.command("move")
def views_move(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    field: Annotated[str, typer.Argument(help="Field name or id to move")],
    after: Annotated[str | None, typer.Option(help="Put it after this field")] = None,
    before: Annotated[str | None, typer.Option(help="Put it before this field")] = None,
    json: JsonOpt = False,
) -> None:
    """Move a column within a view."""
    if (after is None) == (before is None):
        fail("give exactly one of --after and --before")
    with _client(ctx) as client:
        table = client.tables.get(table_id)
        [fid] = _resolve_fields(table, [field])
        anchor = _resolve_fields(table, [after or before or ""])[0]
        view = client.views.set_column(
            table_id,
            view_id,
            fid,
            after=anchor if after else None,
            before=anchor if before else None,
        )
    _show(view, json)


@views_app.command("duplicate")
def views_duplicate(
    ctx: typer.Context, table_id: TableArg, view_id: ViewArg, json: JsonOpt = False
) -> None:
    """Copy a view."""
    with _client(ctx) as client:
        _show(client.views.duplicate(table_id, view_id), json)


@views_app.command("search")
def views_search(
    ctx: typer.Context,
    table_id: TableArg,
    view_id: ViewArg,
    term: Annotated[str, typer.Argument(help="Text to look for (any case)")],
    json: JsonOpt = False,
) -> None:
    """Find the cells of a view's visible columns containing a text."""
    with _client(ctx) as client:
        hits = client.views.search(table_id, view_id, term)
    if json:
        _print_json(hits)
    else:
        _table_out(None, ["record", "field"], ([h["recordId"], h["fieldId"]] for h in hits))
