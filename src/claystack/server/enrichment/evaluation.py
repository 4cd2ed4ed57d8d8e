"""Formula evaluation for the engine: input bindings, run conditions and formula columns.

Delegates to ``formulas`` (sandboxed JavaScript); a formula that is exactly one reference
(``{{f_x}}``, the common case) is read straight from the row without entering JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from . import formulas

FormulaError = formulas.FormulaError
is_blank = formulas.is_blank
references = formulas.references

_SINGLE = re.compile(r"^\s*\{\{\s*([A-Za-z0-9_]+)\s*\}\}\s*$")


def error_message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


def single_reference(text: str) -> str | None:
    """The field id when the formula is exactly one reference (no JavaScript needed)."""
    single = _SINGLE.match(text or "")
    return single[1] if single else None


_NO_LITERAL = (False, None)


def string_literal(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when the formula is one JSON string (``"Domain"``, the common
    constant input), whose JavaScript value is the same string: no need to run it."""
    stripped = (text or "").strip()
    if len(stripped) < 2 or stripped[0] != '"' or stripped[-1] != '"' or "{{" in stripped:
        return _NO_LITERAL  # a reference inside quotes is replaced: not a constant
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return _NO_LITERAL
    return (True, value) if isinstance(value, str) else _NO_LITERAL


def evaluate(text: str, cells: Mapping[str, Any]) -> Any:
    """One formula over one row; raises ``FormulaError``."""
    single = _SINGLE.match(text or "")
    if single:
        return cells.get(single[1])
    return formulas.evaluate(text, cells)


def evaluate_many(text: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One formula over many rows; each item is a value or a ``FormulaError``."""
    single = _SINGLE.match(text or "")
    if single:
        ref = single[1]
        return [row.get(ref) for row in rows]
    return list(formulas.evaluate_many(text, rows))


evaluate_many_json = formulas.evaluate_many_json


def evaluate_input(
    text: str, cells: Mapping[str, Any], value_of: Callable[[str], Any] | None = None
) -> Any:
    """An input binding: a formula, or, when the text is not JavaScript at all (a URL such
    as ``https://x.dev/{{f_a}}``), plain-text templating. ``value_of`` gives the formula's
    value (evaluated elsewhere) instead of evaluating it here."""
    try:
        return value_of(text) if value_of is not None else evaluate(text, cells)
    except formulas.FormulaError as exc:
        if exc.kind != "syntax":
            raise
        return formulas.render(text, cells)


_TRUE = frozenset(("true", "yes", "y", "1", "on", "checked"))
_FALSE = frozenset(("false", "no", "n", "0", "off", "unchecked", ""))


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            number = float(text)
        except ValueError:
            return None
        if number != number or number in (float("inf"), float("-inf")):
            return None
        integral = number.is_integer() and not any(c in text for c in ".eE")
        return int(number) if integral else number
    return None


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


COERCED_TYPES = ("number", "boolean", "checkbox", "url", "email")  # what ``coerce`` changes


def coerce(value: Any, data_type: Any) -> Any:
    """A computed value as the column's ``dataTypeSettings.type`` says (spec part 2 §4.2):
    ``number`` parses text (``"1,200"`` → 1200), ``boolean`` reads yes/no words, ``url`` and
    ``email`` trim text; a value that cannot be read as the type is blank. Other types (text,
    json, …) keep the value as computed."""
    if value is None:
        return None
    if data_type == "number":
        return _number(value)
    if data_type in ("boolean", "checkbox"):
        return _boolean(value)
    if data_type in ("url", "email") and isinstance(value, str):
        return value.strip()
    return value
