"""Action inputs as Clay writes them (``typeSettings.inputsBinding``, spec part 2 §4.3).

An entry is ``{name, formulaText}``, ``{name, formulaMap: {key: formula}}`` (an object
input), or ``{name}`` / ``{name, optional}`` / ``formulaText: ""``: declared but unset, kept
for the client's form and never evaluated. A ``|`` in a name nests the input
(``retryOptions|maxRetries`` is ``inputs["retryOptions"]["maxRetries"]``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from . import formulas

_REF = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_TEXT = '((x) => x == null ? "" : typeof x === "string" ? x : JSON.stringify(x))'


def is_set(binding: Any) -> bool:
    """Whether an entry gives its input a value (a formula or a non-empty map)."""
    if not isinstance(binding, dict):
        return False
    text = binding.get("formulaText")
    if isinstance(text, str) and text.strip():
        return True
    return isinstance(binding.get("formulaMap"), dict) and bool(binding["formulaMap"])


def template_js(text: str) -> str:
    """A JavaScript expression giving ``text`` with each ``{{f_…}}`` rendered as text, as
    ``formulas.render`` does: for entries that are templates rather than JavaScript."""
    parts: list[str] = []
    pos = 0
    for m in _REF.finditer(text):
        if m.start() > pos:
            parts.append(orjson.dumps(text[pos : m.start()]).decode())
        parts.append(f"{_TEXT}({m.group(0)})")
        pos = m.end()
    if pos < len(text):
        parts.append(orjson.dumps(text[pos:]).decode())
    return "(" + (" + ".join(parts) or '""') + ")"


def value_js(text: str) -> str:
    """One formula of a ``formulaMap`` as a JavaScript expression."""
    if formulas.compile_error(text) is None:
        return f"({text}\n)"
    return template_js(text)


@lru_cache(maxsize=1024)
def _map_formula(encoded: str) -> str:
    mapping: dict[str, Any] = orjson.loads(encoded)
    items = [
        f"{orjson.dumps(str(key)).decode()}: {value_js(value)}"
        for key, value in mapping.items()
        if isinstance(value, str) and value.strip()
    ]
    return "({" + ", ".join(items) + "})"


def runnable(bindings: Any) -> list[dict[str, Any]]:
    """The entries to evaluate, each as ``{name, formulaText}`` (a ``formulaMap`` becomes
    one JavaScript object expression); unset entries are left out."""
    out: list[dict[str, Any]] = []
    for b in bindings or []:
        if not is_set(b):
            continue
        text = b.get("formulaText")
        if isinstance(text, str) and text.strip():
            out.append({"name": b.get("name"), "formulaText": text})
        else:
            encoded = orjson.dumps(b["formulaMap"], option=orjson.OPT_SORT_KEYS).decode()
            out.append({"name": b.get("name"), "formulaText": _map_formula(encoded)})
    return out


def nest(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs with ``a|b`` names nested (``{"a": {"b": value}}``)."""
    if not any("|" in k for k in inputs):
        return inputs
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        path = key.split("|")
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return out
