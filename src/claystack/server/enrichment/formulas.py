"""Clay formulas: JavaScript expressions over ``{{f_…}}`` cell references.

They run in QuickJS (the ``quickjs`` package), an embedded JavaScript engine with no
network, filesystem, module loader or host functions, under a CPU-time and a memory limit.
Python's ``eval`` is never involved.

    >>> evaluate('{{f_a}} + " " + {{f_b}}', {"f_a": "Ada", "f_b": "Lovelace"})
    'Ada Lovelace'

A formula is an expression (``{{f_src}}?.email``, ``{{f_x}}.toUpperCase()``); a text that is
not one is tried as a function body (``const x = {{f_a}}; return x * 2``). Cell values go in
as JSON (a missing cell is ``undefined``); the result comes back as JSON-compatible Python
(``undefined``, ``NaN`` and functions become ``None``). References inside JavaScript string
literals are replaced too: build strings with ``+`` or template literals.

``evaluate`` and ``evaluate_many`` are synchronous and CPU-bound: call them from a worker
thread (``asyncio.to_thread``) for large batches.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import quickjs

__all__ = [
    "FormulaError",
    "MEMORY_LIMIT_BYTES",
    "TIME_LIMIT_SECONDS",
    "blank_references",
    "compile_error",
    "evaluate",
    "evaluate_many",
    "evaluate_many_json",
    "evaluate_rows",
    "is_blank",
    "references",
    "render",
    "result_too_big",
    "row_json",
]

TIME_LIMIT_SECONDS = 1.0  # CPU time per call into JavaScript (one row, or one batch of rows)
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024  # per JavaScript runtime (one per thread)
MAX_TIMEOUTS = 3  # evaluate_many: rows that may time out before the rest are given up
_BATCH_ROWS = 2_000
_BATCH_BYTES = 4 * 1024 * 1024
_CACHE_SIZE = 256

_MEMORY_MESSAGE = f"Formula exceeded the memory limit ({MEMORY_LIMIT_BYTES // 1048576} MiB)"
_TOO_BIG = "Formula result is larger than the cell limit of "
_REF = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_CELLS = "__cells"


class FormulaError(Exception):
    """A formula that could not give a value.

    ``kind`` is ``"syntax"``, ``"runtime"`` (the formula threw), ``"timeout"`` (CPU time
    limit) or ``"memory"`` (memory limit); ``message`` is meant for the cell's error text.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"FormulaError({self.kind!r}, {self.message!r})"


def references(text: str) -> list[str]:
    """The field ids a formula references, in order of first appearance, each once."""
    return list(dict.fromkeys(_REF.findall(text or "")))


def is_blank(value: Any) -> bool:
    """Whether a cell value counts as blank: missing/None, a blank string, an empty list or map."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def blank_references(text: str, cells: Mapping[str, Any]) -> list[str]:
    """The referenced field ids whose values are blank (the cell gets ERROR_BLANK_TOKEN)."""
    return [ref for ref in references(text) if is_blank(cells.get(ref))]


def render(text: str, cells: Mapping[str, Any]) -> str:
    """Plain-text templating (no JavaScript): each ``{{f_…}}`` becomes its cell as text.

    Strings go in as they are, blank cells as "", other values as JSON.
    """

    def text_of(match: re.Match[str]) -> str:
        value = cells.get(match.group(1))
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return orjson.dumps(value, default=str).decode()

    return _REF.sub(text_of, text or "")


def evaluate(text: str, cells: Mapping[str, Any], *, time_limit: float | None = None) -> Any:
    """The value of one formula over one row's cells; raises ``FormulaError``."""
    refs = references(text)
    payload = row_json(refs, cells)
    rt = _runtime(time_limit)
    runner = rt.runner(text)
    if isinstance(runner, FormulaError):
        raise runner
    try:
        out = runner(0, payload)
    except quickjs.JSException as exc:
        raise rt.failed(exc) from None
    return _decode_one(orjson.loads(out))


def evaluate_many(
    text: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    time_limit: float | None = None,
) -> list[Any | FormulaError]:
    """One formula over many rows, in order: each item is a value or a ``FormulaError``.

    The formula is compiled once and rows go into JavaScript in batches, one call each. The
    time limit applies per call; a row that exhausts it is retried alone once, and after
    ``MAX_TIMEOUTS`` rows timed out, the remaining rows get a timeout error without running.
    """
    refs = references(text)
    return evaluate_many_json(text, [row_json(refs, row) for row in rows], time_limit=time_limit)


def evaluate_many_json(
    text: str,
    payloads: Sequence[str],
    *,
    time_limit: float | None = None,
    max_timeouts: int = MAX_TIMEOUTS,
    max_result_bytes: int = 0,
) -> list[Any | FormulaError]:
    """``evaluate_many`` over rows given as JSON object texts (a row's cells as the database
    stores them, say), which go into JavaScript without being decoded in Python. A result
    whose JSON is surely longer than ``max_result_bytes`` (when set) is a ``"size"`` error
    (see ``result_too_big``), so that large results do not pile up in the batch."""
    results: list[Any | FormulaError] = []
    timeouts = 0
    rt = _runtime(time_limit)
    runner = rt.runner(text)
    if isinstance(runner, FormulaError):
        return [runner] * len(payloads)
    start = 0
    while start < len(payloads):
        if timeouts >= max_timeouts:
            given_up = FormulaError(
                "timeout", f"Formula skipped: it hit the time limit on {timeouts} rows"
            )
            results.extend([given_up] * (len(payloads) - start))
            break
        batch = list(_take_batch(payloads, start))
        try:
            out = runner(1, "[" + ",".join(batch) + "]", max_result_bytes)
        except quickjs.JSException as exc:
            error = rt.failed(exc)
            done = rt.progress(runner)
            results.extend(_decode_one(item, raising=False) for item in done)
            row = start + len(done)
            if rt.broken:
                rt = _runtime(time_limit)
                runner = rt.runner(text)
            if error.kind == "timeout" and row > start:
                start = row  # earlier rows used up the budget: give this row its own
                continue
            timeouts += error.kind == "timeout"
            results.append(error)
            start = row + 1
            continue
        results.extend(_decode_one(item, raising=False) for item in orjson.loads(out))
        start += len(batch)
    return results


def evaluate_rows(
    text: str, rows: str, *, time_limit: float | None = None, max_result_bytes: int = 0
) -> str | None:
    """One formula over a batch of a formula column's rows, all in one call into
    JavaScript: ``rows`` is the JSON text of ``[seq, updated_at, id, cells]`` items, the
    answer the JSON text of ``[seq, updated_at, value, meta, id]`` items, value and meta as
    the database stores the cell (``meta`` a status and error as ``evaluate_many_json``'s
    caller would make them). None when the batch needs ``evaluate_many_json`` instead: the
    formula does not compile, the call hit the time or memory limit, or a value is one
    only Python can judge."""
    rt = _runtime(time_limit)
    runner = rt.runner(text)
    if isinstance(runner, FormulaError):
        return None
    try:
        out = runner(3, rows, max_result_bytes)
    except quickjs.JSException as exc:
        rt.failed(exc)
        return None
    return out if isinstance(out, str) else None


def result_too_big(limit: int) -> FormulaError:
    """The error of a result larger than ``limit`` bytes of JSON."""
    return FormulaError("size", f"{_TOO_BIG}{limit} bytes")


def _take_batch(payloads: Sequence[str], start: int) -> Iterator[str]:
    size = 0
    for index in range(start, min(len(payloads), start + _BATCH_ROWS)):
        size += len(payloads[index])
        if size > _BATCH_BYTES and index > start:
            return
        yield payloads[index]


def row_json(refs: Sequence[str], cells: Mapping[str, Any]) -> str:
    """The JSON object text of the cells ``refs`` name (what a formula gets)."""
    row = {ref: cells[ref] for ref in refs if ref in cells}
    return orjson.dumps(row, default=str).decode()


def _decode_one(item: list[Any], raising: bool = True) -> Any:
    if item[0] == 0:
        return item[1]
    error = FormulaError(item[2], item[1])
    if raising:
        raise error
    return error


# One QuickJS runtime per thread, reused: a runtime must never be touched by another thread
# (it records its creator's stack), creating one costs ~0.7 ms, and its frozen built-ins keep
# the formulas that share it from affecting one another.
_local = threading.local()

_PRELUDE = r"""
(function (MEMORY, TOO_BIG) {
  "use strict";
  const parse = JSON.parse, stringify = JSON.stringify, MakeFunction = Function;
  const seen = new Set();
  const freeze = (o) => {
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, key);
      if ("value" in d) freeze(d.value); else { freeze(d.get); freeze(d.set); }
    }
    freeze(Reflect.getPrototypeOf(o));
  };
  const describe = (e) => {
    try {
      // QuickJS throws null when it has no memory left to build the error object
      if (e === null || (e instanceof InternalError && e.message === "out of memory")) {
        return ["memory", MEMORY];
      }
      if (e instanceof Error) return ["runtime", e.name + ": " + e.message];
      return ["runtime", "Uncaught " + String(e)];
    } catch (_) {
      return ["runtime", "Uncaught exception"];
    }
  };
  const encode = (f, row, limit) => {
    try {
      const v = stringify([0, f(row)]);
      if (v === undefined) return "[0,null]";
      // a UTF-16 length: never more than the UTF-8 bytes, so never a false alarm
      if (limit > 0 && v.length - 4 > limit) {
        return stringify([1, TOO_BIG + limit + " bytes", "size"]);
      }
      return v;
    } catch (e) {
      const [kind, message] = describe(e);
      return stringify([1, message, kind]);
    }
  };
  // Python's str.isspace() characters, so that "blank" means what formulas.is_blank says.
  const BLANK = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
  const utf8 = (t) => {
    let n = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
    }
    return n;
  };
  // Rows [seq, updatedAt, id, cells] in, rows [seq, updatedAt, value, meta, id] out, each
  // value and meta as the database stores them; null when a row needs Python's eye.
  const batch = (f, arg, limit) => {
    const rows = parse(arg), out = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      let v, m;
      try {
        v = stringify(f(r[3]));
        if (v === undefined) v = "null";
        if (v.indexOf("\\ud") >= 0) return null;  // a lone surrogate, escaped
        // UTF-8 bytes are never fewer than UTF-16 units: count them only when it matters
        if (limit > 0 && (v.length > limit || (v.length * 3 > limit && utf8(v) > limit))) {
          v = "null";
          m = stringify({ status: "ERROR", error: TOO_BIG + limit + " bytes" });
        } else {
          const blank = v === "null" || v === "[]" || v === "{}" ||
            (v.charCodeAt(0) === 34 && BLANK.test(parse(v)));
          m = blank ? '{"status":"SUCCESS_NO_DATA"}' : '{"status":"SUCCESS"}';
        }
      } catch (e) {
        v = "null";
        m = stringify({ status: "ERROR", error: describe(e)[1] });
      }
      out.push("[" + r[0] + "," + r[1] + "," + v + "," + m + "," + stringify(r[2]) + "]");
    }
    return "[" + out.join(",") + "]";
  };
  const compile = (expr, cells) => {
    let f;
    try {
      f = MakeFunction(cells, "return (" + expr + "\n);");
    } catch (first) {
      try { f = MakeFunction(cells, expr); } catch (_) { return describe(first)[1]; }
    }
    let done = [];
    return (op, arg, limit) => {
      if (op === 0) return encode(f, parse(arg), limit);
      if (op === 2) return "[" + done.join(",") + "]";
      if (op === 3) return batch(f, arg, limit);
      done = [];
      const rows = parse(arg);
      for (let i = 0; i < rows.length; i++) done.push(encode(f, rows[i], limit));
      const out = "[" + done.join(",") + "]";
      done = [];
      return out;
    };
  };
  freeze(globalThis);
  return compile;
})
"""


class _Runtime:
    def __init__(self) -> None:
        self.ctx = quickjs.Context()
        self.ctx.set_memory_limit(MEMORY_LIMIT_BYTES)
        self.ctx.set_time_limit(TIME_LIMIT_SECONDS)
        self.time_limit = TIME_LIMIT_SECONDS
        self.compile = self.ctx.eval(_PRELUDE)(_MEMORY_MESSAGE, _TOO_BIG)
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.broken = False

    def runner(self, text: str) -> Any:
        runner = self.cache.get(text)
        if runner is not None:
            self.cache.move_to_end(text)
            # a fresh error each time: raising one instance again would grow its traceback
            return FormulaError("syntax", runner) if isinstance(runner, str) else runner
        expr = _REF.sub(lambda m: f'{_CELLS}["{m.group(1)}"]', text)
        if not expr.strip():
            return FormulaError("syntax", "SyntaxError: empty formula")
        try:
            compiled = self.compile(expr, _CELLS)
        except quickjs.JSException as exc:
            return self.failed(exc)
        self.cache[text] = compiled
        if len(self.cache) > _CACHE_SIZE:
            self.cache.popitem(last=False)
        return FormulaError("syntax", compiled) if isinstance(compiled, str) else compiled

    def progress(self, runner: Any) -> list[Any]:
        try:
            done: list[Any] = orjson.loads(runner(2, ""))
        except quickjs.JSException:
            self.broken = True
            return []
        return done

    def failed(self, exc: quickjs.JSException) -> FormulaError:
        """An error JavaScript could not catch: the time or memory limit."""
        first = (str(exc).strip().splitlines() or ["null"])[0]
        if "interrupted" in first:
            return FormulaError("timeout", f"Formula timed out after {self.time_limit:g} s")
        self.broken = True  # after running out of memory the runtime is not trusted again
        if "out of memory" in first or first == "null":
            return FormulaError("memory", _MEMORY_MESSAGE)
        return FormulaError("runtime", first)


def _runtime(time_limit: float | None) -> _Runtime:
    """This thread's runtime with the requested time limit; a broken one is replaced."""
    limit = TIME_LIMIT_SECONDS if time_limit is None else time_limit
    rt: _Runtime | None = getattr(_local, "runtime", None)
    if rt is None or rt.broken:
        rt = _local.runtime = _Runtime()
    if rt.time_limit != limit:
        rt.ctx.set_time_limit(limit)
        rt.time_limit = limit
    return rt


def compile_error(text: str) -> str | None:
    """The parser's message when ``text`` does not compile as a formula, else None."""
    runner = _runtime(None).runner(text)
    return runner.message if isinstance(runner, FormulaError) else None
