"""claystack fields …: plain, formula and enrichment columns."""

from __future__ import annotations

import json as json_lib
from typing import Annotated

import typer

from ._common import (
    JsonOpt,
    TableArg,
    open_client,
    print_json,
    print_table,
)
from ._console import console, fail

fields_app = typer.Typer(
    help="Add columns: plain types, formulas, enrichments.", no_args_is_help=True
)

# -- fields ----------------------------------------------------------------------------


def _inputs(pairs: list[str], values: list[str]) -> dict[str, str]:
    """``--input`` pairs are formulas as written; ``--value`` pairs are plain text, quoted
    into a formula here (``method=GET`` means the text GET, not a variable named GET)."""
    out = {}
    for option, items in (("--input", pairs), ("--value", values)):
        for pair in items:
            name, sep, text = pair.partition("=")
            if not sep or not name:
                what = "formula" if option == "--input" else "text"
                fail(f"{option} takes name={what}, not {pair!r}")
            if name in out:
                fail(f"input {name!r} is given twice")
            out[name] = text if option == "--input" else json_lib.dumps(text)
    return out


@fields_app.command("add")
def fields_add(
    ctx: typer.Context,
    table_id: TableArg,
    name: Annotated[str, typer.Argument(help="Column name")],
    type: Annotated[
        str, typer.Option("--type", help="text, number, boolean, date, url, email, …")
    ] = "text",
    formula: Annotated[
        str | None, typer.Option(help="A formula column, e.g. '{{f_a}} + 1'")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="An enrichment action key, e.g. http-api-v2")
    ] = None,
    input: Annotated[
        list[str] | None,
        typer.Option(
            "--input", "-i", help="Action input as name=formula, e.g. url='{{Domain}}' (repeatable)"
        ),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option("--value", "-V", help="Action input as name=plain text, e.g. method=GET"),
    ] = None,
    package: Annotated[
        str | None, typer.Option(help="Integration id (default: the action key)")
    ] = None,
    condition: Annotated[
        str | None, typer.Option(help="Run only when this formula is true")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Add a column: a plain type, a formula (--formula) or an enrichment (--action)."""
    if formula is not None and action is not None:
        fail("give --formula or --action, not both")
    with open_client(ctx) as client:
        if action is not None:
            field = client.fields.create_action(
                table_id,
                name,
                action,
                _inputs(input or [], value or []),
                package_id=package,
                run_condition=condition,
            )
        elif formula is not None:
            field = client.fields.create_formula(table_id, name, formula)
        else:
            field = client.fields.create(table_id, name, type)
    if json:
        print_json(field)
    else:
        console.print(f"added {field.type} field {field.id} ({field.name})", highlight=False)


@fields_app.command("list")
def fields_list(ctx: typer.Context, table_id: TableArg, json: JsonOpt = False) -> None:
    """List a table's columns."""
    with open_client(ctx) as client:
        fields = client.fields.list(table_id)
    if json:
        print_json(fields)
    else:
        print_table(None, ["id", "name", "type"], ([f.id, f.name, f.type] for f in fields))
