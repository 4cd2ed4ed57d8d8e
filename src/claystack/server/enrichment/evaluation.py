"""Formula evaluation for the engine: input bindings, run conditions and formula columns.

Delegates to ``formulas`` (sandboxed JavaScript); a binding that is exactly one reference
(``{{f_x}}``, the common case) is read straight from the row without entering JavaScript.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

_SINGLE = re.compile(r"^\s*\{\{\s*([A-Za-z0-9_]+)\s*\}\}\s*$")
_REF = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class _Fallback:
    """Used only until the JavaScript evaluator is present: quoted templates and single
    references."""

    class FormulaError(Exception):
        def __init__(self, kind: str, message: str) -> None:
            super().__init__(message)
            self.kind = kind
            self.message = message

    @staticmethod
    def references(text: str) -> list[str]:
        return list(dict.fromkeys(_REF.findall(text or "")))

    @staticmethod
    def is_blank(value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, str):
            return not value.strip()
        if isinstance(value, list | tuple | dict):
            return len(value) == 0
        return False

    @classmethod
    def evaluate(cls, text: str, cells: Mapping[str, Any]) -> Any:
        s = text.strip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'`":
            return _REF.sub(lambda m: "" if cells.get(m[1]) is None else str(cells[m[1]]), s[1:-1])
        if s in ("true", "false"):
            return s == "true"
        raise cls.FormulaError("syntax", f"Cannot evaluate formula {text!r}")

    @classmethod
    def evaluate_many(cls, text: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for row in rows:
            try:
                out.append(cls.evaluate(text, row))
            except cls.FormulaError as exc:
                out.append(exc)
        return out


try:
    _impl: Any = importlib.import_module("claystack.server.enrichment.formulas")
except ImportError:  # pragma: no cover - the evaluator ships with the package
    _impl = _Fallback

FormulaError: type[Exception] = _impl.FormulaError


def references(text: str) -> list[str]:
    return list(_impl.references(text or ""))


def is_blank(value: Any) -> bool:
    return bool(_impl.is_blank(value))


def error_message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


def evaluate(text: str, cells: Mapping[str, Any]) -> Any:
    """One formula over one row; raises ``FormulaError``."""
    single = _SINGLE.match(text or "")
    if single:
        return cells.get(single[1])
    return _impl.evaluate(text, cells)


def evaluate_many(text: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One formula over many rows; each item is a value or a ``FormulaError``."""
    single = _SINGLE.match(text or "")
    if single:
        ref = single[1]
        return [row.get(ref) for row in rows]
    return list(_impl.evaluate_many(text, rows))
